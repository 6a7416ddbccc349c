// No dead ends and no leaks, against the running binary in headless Chromium: with copying off a
// select-all and copy puts no run of the PIN's digits on the clipboard; a view or a set whose
// request did not get through is tried again with the same link (and a reload is not a dead end),
// keeping what was typed; a card without a PIN says so, on all three host channels; the set form's
// messages follow every keystroke; and the demo page neither submits twice nor spends a link on a
// theme or language change.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, issueToken, jose, launchBrowser } from "./harness.mjs";
import { serverWithTwoHosts } from "./hosts.mjs";
import { after, before } from "node:test";

const running = serverWithTwoHosts();
let browser;
before(async () => (browser = await launchBrowser()));
after(async () => browser?.close());

const token = (body) => issueToken(running.server.url, body);

/// A run of the PIN's digits, whatever separates them (spaces, new lines, other characters).
const pinRun = (pin) => new RegExp(pin.split("").join("[^0-9]*"));

/// Host stand-ins, run before the widget's scripts: an Android handler that has every method of
/// the protocol (including the new `error(code)`, `token_expiring()`, `token_expired()`) and an iOS
/// message handler, both recording into `window.__events`.
function webviewHosts() {
  window.__events = [];
  const record = (event, extra) => window.__events.push({ channel: "android", event, ...extra });
  window.android_handler = {
    view_pin_success: () => record("view_pin_success"),
    view_pin_error: () => record("view_pin_error"),
    set_pin_success: () => record("set_pin_success"),
    set_pin_error: () => record("set_pin_error"),
    set_pin_validation_error: () => record("set_pin_validation_error"),
    pin_valid: (valid) => record("pin_valid", { pin_valid: valid }),
    error: (code) => record("error", { code }),
    token_expiring: () => record("token_expiring"),
    token_expired: () => record("token_expired"),
  };
  window.webkit = {
    messageHandlers: { ios_handler: { postMessage: (m) => window.__events.push({ channel: "ios", ...m }) } },
  };
}

/// A top-level page (as a webview loads it) with the host stand-ins installed.
async function webview() {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(webviewHosts);
  const events = (channel) =>
    page.evaluate((channel) => window.__events.filter((e) => e.channel === channel && e.event !== "pin_valid"), channel);
  return { context, page, events };
}

const strip = (events) => events.map(({ channel, ...rest }) => rest);

describe("copying off", () => {
  test("Ctrl+A, Ctrl+C puts no run of the PIN's digits on the clipboard; no context menu or drag", async () => {
    const { url } = await token({});
    const context = await browser.newContext();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: running.server.url });
    const page = await context.newPage();
    await page.goto(url);
    await page.locator(".pinframe-pin").waitFor();
    assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin, "the PIN is on screen");
    // The live region has announced it, spelled out, by now.
    await page.waitForFunction(() => document.querySelector(".pinframe-announce")?.textContent.length > 0);

    // The clipboard works here: what is written can be read back.
    await page.evaluate(() => navigator.clipboard.writeText("before"));
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "before");

    await page.locator(".pinframe-title").click();
    await page.keyboard.press("Control+A");
    const selected = await page.evaluate(() => window.getSelection().toString());
    assert.ok(selected.length > 0, "select-all selected the page's text");
    assert.doesNotMatch(selected, pinRun(DEMO.pin), "the selection holds the PIN's digits");
    await page.keyboard.press("Control+C");
    const clipboard = await page.evaluate(() => navigator.clipboard.readText());
    assert.doesNotMatch(clipboard, pinRun(DEMO.pin), `the clipboard holds the PIN: ${JSON.stringify(clipboard)}`);

    // From the PIN itself too: the copy is refused wherever the selection starts.
    await page.evaluate(() => {
      const range = document.createRange();
      range.selectNodeContents(document.body);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
    });
    await page.locator(".pinframe-pin").focus().catch(() => {});
    await page.keyboard.press("Control+C");
    assert.doesNotMatch(await page.evaluate(() => navigator.clipboard.readText()), pinRun(DEMO.pin));

    const refused = await page.evaluate(() => {
      const pin = document.querySelector(".pinframe-pin");
      const fire = (event) => (pin.dispatchEvent(event), event.defaultPrevented);
      return {
        contextmenu: fire(new MouseEvent("contextmenu", { bubbles: true, cancelable: true })),
        dragstart: fire(new DragEvent("dragstart", { bubbles: true, cancelable: true })),
        copy: fire(new ClipboardEvent("copy", { bubbles: true, cancelable: true })),
      };
    });
    assert.deepEqual(refused, { contextmenu: true, dragstart: true, copy: true });
    // Screen readers still get the digits, one by one.
    assert.match(await page.locator(".pinframe-announce").textContent(), /2 4 6 8/);
    await context.close();
  });
});

