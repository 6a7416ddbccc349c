// Golden host events: every payload the widget gives its host, against the running binary in
// headless Chromium, compared with tests/golden/host-events.json (PINFRAME_GOLDEN_UPDATE=1 writes
// it). Three hosts: an Android webview (each window.android_handler method call and its
// arguments), an iOS WKWebView (each webkit.messageHandlers.ios_handler message) and a desktop
// page framing the widget (each postMessage data object the parent receives). For each, the view
// flow, a view with a used link, the set flow (a refused PIN, pin_valid as the cardholder types, a
// host-triggered submit) and a set with a used link.
//
// Resize messages come whenever the widget's layout settles, so where they fall among the other
// messages depends on timing: the desktop scenarios keep them apart, as the distinct payloads seen
// (height written "<number>").
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { issueToken, newPage as newPageIn, serverAndBrowser } from "./harness.mjs";

const GOLDEN = resolve(import.meta.dirname, "../golden/host-events.json");
const UPDATE = process.env.PINFRAME_GOLDEN_UPDATE === "1";
const golden = !UPDATE && existsSync(GOLDEN) ? JSON.parse(readFileSync(GOLDEN, "utf8")) : null;
const recorded = {};

const running = serverAndBrowser();
const newPage = (initScript) => newPageIn(running.browser, initScript);

/// Keeps a scenario's payloads, and compares them with the golden file unless it is being written.
function check(name, actual) {
  assert.ok(!(name in recorded), `two scenarios named ${name}`);
  recorded[name] = actual;
  if (UPDATE) return;
  assert.ok(golden, `${GOLDEN} is missing: run with PINFRAME_GOLDEN_UPDATE=1 to write it`);
  assert.deepEqual(actual, golden[name], `scenario ${name} differs from ${GOLDEN}`);
}

/// The golden file's text: one payload a line, so that a change shows as the lines it moved.
function formatGolden(scenarios) {
  const list = (items, pad) =>
    items.length === 0 ? "[]" : `[\n${items.map((item) => `${pad}  ${JSON.stringify(item)}`).join(",\n")}\n${pad}]`;
  const value = (v) =>
    Array.isArray(v)
      ? list(v, "  ")
      : `{\n${Object.entries(v).map(([key, items]) => `    ${JSON.stringify(key)}: ${list(items, "    ")}`).join(",\n")}\n  }`;
  return `{\n${Object.entries(scenarios).map(([name, v]) => `  ${JSON.stringify(name)}: ${value(v)}`).join(",\n")}\n}\n`;
}

after(() => {
  if (!UPDATE || Object.keys(recorded).length === 0) return;
  mkdirSync(dirname(GOLDEN), { recursive: true });
  writeFileSync(GOLDEN, formatGolden(recorded));
});

/// An Android host: an android_handler that records any method the widget calls, with its arguments.
function androidHost() {
  window.__payloads = [];
  window.android_handler = new Proxy(
    {},
    {
      get: (_, method) =>
        typeof method === "string" ? (...args) => void window.__payloads.push({ method, args }) : undefined,
    },
  );
}

/// An iOS host: a WKScriptMessageHandler named ios_handler that records each message.
function iosHost() {
  window.__payloads = [];
  window.webkit = { messageHandlers: { ios_handler: { postMessage: (message) => window.__payloads.push(message) } } };
}

/// A desktop host: the demo page, with every message its window receives recorded (not the frame's).
function desktopHost() {
  if (window.top !== window) return;
  window.__payloads = [];
  window.__origins = [];
  window.addEventListener("message", (e) => {
    window.__payloads.push(e.data);
    window.__origins.push(e.origin);
  });
}

const payloads = (page) => page.evaluate(() => window.__payloads);

/// Waits until a payload whose name (event or method) is `name` has arrived after the first `from`.
async function waitFor(page, name, from = 0) {
  await page.waitForFunction(
    ([name, from]) => window.__payloads.slice(from).some((p) => (p.event ?? p.method) === name),
    [name, from],
  );
}

/// A desktop scenario's messages: the others in order, the resize messages apart.
async function desktopMessages(page, from = 0) {
  // The first resize follows the widget's first layout, which may come after its outcome event.
  await waitFor(page, "resize", from);
  const origins = (await page.evaluate(() => window.__origins)).slice(from);
  assert.ok(origins.every((o) => o === running.server.url), `a message from elsewhere: ${origins}`);
  const all = (await payloads(page)).slice(from);
  const resize = all
    .filter((p) => p.event === "resize")
    .map((p) => ({ ...p, height: typeof p.height === "number" ? "<number>" : p.height }));
  const distinct = [...new Map(resize.map((p) => [JSON.stringify(p), p])).values()];
  return { payloads: all.filter((p) => p.event !== "resize"), resize: distinct };
}

