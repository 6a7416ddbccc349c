// A token shows its PIN only inside the origin it was issued for, in headless Chromium: the issuer
// registered two origins, A and B (two loopback host pages); a token issued for A and framed by B
// never asks for the PIN, never shows it, and B hears nothing. A framing the same token then shows
// the PIN: the check that says no to B is not saying no to everyone. Before the session the widget
// tells no origin the token has not named. The set_pin command is taken from the parent window only,
// not from another window of the same origin. (framing-webkit.test.mjs runs the view cases in WebKit.)
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, issueToken, launchBrowser } from "./harness.mjs";
import { serverWithTwoHosts } from "./hosts.mjs";

const running = serverWithTwoHosts();
let browser;
before(async () => (browser = await launchBrowser()));
after(async () => browser?.close());

/// Opens `host`'s page framing `widgetUrl` in a fresh context; records every request the widget's
/// frame makes to the PIN API.
async function frame(host, widgetUrl) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const api = [];
  page.on("request", (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith("/api/v1/pin/")) api.push(path);
  });
  await page.goto(running.hostUrl(host, widgetUrl));
  const widget = page.frameLocator("iframe");
  /// Waits for the widget to end its loading (a failure, the PIN or the form); the failure's name.
  const outcome = async () => {
    await widget.locator(".pinframe-error, .pinframe-pin, .pinframe-form").first().waitFor();
    const error = widget.locator(".pinframe-error");
    return (await error.count()) === 0 ? null : error.getAttribute("data-failure");
  };
  const messages = async () => {
    await page.evaluate(() => window.__settle());
    return page.evaluate(() => window.__messages);
  };
  return { context, page, widget, api, outcome, messages };
}

const token = (body) => issueToken(running.server.url, body);

describe("a token issued for origin A, framed by origin B", () => {
  test("view: no PIN request, no PIN, nothing for B; then A shows it", async () => {
    const { url } = await token({ parentOrigin: running.a });
    const b = await frame(running.b, url);
    assert.equal(await b.outcome(), "WrongHost");
    assert.match(await b.widget.locator(".pinframe-error").textContent(), /only on the website/);
    assert.equal(await b.widget.locator(".pinframe-pin").count(), 0);
    assert.ok(!(await b.widget.locator("body").textContent()).includes(DEMO.pin));
    assert.deepEqual(b.api, ["/api/v1/pin/session"]);
    assert.deepEqual(await b.messages(), []);
    await b.context.close();

    // The same token, unused, in the page it was issued for.
    const a = await frame(running.a, url);
    await a.widget.locator(".pinframe-pin").waitFor();
    assert.equal(await a.widget.locator(".pinframe-pin").textContent(), DEMO.pin);
    assert.deepEqual(a.api, ["/api/v1/pin/session", "/api/v1/pin/view"]);
    await a.page.waitForFunction(() => window.__messages.some((m) => m.data.event === "view_pin_success"));
    const outcomes = (await a.messages()).filter((m) => m.data.event !== "resize");
    assert.deepEqual(outcomes, [{ data: { event: "view_pin_success" }, origin: running.server.url }]);
    await a.context.close();
  });

  test("set: no form, nothing for B; then A gets the form", async () => {
    const { url } = await token({ action: "SET_PIN", parentOrigin: running.a });
    const b = await frame(running.b, url);
    assert.equal(await b.outcome(), "WrongHost");
    assert.equal(await b.widget.locator("#pinframe-new-pin").count(), 0);
    assert.deepEqual(b.api, ["/api/v1/pin/session"]);
    assert.deepEqual(await b.messages(), []);
    await b.context.close();

    const a = await frame(running.a, url);
    await a.widget.locator("#pinframe-new-pin").waitFor();
    await a.widget.locator("#pinframe-new-pin").pressSequentially("2580");
    await a.page.waitForFunction(() => window.__messages.some((m) => m.data.event === "pin_valid"));
    assert.ok((await a.messages()).every((m) => m.origin === running.server.url));
    await a.context.close();
  });
});

