// The book as the service serves it at /docs/ (`pinframe serve --docs-dir target/book`), in headless
// Chromium: the book's pages and the Redoc API reference work under the per-page
// Content-Security-Policy, with no console error and no CSP violation on any page.
// `make docs` builds target/book first; PINFRAME_BOOK_DIR names another built book.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { newPage, serverAndBrowser } from "./harness.mjs";

const root = resolve(import.meta.dirname, "../..");
const book = process.env.PINFRAME_BOOK_DIR ?? join(root, "target/book");

before(() => {
  if (!existsSync(join(book, "index.html"))) {
    throw new Error(`${book} has no built book: run make docs first`);
  }
});

const running = serverAndBrowser({ args: ["--docs-dir", book] });

/// A fresh page that records console errors, uncaught exceptions and `securitypolicyviolation`
/// events; `check()` asserts there were none.
async function watchedPage() {
  const { context, page } = await newPage(running.browser, () => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  const check = async () => {
    const violations = await page.evaluate(() => window.__violations);
    assert.deepEqual(violations, [], `CSP violations on ${page.url()}`);
    assert.deepEqual(errors, [], "console errors");
  };
  return { context, page, check };
}

test("/docs answers 308 to /docs/, whose page has a policy with hashed inline scripts only", async () => {
  const base = running.server.url;
  const redirect = await fetch(`${base}/docs`, { redirect: "manual" });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get("location"), "/docs/");
  const index = await fetch(`${base}/docs/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get("x-content-type-options"), "nosniff");
  const csp = index.headers.get("content-security-policy");
  assert.match(csp, /^default-src 'none'; script-src 'self'( 'sha256-[A-Za-z0-9+/]+=*')+; style-src /);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|worker-src|https?:/);
  assert.match(csp, /frame-ancestors 'none'/);
});

test("the book: its first page, a chapter link, and the search box", async () => {
  const { context, page, check } = await watchedPage();
  try {
    await page.goto(`${running.server.url}/docs/`);
    await page.locator("main h1").first().waitFor();
    assert.match(await page.title(), /pinframe/);
    const first = await page.locator("main h1").first().innerText();

    // A chapter from the sidebar: another page, its own heading.
    const link = page.locator("#mdbook-sidebar a[href$='.html']").nth(1);
    const href = await link.getAttribute("href");
    await Promise.all([page.waitForURL((url) => url.pathname.endsWith(href)), link.click()]);
    await page.locator("main h1").first().waitFor();
    assert.notEqual(await page.locator("main h1").first().innerText(), first, `${href} shows its own heading`);
    await check();

    // The search index loads on first use; "PIN" is on many pages.
    await page.locator("#mdbook-search-toggle").click();
    await page.locator("#mdbook-searchbar").fill("PIN");
    await page.locator("#mdbook-searchresults li").first().waitFor({ timeout: 10_000 });
    assert.match(await page.locator("#mdbook-searchresults-header").innerText(), /search results? for 'PIN'/);
    await check();
  } finally {
    await context.close();
  }
});

for (const [file, operation] of [
  ["service.html", "/oauth2/token"],
  ["cms.html", "/oauth2/token"],
]) {
  test(`the API reference api/${file} shows ${operation}`, async () => {
    const { context, page, check } = await watchedPage();
    try {
      const response = await page.goto(`${running.server.url}/docs/api/${file}`);
      assert.equal(response.status(), 200);
      const csp = response.headers()["content-security-policy"];
      assert.doesNotMatch(csp.match(/script-src [^;]*/)[0], /unsafe/, "scripts stay hashed");
      await page.getByText(operation).first().waitFor({ timeout: 20_000 });
      // Redoc's search runs in its worker.
      await page.locator("input[placeholder='Search...']").first().fill("token");
      await page.locator("[role=search] li, [data-role='search:results'] li").first().waitFor({ timeout: 10_000 });
      await page.waitForTimeout(500);
      await check();
    } finally {
      await context.close();
    }
  });
}