/// Types into both fields of the set form in `scope` (a page or a frame locator).
async function typePins(scope, pin, confirm = pin) {
  await scope.locator("#pinframe-new-pin").fill("");
  await scope.locator("#pinframe-confirm-pin").fill("");
  await scope.locator("#pinframe-new-pin").pressSequentially(pin);
  await scope.locator("#pinframe-confirm-pin").pressSequentially(confirm);
}

/// Typed in each set scenario: a PIN the policy refuses (submitted), a mismatched confirmation,
/// then a good PIN.
const REFUSED = "1111";
const MISMATCH = ["2580", "2581"];

/// The webview hosts run the widget as the page itself; `host` is the init script.
for (const [platform, host] of [
  ["android", androidHost],
  ["ios", iosHost],
]) {
  describe(`${platform} webview`, () => {
    test("view, then the same link again", async () => {
      const { context, page } = await newPage(host);
      const { url } = await issueToken(running.server.url, { action: "VIEW_PIN" });
      await page.goto(url);
      await page.locator(".pinframe-pin").waitFor();
      await waitFor(page, "view_pin_success");
      check(`${platform}.view`, await payloads(page));

      // A new document (from about:blank), not a fragment change: the used token fails.
      await page.goto("about:blank");
      await page.goto(url);
      await page.locator(".pinframe-error").waitFor();
      await waitFor(page, "view_pin_error");
      check(`${platform}.view.used_link`, await payloads(page));
      await context.close();
    });

    test("set: a refused PIN, pin_valid while typing, set_pin() from the host, then the same link again", async () => {
      const { context, page } = await newPage(host);
      const { url } = await issueToken(running.server.url, { action: "SET_PIN" });
      await page.goto(url);
      await page.locator("#pinframe-new-pin").waitFor();
      await typePins(page, REFUSED);
      await page.locator(".pinframe-submit").click();
      await waitFor(page, "set_pin_validation_error");
      await typePins(page, ...MISMATCH);
      await typePins(page, "2580");
      await page.evaluate(() => window.set_pin());
      await page.locator(".pinframe-done").waitFor();
      await waitFor(page, "set_pin_success");
      check(`${platform}.set`, await payloads(page));

      await page.goto("about:blank");
      await page.goto(url);
      await page.locator(".pinframe-error").waitFor();
      await waitFor(page, "set_pin_error");
      check(`${platform}.set.used_link`, await payloads(page));
      await context.close();
    });
  });
}

describe("desktop page framing the widget", () => {
  test("view, then the same link again", async () => {
    const { context, page } = await newPage(desktopHost);
    await page.goto(`${running.server.url}/demo/`);
    await page.click("#view-pin");
    await page.frameLocator("iframe").locator(".pinframe-pin").waitFor();
    await waitFor(page, "view_pin_success");
    check("desktop.view", await desktopMessages(page));

    const from = (await payloads(page)).length;
    await page.click("#reuse-link");
    await page.frameLocator("iframe").locator(".pinframe-error").waitFor();
    await waitFor(page, "view_pin_error", from);
    check("desktop.view.used_link", await desktopMessages(page, from));
    await context.close();
  });

  test("set: a refused PIN, pin_valid while typing, set_pin posted by the host, then the same link again", async () => {
    const { context, page } = await newPage(desktopHost);
    await page.goto(`${running.server.url}/demo/`);
    await page.click("#set-pin");
    const frame = page.frameLocator("iframe");
    await frame.locator("#pinframe-new-pin").waitFor();
    await typePins(frame, REFUSED);
    await frame.locator(".pinframe-submit").click();
    await waitFor(page, "set_pin_validation_error");
    await typePins(frame, ...MISMATCH);
    await typePins(frame, "2580");
    // postMessage is asynchronous: the last keystroke's pin_valid must be in before the submit.
    await page.waitForFunction(() => window.__payloads.filter((p) => p.event === "pin_valid").at(-1)?.pin_valid);
    await page.click("#host-set-pin");
    await frame.locator(".pinframe-done").waitFor();
    await waitFor(page, "set_pin_success");
    check("desktop.set", await desktopMessages(page));

    const from = (await payloads(page)).length;
    await page.click("#reuse-link");
    await page.frameLocator("iframe").locator(".pinframe-error").waitFor();
    await waitFor(page, "set_pin_error", from);
    check("desktop.set.used_link", await desktopMessages(page, from));
    await context.close();
  });
});

describe("the golden file", () => {
  test("names exactly the scenarios that ran", () => {
    if (UPDATE) return;
    assert.deepEqual(Object.keys(recorded).sort(), Object.keys(golden ?? {}).sort());
  });
});