describe("a view that did not get through", () => {
  test("offers Try again, which shows the PIN once the network is back; the host hears no_network only", async () => {
    const { url } = await token({});
    const { context, page, events } = await webview();
    await page.route("**/api/v1/pin/view", (route) => route.abort("internetdisconnected"));
    await page.goto(url);
    const error = page.locator(".pinframe-error");
    await error.waitFor();
    assert.equal(await error.getAttribute("data-code"), "no_network");
    assert.match(await error.textContent(), /offline/);
    assert.deepEqual(strip(await events("android")), [{ event: "error", code: "no_network" }]);
    assert.deepEqual(strip(await events("ios")), [{ event: "error", code: "no_network" }]);

    await page.unroute("**/api/v1/pin/view");
    await page.locator(".pinframe-retry").click();
    await page.locator(".pinframe-pin").waitFor();
    assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin);
    await page.waitForFunction(() => window.__events.filter((e) => e.event === "view_pin_success").length === 2);
    assert.deepEqual(strip(await events("android")), [{ event: "error", code: "no_network" }, { event: "view_pin_success" }]);
    await context.close();
  });

  test("a reload of the page before the view shows the PIN; after it, the used link is gone", async () => {
    const { url } = await token({});
    const { context, page } = await webview();
    await page.route("**/api/v1/pin/view", (route) => route.abort("internetdisconnected"));
    await page.goto(url);
    await page.locator(".pinframe-error").waitFor();
    assert.ok(!page.url().includes("token"), "the token left the address bar");
    await page.unroute("**/api/v1/pin/view");
    await page.reload();
    await page.locator(".pinframe-pin").waitFor();
    assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin);
    // Used: nothing of it is kept in the tab.
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await context.close();
  });
});

describe("a set that did not get through", () => {
  test("keeps the typed PIN; Try again sets it", async () => {
    const { url } = await token({ action: "SET_PIN" });
    const { context, page, events } = await webview();
    const before = running.server.changeCounter();
    await page.goto(url);
    await page.locator("#pinframe-new-pin").pressSequentially("2580");
    await page.locator("#pinframe-confirm-pin").pressSequentially("2580");
    await page.route("**/api/v1/pin/set", (route) => route.abort("internetdisconnected"));
    await page.locator(".pinframe-submit").click();
    const error = page.locator(".pinframe-error");
    await error.waitFor();
    assert.equal(await error.getAttribute("data-code"), "no_network");
    assert.match(await error.textContent(), /not set/);
    assert.equal(await page.locator("#pinframe-new-pin").inputValue(), "2580", "the new PIN was kept");
    assert.equal(await page.locator("#pinframe-confirm-pin").inputValue(), "2580", "the confirmation was kept");
    // Nothing typed is written anywhere: the tab's storage holds the token and its expiry only.
    const stored = await page.evaluate(() => Object.values(sessionStorage).join(" "));
    assert.doesNotMatch(stored, /2580/);
    assert.equal(running.server.changeCounter(), before);

    await page.unroute("**/api/v1/pin/set");
    await page.locator(".pinframe-retry").click();
    await page.locator(".pinframe-done").waitFor();
    assert.equal(running.server.changeCounter(), before + 1);
    const outcome = strip(await events("ios")).filter((e) => e.event !== "pin_valid");
    assert.deepEqual(outcome, [{ event: "error", code: "no_network" }, { event: "set_pin_success" }]);
    await context.close();
  });
});

describe("the set form's messages", () => {
  test("follow every keystroke in both fields, and never repeat what was typed", async () => {
    const { url } = await token({ action: "SET_PIN" });
    const { context, page } = await webview();
    await page.goto(url);
    const newPin = page.locator("#pinframe-new-pin");
    const confirm = page.locator("#pinframe-confirm-pin");
    const message = (id) => page.locator(`#${id}-message`).textContent();
    await newPin.pressSequentially("25");
    await page.locator(".pinframe-submit").click();
    assert.match(await message("pinframe-new-pin"), /too short/);
    await newPin.pressSequentially("8");
    assert.match(await message("pinframe-new-pin"), /too short/, "still too short, said at once");
    await newPin.pressSequentially("0");
    await page.waitForFunction(() => document.querySelector("#pinframe-new-pin-message").textContent === "");
    await confirm.pressSequentially("2581");
    assert.match(await message("pinframe-confirm-pin"), /don't match/);
    await confirm.press("Backspace");
    await confirm.pressSequentially("0");
    await page.waitForFunction(() => document.querySelector("#pinframe-confirm-pin-message").textContent === "");
    await newPin.fill("");
    await newPin.pressSequentially("1111");
    assert.match(await message("pinframe-new-pin"), /same digit/);
    const everything = await page.locator("main").textContent();
    for (const typed of ["1111", "2580", "2581"]) assert.ok(!everything.includes(typed), `the page repeats ${typed}`);
    await context.close();
  });
});

/// Registers a card at the demo issuer the way an issuer's backend does (OAuth, then the Register
/// API with the PAN encrypted to the service key); the embedded CMS has no PIN for it.
async function registerCardWithoutPin(cardId) {
  const base = running.server.url;
  const basic = Buffer.from(`${DEMO.clientId}:${DEMO.clientSecret}`).toString("base64");
  const oauth = await fetch(`${base}/oauth2/token`, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
  });
  assert.equal(oauth.status, 200, await oauth.clone().text());
  const { access_token: access } = await oauth.json();
  const jwks = await (await fetch(`${base}/.well-known/jwks.json`)).json();
  const key = await jose.importJWK(jwks.keys[0], "ECDH-ES");
  const encryptedData = await new jose.CompactEncrypt(new TextEncoder().encode(JSON.stringify({ pan: "4000001234567899", exp: "1230" })))
    .setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM", kid: jwks.keys[0].kid })
    .encrypt(key);
  const cards = await fetch(`${base}/issuers/${DEMO.issuer}/consumers/no-pin-consumer/cards`, {
    method: "PUT",
    headers: { authorization: `Bearer ${access}`, "content-type": "application/json" },
    body: JSON.stringify({ cards: [{ cardId, encryptedData }] }),
  });
  assert.equal(cards.status, 204, await cards.text());
}

