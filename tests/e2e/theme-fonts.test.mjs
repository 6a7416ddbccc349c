// The per-digit font drill, end to end against the running binary in headless Chromium: an issuer
// theme must not be able to turn the shown PIN into requests. The drill as found (one font per
// digit and place, chosen by `unicode-range`) is refused at upload; then the strongest theme built
// only from what the service accepts is applied, the PIN is viewed under two different PINs (of
// different lengths), and every request the page makes is recorded: the two lists must be the same,
// and every font the theme names is fetched whatever the digits, so no URL spells a digit's place.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEMO, bearerPost, issueToken, jose, serverAndBrowser } from "./harness.mjs";

const root = resolve(import.meta.dirname, "../..");
// Made by tools/make-test-fonts.py (fontTools + brotli): every digit, or the digit 3 only.
const fixture = (name) => readFileSync(join(root, "crates/pinframe/tests/fixtures/fonts", name));
const DIGITS_FONT = fixture("digits.woff2");
const DIGIT_3_FONT = fixture("digit-3.woff2");

const running = serverAndBrowser();
const basicAuth = `Basic ${Buffer.from(`${DEMO.clientId}:${DEMO.clientSecret}`).toString("base64")}`;
const issuerApi = () => `${running.server.url}/api/v1/issuers/${DEMO.issuer}`;

async function put(path, contentType, body) {
  const response = await fetch(`${issuerApi()}${path}`, {
    method: "PUT",
    headers: { authorization: basicAuth, "content-type": contentType },
    body,
  });
  return { status: response.status, body: await response.json() };
}
const putFont = (name, bytes) => put(`/fonts/${name}`, "font/woff2", bytes);
const putTheme = (css) => put("/theme", "text/css", css);
const fontUrl = (name) => `/pin/fonts/${DEMO.issuer}/${name}`;

/// Sets the demo card's PIN as an issuer's outside client would (panva jose encrypts it).
async function setPin(pin) {
  const { token } = await issueToken(running.server.url, { action: "SET_PIN" });
  const post = (path, body) => bearerPost(running.server.url, path, token, body);
  const session = await (await post("/api/v1/pin/session")).json();
  const key = await jose.importJWK(session.encryptionJwk, "ECDH-ES");
  const encryptedPin = await new jose.CompactEncrypt(new TextEncoder().encode(JSON.stringify({ pin })))
    .setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM" })
    .encrypt(key);
  assert.equal((await post("/api/v1/pin/set", { encryptedPin })).status, 204);
}

/// Opens a widget page top-level (as a webview does) in a fresh context, lets `act` drive it, waits
/// until the page is quiet, and returns every URL it requested (the fragment, which holds the
/// token, cut off), sorted, with what `act` returned.
async function requestsOf(body, act) {
  const context = await running.browser.newContext();
  const page = await context.newPage();
  const requests = [];
  page.on("request", (r) => requests.push(r.url().split("#")[0]));
  const { url } = await issueToken(running.server.url, body);
  await page.goto(url);
  const seen = await act(page);
  await page.evaluate(() => document.fonts.ready.then(() => true));
  await page.waitForLoadState("networkidle");
  const faces = await page.evaluate(() => [...document.fonts].map((f) => f.status));
  await context.close();
  return { requests: requests.sort(), seen, faces };
}

const viewPin = () =>
  requestsOf({}, async (page) => {
    await page.locator(".pinframe-pin").waitFor();
    return page.locator(".pinframe-pin").textContent();
  });

const PLACES = 6; // the demo issuer's longest PIN
const place = (k) => [".pinframe-digit:first-child", ...Array(k - 1).fill(".pinframe-digit")].join(" + ");

