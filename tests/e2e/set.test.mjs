// Set PIN end to end, against the running binary: an outside JOSE client, then the desktop iframe,
// Android and iOS flows in headless Chromium (typing, pin_valid, refusals, host-triggered submits),
// a view of the new PIN, the change counter, and finally the server's logs.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, bearerPost, issueToken, jose, newPage as newPageIn, serverAndBrowser } from "./harness.mjs";

const running = serverAndBrowser();
const tokens = [];
const pinsSet = [];


const post = (path, token, body) => bearerPost(running.server.url, path, token, body);

/// Views the PIN as an outside client would: panva jose makes the ephemeral key.
async function viewPin() {
  const { token } = await issueToken(running.server.url, {}, tokens);
  const { publicKey, privateKey } = await jose.generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
  const answer = await post("/api/v1/pin/view", token, { epk: await jose.exportJWK(publicKey) });
  const { plaintext } = await jose.compactDecrypt((await answer.json()).encryptedPin, privateKey);
  return JSON.parse(new TextDecoder().decode(plaintext)).pin;
}

describe("an outside client (panva jose)", () => {
  test("encrypts a new PIN to the session's key and sets it; the counter moves by one", async () => {
    const before = running.server.changeCounter();
    const { token } = await issueToken(running.server.url, { action: "SET_PIN" }, tokens);
    const session = await (await post("/api/v1/pin/session", token)).json();
    assert.equal(session.action, "SET_PIN");
    assert.deepEqual(session.pinPolicy, { minLength: 4, maxLength: 6, forbidYears: false });
    const key = await jose.importJWK(session.encryptionJwk, "ECDH-ES");

    const weak = await new jose.CompactEncrypt(new TextEncoder().encode('{"pin":"1111"}'))
      .setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM", kid: session.encryptionJwk.kid })
      .encrypt(key);
    const refused = await post("/api/v1/pin/set", token, { encryptedPin: weak });
    assert.equal(refused.status, 422);
    assert.deepEqual(await refused.json(), {
      error: "pin_policy",
      reason: "all_same",
      message: "Don't use the same digit throughout.",
    });

    pinsSet.push("80461");
    const good = await new jose.CompactEncrypt(new TextEncoder().encode('{"pin":"80461"}'))
      .setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM" })
      .encrypt(key);
    assert.equal((await post("/api/v1/pin/set", token, { encryptedPin: good })).status, 204);
    assert.equal(running.server.changeCounter(), before + 1);
    assert.equal(await viewPin(), "80461");
    assert.equal((await post("/api/v1/pin/set", token, { encryptedPin: good })).status, 401);
  });
});

const newPage = (initScript) => newPageIn(running.browser, initScript);

/// Types into both fields of the set form in `scope` (a page or a frame locator).
async function typePins(scope, pin, confirm = pin) {
  await scope.locator("#pinframe-new-pin").fill("");
  await scope.locator("#pinframe-confirm-pin").fill("");
  await scope.locator("#pinframe-new-pin").pressSequentially(pin);
  await scope.locator("#pinframe-confirm-pin").pressSequentially(confirm);
}

