// The host kits: the package @pinframe/host (packages/pinframe-host) type-checks with TypeScript:
// its event types, the desktop helper and the React Native bridge against the DOM, and the React
// Native component against the real react, react-native and react-native-webview types (`make
// host-kit` installs them); the React Native bridge, injected as the app would inject it, delivers
// every event and takes set_pin; the book's Android and iOS samples (docs/book/samples/) name exactly the
// events the declarations list. (The desktop helper itself runs in every demo-page test: /demo/ is
// built on it.)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { DEMO, issueToken, serverAndBrowser } from "./harness.mjs";

const root = resolve(import.meta.dirname, "../..");
const hostKit = join(root, "packages/pinframe-host");
const docs = (path) => readFileSync(join(root, "docs", path), "utf8");
const declarations = readFileSync(join(hostKit, "src/index.d.ts"), "utf8");
const { PINFRAME_BRIDGE, PINFRAME_SET_PIN } = await import(join(hostKit, "src/react-native/bridge.js"));

/// The events of the declarations: the outcome events, pin_valid, and pinframe's error and expiry events.
const outcomeEvents = [...declarations.match(/export type OutcomeEvent =([^;]*);/)[1].matchAll(/"(\w+)"/g)].map((m) => m[1]);
const pinframeEvents = ["error", "token_expiring", "token_expired"];
const errorCodes = [...declarations.match(/export type ErrorCode =([^;]*);/)[1].matchAll(/"(\w+)"/g)].map((m) => m[1]);
const androidMethods = [...declarations.match(/interface AndroidHandler \{([^}]*)\}/)[1].matchAll(/(\w+)\?\(/g)].map((m) => m[1]);

const running = serverAndBrowser();
const tokens = [];