describe("a card without a PIN", () => {
  test("shows the no-PIN message, not a network one, and every host channel hears no_pin", async () => {
    const card = "no-pin-card";
    await registerCardWithoutPin(card);

    const { url } = await token({ cardId: card });
    const { context, page, events } = await webview();
    await page.goto(url);
    const error = page.locator(".pinframe-error");
    await error.waitFor();
    assert.equal(await error.getAttribute("data-code"), "no_pin");
    assert.match(await error.textContent(), /no PIN yet/);
    assert.equal(await page.locator(".pinframe-retry").count(), 0, "trying again cannot help");
    const expected = [{ event: "error", code: "no_pin" }, { event: "view_pin_error" }];
    assert.deepEqual(strip(await events("android")), expected);
    assert.deepEqual(strip(await events("ios")), expected);
    await context.close();

    // Desktop: a bank page on its own origin framing a token issued for it.
    const framed = await token({ cardId: card, parentOrigin: running.a });
    const desktop = await browser.newContext();
    const host = await desktop.newPage();
    await host.goto(running.hostUrl(running.a, framed.url));
    await host.frameLocator("iframe").locator(".pinframe-error").waitFor();
    await host.waitForFunction(() => window.__messages.some((m) => m.data.event === "view_pin_error"));
    await host.evaluate(() => window.__settle());
    const messages = await host.evaluate(() => window.__messages.filter((m) => m.data.event !== "resize"));
    assert.deepEqual(
      messages,
      expected.map((data) => ({ data, origin: running.server.url })),
    );
    await desktop.close();
  });
});

/// `pinframe_tokens_total{event="issued"}` from the service's metrics.
async function tokensIssued() {
  const text = await (await fetch(`${running.server.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("pinframe_tokens_total") && l.includes('event="issued"'));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("the demo page", () => {
  test("changes theme and language without a token, and its Submit waits while busy", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${running.server.url}/demo/`);
    const first = await tokensIssued();
    await page.selectOption("#theme", "harbour");
    await page.locator("#status", { hasText: "Harbour" }).waitFor();
    await page.selectOption("#language", "fi");
    await page.selectOption("#theme", "default");
    await page.locator("#status", { hasText: "Default" }).waitFor();
    assert.equal(await tokensIssued(), first, "a theme or language change issued a token");

    // The host's Submit: off until the form is valid, off again while the submission is on its way.
    const submit = page.locator("#host-set-pin");
    const slow = [];
    await page.route("**/api/v1/pin/set", async (route) => {
      slow.push(route);
    });
    await page.click("#set-pin");
    const frame = page.frameLocator("iframe");
    await frame.locator("#pinframe-new-pin").waitFor();
    assert.equal((await tokensIssued()) - first, 1, "the set page's link is the only token issued");
    assert.ok(await submit.isDisabled(), "Submit before anything was typed");
    await frame.locator("#pinframe-new-pin").pressSequentially("2580");
    await frame.locator("#pinframe-confirm-pin").pressSequentially("2580");
    await page.waitForFunction(() => !document.getElementById("host-set-pin").disabled);
    await submit.click();
    await page.waitForFunction(() => document.getElementById("host-set-pin").disabled);
    await frame.locator(".pinframe-submit[disabled]").waitFor();
    assert.equal(slow.length, 1, "one submission");
    await slow[0].continue();
    await page.locator('#events li[data-event="set_pin_success"]').waitFor();
    assert.ok(await submit.isDisabled(), "Submit after the PIN was set");
    await context.close();
  });
});
