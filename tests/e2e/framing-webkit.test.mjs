// framing.test.mjs's view cases in WebKit (WebKitGTK through its WebDriver), whose
// `location.ancestorOrigins` Safari and iOS share: a token issued for origin A and framed by origin
// B shows no PIN, B hears nothing, and the token is not used up (A framing it then shows the PIN);
// a used token's error reaches A and not B. WebDriver shows no network, so the service's log is
// where a PIN request would show.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, issueToken } from "./harness.mjs";
import { serverWithTwoHosts } from "./hosts.mjs";
import { session, startWebKit } from "./webdriver.mjs";

const running = serverWithTwoHosts();
let driver;
let browser;
before(async () => {
  driver = await startWebKit();
  browser = await session(driver.base);
});
after(async () => {
  await browser?.close().catch(() => {});
  await driver?.stop();
});

/// The widget's state once it ends its loading: the failure's name, or "shown" for the PIN.
const failure =
  "return document.querySelector('.pinframe-error')?.dataset.failure ?? (document.querySelector('.pinframe-pin') && 'shown')";
const pin = "return document.querySelector('.pinframe-pin')?.textContent";

/// Frames `widgetUrl` in `host`'s page and returns once the widget shows `state` (a script for its
/// frame); returns what it returned.
async function frame(host, widgetUrl, state) {
  // From about:blank, so that each framing is a new document, not a fragment change.
  await browser.navigate("about:blank");
  await browser.navigate(running.hostUrl(host, widgetUrl));
  await browser.enterFrame();
  const shown = await browser.until(state);
  const text = await browser.run("return document.body.textContent");
  await browser.leaveFrame();
  return { shown, text };
}

/// What the current host page has heard, once every message posted to it so far has arrived.
async function heard() {
  await browser.run("return window.__settle()");
  return browser.run("return window.__messages");
}

describe("WebKit: a token issued for origin A", () => {
  test("framed by B: no PIN request, no PIN, nothing for B; then A shows it", async () => {
    const { url } = await issueToken(running.server.url, { parentOrigin: running.a });
    const sessions = running.routeCount("/api/v1/pin/session");
    const views = running.routeCount("/api/v1/pin/view");
    const b = await frame(running.b, url, failure);
    assert.equal(b.shown, "WrongHost");
    assert.ok(!b.text.includes(DEMO.pin));
    assert.deepEqual(await heard(), []);
    assert.equal(running.routeCount("/api/v1/pin/session"), sessions + 1);
    assert.equal(running.routeCount("/api/v1/pin/view"), views);

    const a = await frame(running.a, url, pin);
    assert.equal(a.shown, DEMO.pin);
    await browser.until("return window.__messages.some((m) => m.data.event === 'view_pin_success')");
    const outcomes = (await heard()).filter((m) => m.data.event !== "resize");
    assert.deepEqual(outcomes, [{ data: { event: "view_pin_success" }, origin: running.server.url }]);
    assert.equal(running.routeCount("/api/v1/pin/view"), views + 1);
  });

  test("used: its error reaches A and not B", async () => {
    const { url } = await issueToken(running.server.url, { parentOrigin: running.a });
    assert.equal((await frame(running.a, url, pin)).shown, DEMO.pin);

    assert.equal((await frame(running.b, url, failure)).shown, "Refused");
    assert.deepEqual(await heard(), []);

    assert.equal((await frame(running.a, url, failure)).shown, "Refused");
    await browser.until("return window.__messages.some((m) => m.data.event === 'view_pin_error')");
    const outcomes = (await heard()).filter((m) => m.data.event !== "resize");
    assert.deepEqual(outcomes, [
      { data: { event: "error", code: "link_invalid" }, origin: running.server.url },
      { data: { event: "view_pin_error" }, origin: running.server.url },
    ]);
  });
});
