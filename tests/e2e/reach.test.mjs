// The widget's reach, end to end against the running binary in headless Chromium: every control
// is a touch target of at least 44 by 44 CSS pixels; nothing needs a horizontal scroll at 320 and
// at 188 CSS pixels wide (a 375 pixel phone at 200% zoom), with long words and messages showing;
// the dark appearance follows the system or the host's `theme=light|dark`, passes axe-core
// (colour contrast included) like the light one, and yields to an issuer theme; Arabic lays the
// page out right to left while the PIN and its inputs stay left to right. It prints what it
// measured.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { DEMO, issueToken, serverAndBrowser } from "./harness.mjs";

const root = resolve(import.meta.dirname, "../..");
const require = createRequire(join(root, "tools/package.json"));
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const running = serverAndBrowser();
const basicAuth = `Basic ${Buffer.from(`${DEMO.clientId}:${DEMO.clientSecret}`).toString("base64")}`;
const MIN_TARGET = 44;
const INTERACTIVE = 'button, input, a[href], [role=button], [tabindex]:not([tabindex="-1"]), select, textarea';

/// A fresh context (axe-core may be injected past the page's CSP) and page.
async function openPage(options = {}) {
  const context = await running.browser.newContext({ viewport: { width: 480, height: 640 }, bypassCSP: true, ...options });
  return { context, page: await context.newPage() };
}

/// A token's widget URL with `extra` (`theme=dark`) added to its query; the token stays in the fragment.
function withQuery(url, extra) {
  if (!extra) return url;
  const [base, fragment] = url.split("#");
  return `${base}${base.includes("?") ? "&" : "?"}${extra}#${fragment}`;
}

/// Loads `url` as a new document: a URL that differs from the page's only in its fragment would
/// otherwise not load the widget again.
async function load(page, url) {
  await page.goto("about:blank");
  await page.goto(url);
}

/// Opens a widget page for a fresh token, as a webview does, and waits for the PIN or the form.
async function openWidget(page, body = {}, query = "") {
  const { url } = await issueToken(running.server.url, body);
  await load(page, withQuery(url, query));
  await page.locator(body.action === "SET_PIN" ? "#pinframe-new-pin" : ".pinframe-pin").waitFor();
}

/// The set page with a message under each field: a sequential new PIN, an unfinished confirmation.
async function setWithMessages(page, body = {}, query = "") {
  await openWidget(page, { action: "SET_PIN", ...body }, query);
  await page.locator("#pinframe-new-pin").pressSequentially("1234");
  await page.locator("#pinframe-confirm-pin").pressSequentially("12");
  await page.waitForFunction(() => document.getElementById("pinframe-new-pin-message").textContent.length > 0);
}

/// A view whose request does not get through: the failure, with Try again.
async function viewFailure(page, body = {}) {
  const { url } = await issueToken(running.server.url, body);
  await page.route("**/api/v1/pin/view", (route) => route.abort("internetdisconnected"));
  await load(page, url);
  await page.locator(".pinframe-retry").waitFor();
  await page.unroute("**/api/v1/pin/view");
}

/// A set whose submission does not get through: the form, its failure and Try again.
async function setFailure(page, body = {}) {
  await openWidget(page, { action: "SET_PIN", ...body });
  await page.locator("#pinframe-new-pin").pressSequentially("2580");
  await page.locator("#pinframe-confirm-pin").pressSequentially("2580");
  await page.route("**/api/v1/pin/set", (route) => route.abort("internetdisconnected"));
  await page.locator(".pinframe-submit").click();
  await page.locator(".pinframe-retry").waitFor();
  await page.unroute("**/api/v1/pin/set");
}

/// Every visible interactive element with its size.
const targets = (page) =>
  page.evaluate((selector) => {
    return [...document.querySelectorAll(selector)]
      .filter((el) => {
        const style = getComputedStyle(el);
        const box = el.getBoundingClientRect();
        return style.display !== "none" && style.visibility !== "hidden" && box.width > 0 && box.height > 0;
      })
      .map((el) => {
        const box = el.getBoundingClientRect();
        return { what: `${el.tagName.toLowerCase()}.${el.className}`, width: box.width, height: box.height };
      });
  }, INTERACTIVE);

/// Whether the page scrolls sideways.
const widths = (page) =>
  page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));

