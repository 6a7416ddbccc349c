// What an integrator (and a cardholder who lands on a wrong link) sees when something is wrong,
// against the running binary and headless Chromium: the HTML error page under /pin/ (translated,
// styled under its own strict CSP, JSON only when asked for), JSON 404s and 405s under /api/,
// body errors that name the member, 401 challenges that name the scheme, and the warning of
// `pinframe issuer add` without an origin.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO, bin, serverAndBrowser } from "./harness.mjs";

const running = serverAndBrowser();
const basic = `Basic ${Buffer.from(`${DEMO.clientId}:${DEMO.clientSecret}`).toString("base64")}`;

/// A page in a fresh context whose browser language is `locale` (so its Accept-Language), recording
/// every console error, CSP refusal and uncaught exception.
async function pageIn(locale) {
  const context = await running.browser.newContext({ locale });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy|Refused to/i.test(m.text())) {
      errors.push(`${m.text()} @ ${m.location().url}`);
    }
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return { context, page, errors };
}

/// The console errors other than Chromium's note of the 404 status of the pages at `urls`
/// themselves, the status those pages are meant to have.
const unexpected = (errors, urls) =>
  errors.filter((e) => !urls.some((url) => e === `Failed to load resource: the server responded with a status of 404 (Not Found) @ ${url}`));

