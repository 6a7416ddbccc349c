// The loader asks for the session while the wasm is still on its way: the page's first request
// to the service needs only the token, so it does not wait for the widget to compile. The widget
// then takes that answer instead of asking again, and ties its view request to it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, issueToken, newPage, serverAndBrowser } from "./harness.mjs";

const running = serverAndBrowser();

/// Resolves with the first request of `page` whose URL ends with `suffix`, or rejects after `ms`.
function nextRequest(page, suffix, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no request to …${suffix} within ${ms} ms`)), ms);
    const seen = (request) => {
      if (!request.url().endsWith(suffix)) return;
      clearTimeout(timer);
      page.off("request", seen);
      resolve(request);
    };
    page.on("request", seen);
  });
}

for (const mode of ["view", "set"]) {
  test(`${mode} page: the session request goes out while the wasm is held back, and only once`, async () => {
    const { url } = await issueToken(running.server.url, { action: mode === "view" ? "VIEW_PIN" : "SET_PIN" });
    const { context, page, cspViolations } = await newPage(running.browser);
    try {
      const sessions = [];
      const views = [];
      page.on("request", (r) => {
        if (r.url().endsWith("/api/v1/pin/session")) sessions.push(r);
        if (r.url().endsWith("/api/v1/pin/view")) views.push(r);
      });
      const session = nextRequest(page, "/api/v1/pin/session", 10_000);
      // The wasm is answered only once the session request has been seen: a loader that waited for
      // the wasm before asking would never get it, and the test fails on the timeout.
      let wasmHeld = false;
      await page.route("**/*.wasm", async (route) => {
        wasmHeld = true;
        await session.catch(() => {});
        await route.continue();
      });
      await page.goto(url);
      const first = await session;
      assert.ok(wasmHeld, "the wasm was requested and held");
      assert.equal(first.headers().authorization, `Bearer ${new URL(url).hash.slice("#token=".length)}`);
      assert.match(first.headers()["x-correlation-id"] ?? "", /^[0-9a-f]{16}$/);

      if (mode === "view") {
        await page.locator(".pinframe-pin").waitFor({ timeout: 20_000 });
        assert.equal((await page.locator(".pinframe-pin").innerText()).replace(/\D/g, ""), DEMO.pin);
        assert.equal(views.length, 1);
        assert.equal(views[0].headers()["x-correlation-id"], first.headers()["x-correlation-id"], "one correlation id per flow");
      } else {
        await page.locator("form input").first().waitFor({ timeout: 20_000 });
      }
      assert.equal(sessions.length, 1, "the widget took the loader's answer rather than asking again");
      assert.deepEqual(cspViolations, []);
    } finally {
      await context.close();
    }
  });
}