describe("declarations", () => {
  test("list the protocol's events, and the package type-checks against them", async () => {
    assert.deepEqual(outcomeEvents, ["view_pin_success", "view_pin_error", "set_pin_success", "set_pin_error", "set_pin_validation_error"]);
    assert.deepEqual(androidMethods, [...outcomeEvents, "pin_valid", ...pinframeEvents]);
    // The error codes are the protocol's: every one is in docs/protocol.md's table for hosts.
    const table = docs("protocol.md").split("### Error codes for hosts")[1].split("\n### ")[0].split(/^\|---.*$/m)[1];
    const documented = [...table.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(documented, errorCodes);
    const tsc = join(hostKit, "node_modules/typescript/bin/tsc");
    assert.ok(existsSync(tsc), "packages/pinframe-host has no node_modules: run `make host-kit` first");
    // The browser side (tsconfig.json: the event types, the desktop helper, the bridge), then the
    // React Native component (tsconfig.react-native.json: no DOM library, React Native's globals).
    for (const project of [hostKit, join(hostKit, "tsconfig.react-native.json")]) {
      const run = await promisify(execFile)(process.execPath, [tsc, "-p", project, "--noEmit"]).catch((e) => e);
      assert.equal(run.code ?? 0, 0, `${project}: ${run.stdout}${run.stderr}`);
    }
  });
});

describe("native snippets", () => {
  test("Android: one @JavascriptInterface method per event, registered as android_handler", () => {
    const kotlin = docs("book/samples/android/PinWebViewActivity.kt");
    assert.match(kotlin, /addJavascriptInterface\(PinframeHandler\(\), "android_handler"\)/);
    const methods = [...kotlin.matchAll(/@JavascriptInterface fun (\w+)\(/g)].map((m) => m[1]);
    assert.deepEqual(methods, androidMethods);
    assert.match(kotlin, /fun pin_valid\(valid: Boolean\)/);
    assert.match(kotlin, /fun error\(code: String\)/);
    assert.match(kotlin, /evaluateJavascript\("window\.set_pin && window\.set_pin\(\)"/);
  });

  test("iOS: a message handler named ios_handler with a case for every event", () => {
    const swift = docs("book/samples/ios/PinViewController.swift");
    assert.match(swift, /userContentController\.add\(self, name: "ios_handler"\)/);
    const cases = [...swift.matchAll(/case ((?:"\w+",? ?)+):/g)].flatMap((m) => [...m[1].matchAll(/"(\w+)"/g)].map((c) => c[1]));
    assert.deepEqual(cases.sort(), [...outcomeEvents, "pin_valid", ...pinframeEvents].sort());
    assert.match(swift, /body\["code"\] as\? String/);
    assert.match(swift, /body\["pin_valid"\] as\? Bool/);
    assert.match(swift, /evaluateJavaScript\("window\.set_pin && window\.set_pin\(\)"\)/);
  });
});

describe("React Native bridge", () => {
  /// A page as react-native-webview makes it: ReactNativeWebView, then the app's injected bridge.
  async function reactNativePage() {
    const context = await running.browser.newContext();
    const page = await context.newPage();
    await page.addInitScript(() => {
      window.__rn = [];
      window.ReactNativeWebView = { postMessage: (text) => window.__rn.push(JSON.parse(text)) };
    });
    await page.addInitScript({ content: PINFRAME_BRIDGE });
    return { context, page, messages: () => page.evaluate(() => window.__rn) };
  }

  test("view: view_pin_success, then error and view_pin_error for a used link", async () => {
    const { context, page, messages } = await reactNativePage();
    const { url } = await issueToken(running.server.url, {}, tokens);
    await page.goto(url);
    await page.waitForFunction(() => window.__rn.length > 0);
    assert.deepEqual(await messages(), [{ event: "view_pin_success" }]);
    assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin);
    const again = await context.newPage();
    await again.addInitScript(() => {
      window.__rn = [];
      window.ReactNativeWebView = { postMessage: (text) => window.__rn.push(JSON.parse(text)) };
    });
    await again.addInitScript({ content: PINFRAME_BRIDGE });
    await again.goto(url);
    await again.waitForFunction(() => window.__rn.length > 0);
    assert.deepEqual(await again.evaluate(() => window.__rn), [{ event: "error", code: "link_invalid" }, { event: "view_pin_error" }]);
    await context.close();
  });

  test("set: pin_valid as the cardholder types, and the app's set_pin submits", async () => {
    const { context, page, messages } = await reactNativePage();
    const { url } = await issueToken(running.server.url, { action: "SET_PIN" }, tokens);
    await page.goto(url);
    await page.locator("#pinframe-new-pin").pressSequentially("1234");
    await page.evaluate(PINFRAME_SET_PIN);
    await page.waitForFunction(() => window.__rn.some((m) => m.event === "set_pin_validation_error"));
    await page.locator("#pinframe-new-pin").fill("");
    await page.locator("#pinframe-new-pin").pressSequentially("2468");
    await page.locator("#pinframe-confirm-pin").pressSequentially("2468");
    await page.waitForFunction(() => window.__rn.at(-1)?.pin_valid === true);
    await page.evaluate(PINFRAME_SET_PIN);
    await page.waitForFunction(() => window.__rn.some((m) => m.event === "set_pin_success"));
    const seen = await messages();
    assert.ok(seen.every((m) => typeof m.event === "string" && (m.event !== "pin_valid" || typeof m.pin_valid === "boolean")));
    assert.equal(seen.filter((m) => m.event === "pin_valid").at(-1).pin_valid, true);
    await context.close();
  });
});

describe("the server's log", () => {
  test("holds no token and no PIN", () => {
    const logs = running.server.out.stderr;
    assert.ok(tokens.length > 0);
    for (const token of tokens) assert.ok(!logs.includes(token), "a token appears in the log");
    for (const pin of [DEMO.pin, "1234"]) {
      assert.doesNotMatch(logs, new RegExp(`(?<![0-9A-Za-z._-])${pin}(?![0-9A-Za-z_-])`), "a PIN appears in the log");
    }
  });
});