describe("the per-digit font drill", () => {
  test("as found is refused: one-digit and fake fonts, and unicode-range", async () => {
    // Forty fonts of one digit each, one per digit and place: refused, they lack the other digits.
    for (let k = 1; k <= 4; k++) {
      for (let d = 0; d <= 9; d++) {
        const answer = await putFont(`p${k}d${d}.woff2`, DIGIT_3_FONT);
        assert.equal(answer.status, 400);
        assert.equal(answer.body.error, "font_missing_digits");
      }
    }
    // A signature and nothing else: refused.
    const fake = await putFont("fake.woff2", Buffer.concat([Buffer.from("wOF2"), Buffer.alloc(60)]));
    assert.deepEqual([fake.status, fake.body.error], [400, "invalid_font"]);
    assert.equal((await fetch(`${running.server.url}${fontUrl("p1d3.woff2")}`)).status, 404);

    // The theme: unicode-range picks the font of each digit, nth-child the place. Even with fonts
    // the service accepts, unicode-range refuses it whole.
    for (let d = 0; d <= 9; d++) assert.equal((await putFont(`d${d}.woff2`, DIGITS_FONT)).status, 201);
    const rules = [];
    for (let k = 1; k <= 4; k++) {
      const families = [];
      for (let d = 0; d <= 9; d++) {
        rules.push(`@font-face { font-family: P${k}D${d}; src: url(${fontUrl(`d${d}.woff2`)}); unicode-range: U+003${d} }`);
        families.push(`P${k}D${d}`);
      }
      rules.push(`.pinframe-digit:nth-child(${k}) { font-family: ${families.join(", ")} }`);
    }
    const answer = await putTheme(rules.join("\n"));
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error, "unsafe_theme");
    assert.match(answer.body.message, /^The theme is refused .*line 1, column \d+: unicode-range is not allowed/);
    const stored = await fetch(`${issuerApi()}/theme`, { headers: { authorization: basicAuth } });
    assert.equal(stored.status, 404, "nothing was stored");
  });

  test("built from what is accepted, makes no request that depends on the PIN", async () => {
    // One font per digit and place, as the drill had, but each a real font of every digit (the
    // only kind the service takes), chained in font-family fallback lists per place; plus a font
    // for the last digit only, and one for the set page's messages (shown for some PINs only).
    const names = [];
    const rules = [];
    for (let k = 1; k <= PLACES; k++) {
      const families = [];
      for (let d = 0; d <= 9; d++) {
        names.push(`p${k}d${d}.woff2`);
        rules.push(`@font-face { font-family: P${k}D${d}; src: url(${fontUrl(`p${k}d${d}.woff2`)}) format("woff2") }`);
        families.push(`P${k}D${d}`);
      }
      rules.push(`${place(k)} { font-family: ${families.join(", ")}, monospace }`);
    }
    for (const [name, selector] of [["last", ".pinframe-digit:last-child"], ["message", ".pinframe-message"]]) {
      names.push(`${name}.woff2`);
      rules.push(`@font-face { font-family: ${name}; src: url(${fontUrl(`${name}.woff2`)}) }`);
      rules.push(`${selector} { font-family: ${name}, monospace }`);
    }
    for (const name of names) assert.equal((await putFont(name, DIGITS_FONT)).status, 201, name);
    const theme = await putTheme(rules.join("\n"));
    assert.equal(theme.status, 200);
    assert.deepEqual(theme.body.dropped, [], "the whole theme is kept");

    // Two PINs: different digits in every place, and different lengths.
    const views = [];
    for (const pin of ["2468", "135790"]) {
      await setPin(pin);
      views.push({ pin, ...(await viewPin()) });
    }
    for (const view of views) assert.equal(view.seen, view.pin, "the PIN was shown");
    assert.deepEqual(views[0].requests, views[1].requests, "the same requests for either PIN");
    for (const view of views) {
      // Chromium's own font sanitiser (OTS) took every font: all loaded, none failed.
      assert.equal(view.faces.length, names.length);
      assert.ok(view.faces.every((status) => status === "loaded"), view.faces.join());
      // Every font the theme names was fetched, whatever the digits: no URL spells a place.
      const fonts = view.requests.filter((url) => url.includes("/pin/fonts/")).map((url) => url.split("/").pop());
      assert.deepEqual([...new Set(fonts)].sort(), [...names].sort(), `PIN of ${view.pin.length}`);
    }

    // The set page: a PIN that breaks a rule (a message appears in the theme's font) and one that
    // does not, typed in clear.
    const typed = [];
    for (const pin of ["1111", "1357"]) {
      typed.push(
        await requestsOf({ action: "SET_PIN" }, async (page) => {
          await page.locator("#pinframe-new-pin").waitFor();
          await page.locator(".pinframe-toggle").click();
          await page.locator("#pinframe-new-pin").pressSequentially(pin);
          await page.locator("#pinframe-confirm-pin").pressSequentially(pin);
          return page.locator(".pinframe-message").first().textContent();
        }),
      );
    }
    assert.notEqual(typed[0].seen, "", "the weak PIN shows a message");
    assert.equal(typed[1].seen, "", "the other does not");
    assert.deepEqual(typed[0].requests, typed[1].requests, "the same requests for either typed PIN");
  });
});
