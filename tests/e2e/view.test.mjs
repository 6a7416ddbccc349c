// View PIN end to end, against the running binary: an outside JOSE client, then the desktop
// iframe, Android and iOS flows in headless Chromium, then the server's logs.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, bearerPost, issueToken, jose, newPage as newPageIn, serverAndBrowser } from "./harness.mjs";

const running = serverAndBrowser();
const tokens = [];
const ephemeralSecrets = [];


const post = (path, token, body) => bearerPost(running.server.url, path, token, body);

describe("an outside client (panva jose) makes the ephemeral key", () => {
  test("and decrypts the view response; the token then stops working", async () => {
    const { token, expiresIn, url } = await issueToken(running.server.url, {}, tokens);
    assert.equal(expiresIn, 300);
    assert.equal(url, `${running.server.url}/pin/${DEMO.issuer}/view#token=${token}`);

    const session = await post("/api/v1/pin/session", token);
    assert.equal(session.status, 200);
    assert.equal(session.headers.get("cache-control"), "no-store");
    const info = await session.json();
    assert.equal(info.action, "VIEW_PIN");
    assert.equal(info.parentOrigin, null);

    const { publicKey, privateKey } = await jose.generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
    ephemeralSecrets.push((await jose.exportJWK(privateKey)).d);
    const view = await post("/api/v1/pin/view", token, { epk: await jose.exportJWK(publicKey) });
    assert.equal(view.status, 200);
    const { encryptedPin } = await view.json();
    const { plaintext, protectedHeader } = await jose.compactDecrypt(encryptedPin, privateKey);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(plaintext)), { pin: DEMO.pin });
    assert.equal(protectedHeader.alg, "ECDH-ES");
    assert.equal(protectedHeader.enc, "A256GCM");

    const again = await post("/api/v1/pin/view", token, { epk: await jose.exportJWK(publicKey) });
    assert.equal(again.status, 401);
    assert.equal((await post("/api/v1/pin/session", token)).status, 401);
  });
});

const newPage = (initScript) => newPageIn(running.browser, initScript);

describe("desktop iframe", () => {
  test("shows the PIN inside the iframe and posts view_pin_success to the parent's origin only", async () => {
    const { context, page, cspViolations } = await newPage(() => {
      window.__events = [];
      window.addEventListener("message", (e) => window.__events.push({ data: e.data, origin: e.origin }));
    });
    const widgetResponses = [];
    const wasmResponses = [];
    page.on("response", (r) => {
      if (r.url().includes(`/pin/${DEMO.issuer}/view`)) widgetResponses.push(r);
      if (r.url().endsWith(".wasm")) wasmResponses.push(r);
    });
    await page.goto(`${running.server.url}/demo/`);
    const tokenAnswer = page.waitForResponse((r) => r.url().endsWith("/demo/api/token"));
    await page.click("#view-pin");
    tokens.push((await (await tokenAnswer).json()).token);

    const frame = page.frameLocator("iframe");
    await frame.locator(".pinframe-pin").waitFor();
    assert.equal(await frame.locator(".pinframe-pin").textContent(), DEMO.pin);
    await page.locator('#events li[data-event="view_pin_success"]').waitFor();
    // Outcome events only; the resize events the frame also gets are checked in ux.test.mjs.
    const outcomes = () => page.evaluate(() => window.__events.filter((e) => e.data.event !== "resize"));
    assert.deepEqual(await outcomes(), [{ data: { event: "view_pin_success" }, origin: running.server.url }]);

    // The widget took the token out of its address bar.
    const widget = page.frames().find((f) => f.url().includes("/pin/"));
    assert.ok(!widget.url().includes("token"), widget.url());
    // It ran under the service's real CSP, with no inline script allowed and nothing refused.
    const csp = widgetResponses[0].headers()["content-security-policy"];
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.match(csp, new RegExp(`frame-ancestors [^;]*${running.server.url.replace(/[.]/g, "\\.")}`));
    assert.equal(widgetResponses[0].headers()["referrer-policy"], "no-referrer");
    // The widget's wasm arrived in brotli, precompressed by `make widget`.
    assert.equal(wasmResponses.length, 1);
    assert.equal(wasmResponses[0].headers()["content-encoding"], "br");
    assert.deepEqual(cspViolations, []);

    // The same link again: the token is used up.
    await page.click("#reuse-link");
    await page.locator('#events li[data-event="view_pin_error"]').waitFor();
    await page.frameLocator("iframe").locator(".pinframe-error").waitFor();
    assert.match(await page.frameLocator("iframe").locator(".pinframe-error").textContent(), /no longer valid/);
    assert.equal(await page.frameLocator("iframe").locator(".pinframe-pin").count(), 0);
    assert.deepEqual((await outcomes()).slice(1), [
      { data: { event: "error", code: "link_invalid" }, origin: running.server.url },
      { data: { event: "view_pin_error" }, origin: running.server.url },
    ]);
    await context.close();
  });

  test("is refused by the browser when framed by an origin the issuer did not register", async () => {
    const { context, page } = await newPage();
    const { url } = await issueToken(running.server.url, {}, tokens);
    // The demo registers http://127.0.0.1:port and http://localhost:port; an about:blank parent
    // (an opaque origin) is neither.
    const refused = page.waitForEvent("console", (m) => /frame-ancestors/.test(m.text()));
    await page.setContent(`<iframe src="${url}"></iframe>`);
    assert.match((await refused).text(), /violates the following Content Security Policy directive: "frame-ancestors [^"]*". The request has been blocked/);
    const frame = page.frames().find((f) => f.url().includes("/pin/"));
    assert.equal(frame ? await frame.locator(".pinframe-pin").count() : 0, 0);
    await context.close();
  });
});