/// axe-core's violations (WCAG 2.1 A and AA, best practices; colour contrast included).
async function axe(page) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }),
  );
  const contrast = [...result.passes, ...result.violations].find((rule) => rule.id === "color-contrast");
  return {
    violations: result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(", ")}`),
    contrastChecked: contrast?.nodes.length ?? 0,
  };
}

/// WCAG relative luminance of a computed colour (`rgb(r, g, b)`).
function luminance(color) {
  const [r, g, b] = color.match(/[\d.]+/g).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

const colours = (page) =>
  page.evaluate(() => {
    const body = getComputedStyle(document.body);
    return {
      background: body.backgroundColor,
      text: body.color,
      title: getComputedStyle(document.querySelector(".pinframe-title")).color,
    };
  });

describe("touch targets", () => {
  const pages = {
    view: (page) => openWidget(page, { allowCopy: true }),
    set: (page) => setWithMessages(page),
    "view failure, Try again": (page) => viewFailure(page),
    "set failure, Try again": (page) => setFailure(page),
  };
  for (const width of [320, 188]) {
    for (const [name, open] of Object.entries(pages)) {
      test(`${name} at ${width} px: every control is at least ${MIN_TARGET} by ${MIN_TARGET} CSS px`, async () => {
        const { context, page } = await openPage({ viewport: { width, height: 640 } });
        await open(page);
        const found = await targets(page);
        assert.ok(found.length >= (name.startsWith("view failure") ? 1 : 2), JSON.stringify(found));
        if (name.includes("Try again")) assert.ok(found.some((t) => t.what.includes("pinframe-retry")));
        const small = found.filter((t) => t.width < MIN_TARGET || t.height < MIN_TARGET);
        const smallest = Math.min(...found.map((t) => Math.min(t.width, t.height)));
        console.log(`targets ${name} @${width}px: ${found.length} controls, smallest side ${smallest.toFixed(1)} px;`,
          found.map((t) => `${t.what} ${t.width.toFixed(0)}x${t.height.toFixed(0)}`).join(", "));
        assert.deepEqual(small, [], `${name} at ${width} px`);
        await context.close();
      });
    }
  }
});

describe("reflow", () => {
  for (const width of [320, 188]) {
    for (const lang of ["en", "fi", "de", "ar"]) {
      test(`${lang} at ${width} px: no horizontal scroll on the view and set pages and their failures`, async () => {
        const { context, page } = await openPage({ viewport: { width, height: 640 } });
        const check = async (what) => {
          const { scrollWidth, clientWidth } = await widths(page);
          console.log(`reflow ${lang} ${what} @${width}px: scrollWidth ${scrollWidth} / clientWidth ${clientWidth}`);
          assert.equal(clientWidth, width);
          assert.ok(scrollWidth <= clientWidth, `${lang} ${what} at ${width}: ${scrollWidth} > ${clientWidth}`);
        };
        await openWidget(page, { language: lang });
        assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin, "the PIN is shown");
        await check("view");
        await setWithMessages(page, { language: lang });
        await check("set with messages");
        await page.locator(".pinframe-toggle").click();
        await check("set with messages, PIN shown");
        await setFailure(page, { language: lang });
        await check("set failure");
        await viewFailure(page, { language: lang });
        await check("view failure");
        await context.close();
      });
    }
  }
});

describe("appearance", () => {
  for (const colorScheme of ["light", "dark"]) {
    for (const lang of ["en", "ar"]) {
      test(`${colorScheme}, ${lang}: the page follows the system, and axe-core finds no violation`, async () => {
        const { context, page } = await openPage({ colorScheme });
        const check = async (what) => {
          const seen = await colours(page);
          const [bg, fg] = [luminance(seen.background), luminance(seen.text)];
          const { violations, contrastChecked } = await axe(page);
          console.log(`appearance ${colorScheme} ${lang} ${what}: background ${seen.background} (L ${bg.toFixed(3)}),` +
            ` text ${seen.text} (L ${fg.toFixed(3)}), axe violations ${violations.length}, contrast checked on ${contrastChecked} nodes`);
          if (colorScheme === "dark") {
            assert.ok(bg < 0.2 && fg > 0.5, `${what}: ${JSON.stringify(seen)}`);
          } else {
            assert.ok(bg > 0.8 && fg < 0.2, `${what}: ${JSON.stringify(seen)}`);
          }
          assert.ok(contrastChecked > 0, "axe checked colour contrast");
          assert.deepEqual(violations, [], `${colorScheme} ${lang} ${what}`);
          assert.equal(await page.getAttribute("html", "lang"), lang);
          assert.equal(await page.getAttribute("html", "dir"), lang === "ar" ? "rtl" : "ltr");
        };
        await openWidget(page, { language: lang });
        await check("view");
        // The PIN reads left to right in every language.
        assert.equal(await page.locator(".pinframe-pin").evaluate((el) => getComputedStyle(el).direction), "ltr");
        assert.equal(await page.locator(".pinframe-pin").textContent(), DEMO.pin);
        const order = await page.locator(".pinframe-digit").evaluateAll((digits) => digits.map((d) => d.getBoundingClientRect().left));
        assert.deepEqual(order, [...order].sort((a, b) => a - b), "the digits run left to right");
        await setWithMessages(page, { language: lang });
        await check("set, with messages");
        for (const id of ["#pinframe-new-pin", "#pinframe-confirm-pin"]) {
          assert.equal(await page.locator(id).evaluate((el) => getComputedStyle(el).direction), "ltr", id);
        }
        assert.equal(await page.locator("#pinframe-new-pin").inputValue(), "1234");
        await viewFailure(page, { language: lang });
        await check("view failure");
        await context.close();
      });
    }
  }

  test("ar: the layout mirrors, the controls sit at the right edge", async () => {
    const { context, page } = await openPage();
    const inset = () =>
      page.evaluate(() => {
        const main = document.querySelector("main").getBoundingClientRect();
        const pick = (selector) => {
          const box = document.querySelector(selector).getBoundingClientRect();
          return { left: box.left - main.left, right: main.right - box.right };
        };
        return { title: pick(".pinframe-title"), reveal: pick(".pinframe-reveal"), pin: pick(".pinframe-pin") };
      });
    await openWidget(page, { language: "en" });
    const ltr = await inset();
    await openWidget(page, { language: "ar" });
    const rtl = await inset();
    console.log(`mirroring: en ${JSON.stringify(ltr)}; ar ${JSON.stringify(rtl)}`);
    for (const what of ["reveal", "pin"]) {
      assert.ok(ltr[what].left < ltr[what].right, `en ${what}`);
      assert.ok(rtl[what].right < rtl[what].left, `ar ${what}`);
      assert.ok(Math.abs(rtl[what].right - ltr[what].left) < 1, `ar ${what}: the same inset, on the other side`);
    }
    await context.close();
  });

  test("theme=dark under a light system is dark; theme=light under a dark one is light; others are ignored", async () => {
    const cases = [
      { colorScheme: "light", query: "theme=dark", dark: true, className: "pinframe-dark" },
      { colorScheme: "dark", query: "theme=light", dark: false, className: "pinframe-light" },
      { colorScheme: "dark", query: "theme=blue", dark: true, className: "" },
      { colorScheme: "light", query: "theme=DARK", dark: false, className: "" },
    ];
    for (const { colorScheme, query, dark, className } of cases) {
      const { context, page } = await openPage({ colorScheme });
      for (const action of ["VIEW_PIN", "SET_PIN"]) {
        await openWidget(page, { action, language: "de" }, query);
        assert.equal(await page.evaluate(() => document.documentElement.className), className);
        const seen = await colours(page);
        const bg = luminance(seen.background);
        const { violations } = await axe(page);
        console.log(`${query} under ${colorScheme} (${action}): background ${seen.background} (L ${bg.toFixed(3)}),` +
          ` axe violations ${violations.length}`);
        assert.equal(bg < 0.2, dark, `${query} under ${colorScheme}: ${JSON.stringify(seen)}`);
        assert.deepEqual(violations, [], `${query} under ${colorScheme}`);
      }
      await context.close();
    }
  });

  test("an issuer theme's colours win over the dark appearance", async () => {
    const put = await fetch(`${running.server.url}/api/v1/issuers/${DEMO.issuer}/theme`, {
      method: "PUT",
      headers: { authorization: basicAuth, "content-type": "text/css" },
      body: ":root { --pinframe-bg: #fdf6e3; --pinframe-fg: #1f2a30 }\n.pinframe-title { color: rgb(106, 27, 154) }\n" +
        ".pinframe-dark .pinframe-digit { border-color: rgb(1, 2, 3) }",
    });
    assert.equal(put.status, 200);
    assert.deepEqual((await put.json()).dropped, []);
    try {
      for (const query of ["", "theme=dark"]) {
        const { context, page } = await openPage({ colorScheme: "dark" });
        await openWidget(page, {}, query);
        const seen = await colours(page);
        console.log(`issuer theme, dark ${query || "(system)"}: ${JSON.stringify(seen)}`);
        assert.deepEqual(seen, { background: "rgb(253, 246, 227)", text: "rgb(31, 42, 48)", title: "rgb(106, 27, 154)" });
        const border = await page.locator(".pinframe-digit").first().evaluate((el) => getComputedStyle(el).borderTopColor);
        assert.equal(border, query ? "rgb(1, 2, 3)" : "rgb(169, 178, 191)", "the issuer can aim at the host's choice");
        await context.close();
      }
    } finally {
      const gone = await fetch(`${running.server.url}/api/v1/issuers/${DEMO.issuer}/theme`, {
        method: "DELETE",
        headers: { authorization: basicAuth },
      });
      assert.equal(gone.status, 204);
    }
  });
});