describe("desktop iframe", () => {
  test("live validation, a refused weak PIN, then button and host submits", async () => {
    const { context, page, cspViolations } = await newPage(() => {
      window.__events = [];
      window.addEventListener("message", (e) => window.__events.push({ data: e.data, origin: e.origin }));
    });
    // Outcome and validity events; the resize events are checked in ux.test.mjs.
    const events = () => page.evaluate(() => window.__events.map((e) => e.data).filter((d) => d.event !== "resize"));
    await page.goto(`${running.server.url}/demo/`);
    const tokenAnswer = page.waitForResponse((r) => r.url().endsWith("/demo/api/token"));
    await page.click("#set-pin");
    tokens.push((await (await tokenAnswer).json()).token);
    const frame = page.frameLocator("iframe");
    await frame.locator("#pinframe-new-pin").waitFor();
    assert.equal(await frame.locator("#pinframe-new-pin").getAttribute("inputmode"), "numeric");
    assert.equal(await frame.locator("#pinframe-new-pin").getAttribute("autocomplete"), "off");
    assert.equal(await frame.locator("#pinframe-new-pin").getAttribute("type"), "password");

    // A weak PIN: every pin_valid false, a message on screen, and a refused submit.
    await typePins(frame, "1234");
    assert.match(await frame.locator("#pinframe-new-pin-message").textContent(), /up or down in a row/);
    await frame.locator(".pinframe-submit").click();
    await page.waitForFunction(() => window.__events.some((e) => e.data.event === "set_pin_validation_error"));
    let seen = await events();
    assert.deepEqual(seen.filter((e) => e.event === "pin_valid").map((e) => e.pin_valid), Array(8).fill(false));
    assert.deepEqual(seen.at(-1), { event: "set_pin_validation_error" });

    // Mismatched confirmation, then the show control, then a good PIN: false … true.
    await typePins(frame, "2580", "2581");
    assert.match(await frame.locator("#pinframe-confirm-pin-message").textContent(), /don't match/);
    await frame.locator(".pinframe-toggle").click();
    assert.equal(await frame.locator("#pinframe-new-pin").getAttribute("type"), "text");
    await typePins(frame, "2580");
    // postMessage is asynchronous: wait for the last keystroke's event to reach the parent.
    await page.waitForFunction(() => window.__events.filter((e) => e.data.event === "pin_valid").at(-1)?.data.pin_valid);
    seen = await events();
    const valid = seen.filter((e) => e.event === "pin_valid").map((e) => e.pin_valid);
    assert.equal(valid.at(-1), true);
    assert.ok(valid.slice(0, -1).every((v) => v === false), JSON.stringify(valid));

    const counter = running.server.changeCounter();
    await frame.locator(".pinframe-submit").click();
    await frame.locator(".pinframe-done").waitFor();
    await page.waitForFunction(() => window.__events.some((e) => e.data.event === "set_pin_success"));
    pinsSet.push("2580");
    assert.equal(running.server.changeCounter(), counter + 1);
    const all = await page.evaluate(() => window.__events);
    assert.ok(all.every((e) => e.origin === running.server.url), "every event came from the widget's origin");

    // The parent submits for the cardholder: postMessage({event: "set_pin"}), origin-checked.
    await page.click("#set-pin");
    await frame.locator("#pinframe-new-pin").waitFor();
    await typePins(frame, "3691");
    await page.click("#host-set-pin");
    await frame.locator(".pinframe-done").waitFor();
    pinsSet.push("3691");
    assert.equal(running.server.changeCounter(), counter + 2);

    // The demo's View PIN now shows the new PIN.
    await page.click("#view-pin");
    assert.equal(await page.frameLocator("iframe").locator(".pinframe-pin").textContent(), "3691");
    assert.deepEqual(cspViolations, []);
    await context.close();
  });
});

describe("Android webview", () => {
  test("android_handler hears pin_valid(false … true); set_pin() submits; set_pin_success()", async () => {
    const { context, page } = await newPage(() => {
      window.__calls = [];
      window.android_handler = {
        pin_valid: (valid) => window.__calls.push(`pin_valid(${valid})`),
        set_pin_success: () => window.__calls.push("set_pin_success"),
        set_pin_error: () => window.__calls.push("set_pin_error"),
        set_pin_validation_error: () => window.__calls.push("set_pin_validation_error"),
      };
    });
    const { url } = await issueToken(running.server.url, { action: "SET_PIN" }, tokens);
    assert.match(url, new RegExp(`/pin/${DEMO.issuer}/set#token=`));
    await page.goto(url);
    await page.locator("#pinframe-new-pin").waitFor();
    assert.equal(new URL(page.url()).hash, "");
    await typePins(page, "4702");
    const counter = running.server.changeCounter();
    await page.evaluate(() => window.set_pin());
    await page.locator(".pinframe-done").waitFor();
    pinsSet.push("4702");
    const calls = await page.evaluate(() => window.__calls);
    assert.deepEqual(calls, [...Array(7).fill("pin_valid(false)"), "pin_valid(true)", "set_pin_success"]);
    assert.equal(running.server.changeCounter(), counter + 1);
    assert.equal(await viewPin(), "4702");
    await context.close();
  });

  test("a used link gives set_pin_error()", async () => {
    const { context, page } = await newPage(() => {
      window.__calls = [];
      window.android_handler = { set_pin_error: () => window.__calls.push("set_pin_error") };
    });
    const { url, token } = await issueToken(running.server.url, { action: "SET_PIN" }, tokens);
    await page.goto(url);
    await typePins(page, "5813");
    await page.evaluate(() => window.set_pin());
    await page.locator(".pinframe-done").waitFor();
    pinsSet.push("5813");
    await page.goto("about:blank");
    await page.goto(url);
    await page.locator(".pinframe-error").waitFor();
    await page.waitForFunction(() => window.__calls.length > 0);
    assert.deepEqual(await page.evaluate(() => window.__calls), ["set_pin_error"]);
    assert.equal((await post("/api/v1/pin/session", token)).status, 401);
    await context.close();
  });
});

describe("iOS WKWebView", () => {
  test("ios_handler hears the validation error of a weak PIN, then set_pin_success", async () => {
    const { context, page } = await newPage(() => {
      window.__messages = [];
      window.webkit = { messageHandlers: { ios_handler: { postMessage: (m) => window.__messages.push(m) } } };
    });
    const { url } = await issueToken(running.server.url, { action: "SET_PIN" }, tokens);
    await page.goto(url);
    await page.locator("#pinframe-new-pin").waitFor();
    await typePins(page, "6969");
    await page.locator(".pinframe-submit").click();
    await page.waitForFunction(() => window.__messages.some((m) => m.event === "set_pin_validation_error"));
    assert.match(await page.locator("#pinframe-new-pin-message").textContent(), /most common/);
    await typePins(page, "6924");
    await page.evaluate(() => window.set_pin());
    await page.locator(".pinframe-done").waitFor();
    pinsSet.push("6924");
    const messages = await page.evaluate(() => window.__messages);
    assert.deepEqual(messages.at(-1), { event: "set_pin_success" });
    assert.deepEqual(messages.filter((m) => m.event === "pin_valid").at(-1), { event: "pin_valid", pin_valid: true });
    assert.ok(messages.some((m) => m.event === "set_pin_validation_error"));
    assert.equal(await viewPin(), "6924");
    await context.close();
  });
});

describe("after the whole suite", () => {
  test("the server's logs hold no PIN, no token and no key material", async () => {
    const logs = running.server.out.stderr;
    assert.ok(logs.includes('"route":"/api/v1/pin/set"'), "the set requests were logged");
    for (const secret of [...tokens, ...running.server.keyMaterial(), DEMO.clientSecret]) {
      assert.ok(!logs.includes(secret), "a secret appears in the log");
    }
    for (const pin of [...pinsSet, DEMO.pin, "1234", "1111", "6969"]) {
      assert.doesNotMatch(logs, new RegExp(`(?<![0-9.])${pin}(?![0-9])`), "a PIN appears in the log");
    }
  });
});