describe("a path under /pin/ that is no widget page", () => {
  for (const [locale, heading, lang] of [
    ["fi-FI", "Sivua ei löytynyt", "fi"],
    ["en-GB", "Page not found", "en"],
  ]) {
    test(`is an HTML page in the browser's language (${locale}), styled under its CSP`, async () => {
      const { context, page, errors } = await pageIn(locale);
      const urls = [`/pin/NOSUCHISSU/view`, `/pin/${DEMO.issuer}/edit`].map((path) => `${running.server.url}${path}`);
      for (const url of urls) {
        const response = await page.goto(url);
        assert.equal(response.status(), 404);
        assert.equal(response.headers()["content-type"], "text/html; charset=utf-8");
        const csp = response.headers()["content-security-policy"];
        assert.match(csp, /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*';/);
        assert.ok(!csp.includes("unsafe-inline"), csp);
        assert.equal(await page.evaluate(() => document.contentType), "text/html");
        const h1 = page.locator("h1");
        assert.ok(await h1.isVisible(), "the heading is visible");
        assert.equal(await h1.textContent(), heading);
        assert.equal(await page.locator("html").getAttribute("lang"), lang);
        assert.equal(await page.title(), heading);
        const text = await page.locator("body").innerText();
        assert.ok(!text.trim().startsWith("{") && !text.includes('"error"'), `JSON on the page: ${text}`);
        for (const leak of ["NOSUCHISSU", DEMO.issuer, "/pin/", "not_found"]) {
          assert.ok(!(await page.content()).includes(leak), `the page shows ${leak}`);
        }
        // The stylesheet applied: the CSP's hash let it through.
        const radius = await page.locator("main").evaluate((m) => getComputedStyle(m).borderTopLeftRadius);
        assert.equal(radius, "12px");
      }
      assert.deepEqual(unexpected(errors, urls), [], "no console errors, no CSP refusals");
      await context.close();
    });
  }

  test("is right to left in Arabic", async () => {
    const { context, page, errors } = await pageIn("ar");
    const url = `${running.server.url}/pin/NOSUCHISSU/view`;
    await page.goto(url);
    assert.equal(await page.locator("html").getAttribute("lang"), "ar");
    assert.equal(await page.locator("html").getAttribute("dir"), "rtl");
    assert.equal(await page.locator("h1").evaluate((h) => getComputedStyle(h).direction), "rtl");
    assert.deepEqual(unexpected(errors, [url]), []);
    await context.close();
  });

  test("is the JSON error body when Accept asks for JSON", async () => {
    const response = await fetch(`${running.server.url}/pin/NOSUCHISSU/view`, {
      headers: { accept: "application/json", "accept-language": "fi" },
    });
    assert.equal(response.status, 404);
    assert.equal(response.headers.get("content-type"), "application/json");
    const body = await response.json();
    assert.equal(body.error, "not_found");
    assert.equal(typeof body.message, "string");
  });
});

describe("the JSON routes", () => {
  test("answer a 405 with Allow and a JSON body, and an unknown path with a JSON 404", async () => {
    const wrong = await fetch(`${running.server.url}/api/v1/pin/view`, { method: "DELETE" });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "POST");
    assert.equal(wrong.headers.get("content-type"), "application/json");
    assert.equal((await wrong.json()).error, "method_not_allowed");

    const missing = await fetch(`${running.server.url}/api/v1/no/such/thing`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("content-type"), "application/json");
    assert.equal((await missing.json()).error, "not_found");
  });

  test("name the member a body gets wrong, without its value", async () => {
    const ask = (body) =>
      fetch(`${running.server.url}/api/v1/pin-control/tokens`, {
        method: "POST",
        headers: { authorization: basic, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    for (const [body, code, field] of [
      [{ action: "VIEW_PIN" }, "invalid_body", "cardId"],
      [{ cardId: 7391, action: "VIEW_PIN" }, "invalid_body", "cardId"],
      [{ cardId: DEMO.card, action: "VIEW_PIN", hideAfterSeconds: "7391" }, "invalid_body", "hideAfterSeconds"],
      [{ cardId: DEMO.card, action: "PEEK_7391" }, "invalid_action", "action"],
      [{ cardId: DEMO.card, action: "VIEW_PIN", language: "x7391" }, "invalid_language", "language"],
    ]) {
      const response = await ask(body);
      assert.equal(response.status, 400);
      const text = await response.text();
      const answer = JSON.parse(text);
      assert.equal(answer.error, code, text);
      assert.equal(answer.field, field, text);
      assert.match(answer.message, new RegExp(`^${field}`), text);
      assert.ok(!text.includes("7391"), `the value is echoed: ${text}`);
    }
  });

  test("challenge with the scheme each route takes, and hint at it when the other one is sent", async () => {
    const tokens = await fetch(`${running.server.url}/api/v1/pin-control/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cardId: DEMO.card, action: "VIEW_PIN" }),
    });
    assert.equal(tokens.status, 401);
    assert.match(tokens.headers.get("www-authenticate"), /^Basic realm="pinframe"/);

    // The Register API takes an access token; Basic with the right client credentials is refused,
    // with a hint.
    const register = await fetch(`${running.server.url}/issuers/${DEMO.issuer}/consumers/hint-consumer`, {
      method: "PUT",
      headers: { authorization: basic },
    });
    assert.equal(register.status, 401);
    assert.equal(register.headers.get("www-authenticate"), 'Bearer realm="pinframe"');
    const hint = await register.json();
    assert.equal(hint.error, "unauthorized");
    assert.match(hint.message, /Bearer/);
    assert.match(hint.message, /\/oauth2\/token/);

    // A wrong client id and a wrong secret get the same answer.
    const wrong = async (id, secret) => {
      const response = await fetch(`${running.server.url}/api/v1/pin-control/tokens`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ cardId: DEMO.card, action: "VIEW_PIN" }),
      });
      assert.equal(response.status, 401);
      return response.text();
    };
    assert.equal(await wrong("no-such-client", DEMO.clientSecret), await wrong(DEMO.clientId, "not-the-secret"));
  });
});

describe("pinframe issuer add", () => {
  test("without --origin succeeds, warns that no page can frame the widget, and says how to add one", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pinframe-e2e-issuer-"));
    try {
      const run = (...args) => spawnSync(bin, ["issuer", ...args, "--data-dir", dataDir], { encoding: "utf8" });
      const added = run("add", "--id", "NOORIGIN01");
      assert.equal(added.status, 0, added.stderr);
      const printed = JSON.parse(added.stdout);
      assert.equal(printed.issuerId, "NOORIGIN01");
      assert.deepEqual(printed.origins, []);
      assert.match(added.stderr, /^warning: .*no origin.*frame/m);
      assert.match(added.stderr, /pinframe issuer add-origin --id NOORIGIN01 --origin /);
      assert.ok(!added.stderr.includes(printed.clientSecret), "the secret is on stderr");

      const later = run("add-origin", "--id", "NOORIGIN01", "--origin", "https://bank.example");
      assert.equal(later.status, 0, later.stderr);
      assert.deepEqual(JSON.parse(later.stdout).origins, ["https://bank.example"]);

      const framed = run("add", "--id", "WITHORIGIN", "--origin", "https://bank.example");
      assert.equal(framed.status, 0, framed.stderr);
      assert.ok(!framed.stderr.includes("warning"), framed.stderr);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