describe("the set_pin command", () => {
  test("posted by another window of the same origin: ignored; posted by the parent: taken", async () => {
    const { url } = await token({ action: "SET_PIN", parentOrigin: running.a });
    const a = await frame(running.a, url);
    await a.widget.locator("#pinframe-new-pin").waitFor();
    await a.widget.locator("#pinframe-new-pin").pressSequentially("2580");
    await a.widget.locator("#pinframe-confirm-pin").pressSequentially("2580");
    await a.page.waitForFunction(() => window.__messages.some((m) => m.data.event === "pin_valid" && m.data.pin_valid));

    // A sibling frame of the host page's own origin (an about:blank frame the page made) posts
    // the command to the widget: same origin as the parent, but not the parent window.
    await a.page.evaluate(() => {
      const sibling = document.createElement("iframe");
      document.body.append(sibling);
      sibling.contentWindow.eval("parent.frames[0].postMessage({ event: 'set_pin' }, '*')");
    });
    // Nothing to await for a command that is ignored: give the widget time to act on it.
    await a.page.waitForTimeout(1500);
    assert.ok(!a.api.includes("/api/v1/pin/set"), `the sibling's set_pin was taken: ${a.api}`);
    assert.ok(!(await a.messages()).some((m) => m.data.event.startsWith("set_pin")));

    // The same message from the parent window sets the PIN: the check above can fail.
    await a.page.evaluate(() => document.querySelector("iframe").contentWindow.postMessage({ event: "set_pin" }, "*"));
    await a.page.waitForFunction(() => window.__messages.some((m) => m.data.event === "set_pin_success"));
    assert.deepEqual(a.api.filter((path) => path === "/api/v1/pin/set"), ["/api/v1/pin/set"]);
    await a.context.close();
  });
});

describe("a token without parentOrigin (a webview's)", () => {
  test("framed by a registered origin: no PIN request, no PIN", async () => {
    const { url } = await token({});
    const a = await frame(running.a, url);
    assert.equal(await a.outcome(), "WrongHost");
    assert.equal(await a.widget.locator(".pinframe-pin").count(), 0);
    assert.deepEqual(a.api, ["/api/v1/pin/session"]);
    assert.deepEqual(await a.messages(), []);
    await a.context.close();
  });
});

describe("before the session", () => {
  test("a used token's error goes to its parentOrigin only: A hears it, B does not", async () => {
    const { url, token: used } = await token({ parentOrigin: running.a });
    const viewed = await frame(running.a, url);
    await viewed.widget.locator(".pinframe-pin").waitFor();
    await viewed.context.close();
    const session = await fetch(`${running.server.url}/api/v1/pin/session`, {
      method: "POST",
      headers: { authorization: `Bearer ${used}` },
    });
    assert.equal(session.status, 401);
    assert.deepEqual(await session.json(), {
      error: "unauthorized",
      message: "The credentials are missing, unknown, expired or already used.",
      parentOrigin: running.a,
    });

    const b = await frame(running.b, url);
    assert.equal(await b.outcome(), "Refused");
    assert.deepEqual(await b.messages(), []);
    await b.context.close();

    const a = await frame(running.a, url);
    assert.equal(await a.outcome(), "Refused");
    await a.page.waitForFunction(() => window.__messages.some((m) => m.data.event === "view_pin_error"));
    const outcomes = (await a.messages()).filter((m) => m.data.event !== "resize");
    assert.deepEqual(outcomes, [
      { data: { event: "error", code: "link_invalid" }, origin: running.server.url },
      { data: { event: "view_pin_error" }, origin: running.server.url },
    ]);
    await a.context.close();
  });

  test("a missing, malformed or unknown token tells no framing page anything", async () => {
    const page = `${running.server.url}/pin/${DEMO.issuer}/view`;
    const unknown = "A".repeat(43);
    for (const [url, failure] of [
      [page, "MissingToken"],
      [`${page}#token=not-a-token`, "MissingToken"],
      [`${page}#token=${unknown}`, "Refused"],
    ]) {
      for (const host of [running.b, running.a]) {
        const framed = await frame(host, url);
        assert.equal(await framed.outcome(), failure);
        assert.deepEqual(await framed.messages(), [], `${host} framing ${failure}`);
        await framed.context.close();
      }
    }
  });
});