describe("Android webview", () => {
  test("an android_handler present before load receives view_pin_success()", async () => {
    const { context, page } = await newPage(() => {
      window.__calls = [];
      window.android_handler = {
        view_pin_success: () => window.__calls.push("view_pin_success"),
        view_pin_error: () => window.__calls.push("view_pin_error"),
      };
    });
    const { url } = await issueToken(running.server.url, {}, tokens);
    await page.goto(url);
    await page.locator(".pinframe-pin").waitFor();
    assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin);
    await page.waitForFunction(() => window.__calls.length > 0);
    assert.deepEqual(await page.evaluate(() => window.__calls), ["view_pin_success"]);
    assert.equal(new URL(page.url()).hash, "");

    // Loading the same link again (a host could keep it) fails cleanly. From about:blank, so that it
    // is a new document and not a same-document fragment change.
    await page.goto("about:blank");
    await page.goto(url);
    await page.locator(".pinframe-error").waitFor();
    await page.waitForFunction(() => window.__calls.length > 0);
    assert.deepEqual(await page.evaluate(() => window.__calls), ["view_pin_error"]);
    await context.close();
  });

  test("a link without a token gives view_pin_error()", async () => {
    const { context, page } = await newPage(() => {
      window.__calls = [];
      window.android_handler = { view_pin_error: () => window.__calls.push("view_pin_error") };
    });
    await page.goto(`${running.server.url}/pin/${DEMO.issuer}/view`);
    await page.locator(".pinframe-error").waitFor();
    assert.match(await page.locator(".pinframe-error").textContent(), /incomplete/);
    await page.waitForFunction(() => window.__calls.length > 0);
    assert.deepEqual(await page.evaluate(() => window.__calls), ["view_pin_error"]);
    await context.close();
  });
});

describe("iOS WKWebView", () => {
  test("webkit.messageHandlers.ios_handler receives {event: view_pin_success}", async () => {
    const { context, page } = await newPage(() => {
      window.__messages = [];
      window.webkit = { messageHandlers: { ios_handler: { postMessage: (m) => window.__messages.push(m) } } };
    });
    const { url } = await issueToken(running.server.url, { language: "en" }, tokens);
    await page.goto(url);
    await page.locator(".pinframe-pin").waitFor();
    assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin);
    await page.waitForFunction(() => window.__messages.length > 0);
    assert.deepEqual(await page.evaluate(() => window.__messages), [{ event: "view_pin_success" }]);
    await context.close();
  });
});

describe("after the whole suite", () => {
  test("the server's logs hold no PIN, no token and no key material", async () => {
    const logs = running.server.out.stderr;
    assert.ok(logs.includes('"route":"/api/v1/pin/view"'), "the view requests were logged");
    assert.ok(tokens.length >= 5, `tokens seen: ${tokens.length}`);
    const secrets = [...tokens, ...ephemeralSecrets, ...running.server.keyMaterial(), DEMO.clientSecret];
    for (const secret of secrets) {
      assert.ok(!logs.includes(secret), "a secret appears in the log");
    }
    assert.doesNotMatch(logs, /(?<![0-9.])2468(?![0-9])/, "the PIN appears in the log");
    // Standard output carries only the demo banner docs/protocol.md describes.
    for (const line of running.server.out.stdout.trim().split("\n")) {
      assert.match(line, /^(demo issuer|demo origins|demo: open|pinframe listening)/);
    }
  });
});
