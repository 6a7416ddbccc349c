// A link's expiry, against the running binary (tokens live 20 s here) in headless Chromium: while
// an unused token waits for the cardholder, every host channel hears `token_expiring` 10 s before
// it expires and `token_expired` when it does; the page then says the link expired (also after a
// reload), and the host hears `error` with `link_expired`, then the flow's error event.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { issueToken, launchBrowser } from "./harness.mjs";
import { serverWithTwoHosts } from "./hosts.mjs";

const TTL = 20;
const running = serverWithTwoHosts({ args: ["--token-ttl", String(TTL)] });
let browser;
before(async () => (browser = await launchBrowser()));
after(async () => browser?.close());

/// Records, with the time, every event the page's host channels hear: Android and iOS stand-ins in a
/// top-level page, `postMessage` in a framing page (not inside the widget's own frame).
function timedHosts() {
  if (window.top !== window) return;
  window.__events = [];
  const push = (channel, message) => window.__events.push({ channel, at: Date.now(), ...message });
  const android = {};
  for (const name of ["view_pin_success", "view_pin_error", "set_pin_success", "set_pin_error", "token_expiring", "token_expired"]) {
    android[name] = () => push("android", { event: name });
  }
  android.pin_valid = (valid) => push("android", { event: "pin_valid", pin_valid: valid });
  android.error = (code) => push("android", { event: "error", code });
  window.android_handler = android;
  window.webkit = { messageHandlers: { ios_handler: { postMessage: (m) => push("ios", m) } } };
  addEventListener("message", (e) => {
    if (e.source !== window && e.data?.event !== "resize") push("desktop", e.data);
  });
}

/// Issues a token (`body`) and opens its url (in a host page when `host` is given); resolves once
/// the widget's session answer arrived, with the token's expiry from that answer (`expiresAt`, Unix
/// seconds), in milliseconds.
async function open(body, { host, blockView = false, slowWasm = 0 } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(timedHosts);
  if (blockView) await page.route("**/api/v1/pin/view", (route) => route.abort("internetdisconnected"));
  if (slowWasm) {
    await page.route("**/*.wasm", async (route) => {
      await new Promise((ok) => setTimeout(ok, slowWasm));
      await route.continue();
    });
  }
  const session = page.waitForResponse((r) => r.url().endsWith("/api/v1/pin/session"));
  const { url } = await issueToken(running.server.url, body);
  await page.goto(host ? running.hostUrl(host, url) : url);
  const { expiresAt } = await (await session).json();
  const widget = host ? page.frameLocator("iframe") : page;
  return { context, page, widget, expiresAt: expiresAt * 1000 };
}

const events = (page, channel) =>
  page.evaluate((channel) => window.__events.filter((e) => e.channel === channel && e.event !== "pin_valid"), channel);

/// Checks one channel's events: what came first, then the expiry at the right times (the expiry is
/// a whole second, hence the tolerance), then the error.
function checkExpiry(list, expiresAt, before, finalEvent, label) {
  const names = list.map(({ event, code }) => (code ? `${event}:${code}` : event));
  assert.deepEqual(names, [...before, "token_expiring", "token_expired", "error:link_expired", finalEvent], label);
  const before_expiry = (name) => (expiresAt - list.find((e) => e.event === name).at) / 1000;
  const expiring = before_expiry("token_expiring");
  const expired = before_expiry("token_expired");
  assert.ok(Math.abs(expiring - 10) < 1.5, `${label}: token_expiring ${expiring} s before the expiry`);
  assert.ok(Math.abs(expired) < 1.5, `${label}: token_expired ${expired} s before the expiry`);
}

describe("an unused link that expires", () => {
  test("set and view: token_expiring, token_expired at their times on every channel; then the expired message", async () => {
    // All four wait side by side, so the test takes one token lifetime. The fourth's wasm arrives
    // 4 s after the loader's session answer: the lifetime still counts from that answer, not from
    // when the widget reads it.
    const [webview, desktop, view, slow] = await Promise.all([
      open({ action: "SET_PIN" }),
      open({ action: "SET_PIN", parentOrigin: running.a }, { host: running.a }),
      open({}, { blockView: true }),
      open({ action: "SET_PIN" }, { slowWasm: 4000 }),
    ]);
    await webview.widget.locator("#pinframe-new-pin").pressSequentially("25");
    await view.widget.locator(".pinframe-retry").waitFor();

    for (const { widget } of [webview, desktop, view, slow]) {
      await widget.locator('.pinframe-error[data-code="link_expired"]').waitFor({ timeout: (TTL + 5) * 1000 });
      assert.match(await widget.locator(".pinframe-error").textContent(), /expired/);
      assert.equal(await widget.locator(".pinframe-retry").count(), 0);
    }
    await webview.page.waitForFunction(() => window.__events.some((e) => e.event === "set_pin_error" && e.channel === "ios"));
    checkExpiry(await events(webview.page, "android"), webview.expiresAt, [], "set_pin_error", "set, android");
    checkExpiry(await events(webview.page, "ios"), webview.expiresAt, [], "set_pin_error", "set, ios");
    await desktop.page.waitForFunction(() => window.__events.some((e) => e.event === "set_pin_error"));
    checkExpiry(await events(desktop.page, "desktop"), desktop.expiresAt, [], "set_pin_error", "set, desktop");
    await view.page.waitForFunction(() => window.__events.some((e) => e.event === "view_pin_error" && e.channel === "ios"));
    checkExpiry(await events(view.page, "android"), view.expiresAt, ["error:no_network"], "view_pin_error", "view, android");
    await slow.page.waitForFunction(() => window.__events.some((e) => e.event === "set_pin_error" && e.channel === "android"));
    checkExpiry(await events(slow.page, "android"), slow.expiresAt, [], "set_pin_error", "set with a slow wasm, android");

    // A reload after the expiry says the same, without asking the service.
    const asked = [];
    webview.page.on("request", (r) => r.url().includes("/api/v1/pin/") && asked.push(r.url()));
    await webview.page.reload();
    await webview.widget.locator('.pinframe-error[data-code="link_expired"]').waitFor();
    assert.deepEqual(asked, []);
    for (const { context } of [webview, desktop, view, slow]) await context.close();
  });
});
