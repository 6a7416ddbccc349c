// Screenshots of the built book as the service serves it: its first page (docs/screenshots/book.png)
// and the service's API reference (docs/screenshots/book-api.png), in headless Chromium.
// Usage, after `make docs` and a debug build: node tools/book-screenshots.mjs
import { join, resolve } from "node:path";
import { launchBrowser, startServer } from "../tests/e2e/harness.mjs";

const root = resolve(import.meta.dirname, "..");
const server = await startServer({ args: ["--docs-dir", join(root, "target", "book")] });
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(`${server.url}/docs/`);
  await page.locator("main h1").first().waitFor();
  await page.screenshot({ path: join(root, "docs", "screenshots", "book.png") });
  await page.goto(`${server.url}/docs/api/service.html`);
  // Redoc hydrates the prerendered page; wait for an operation's heading.
  await page.getByText("/api/v1/pin-control/tokens").first().waitFor();
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: join(root, "docs", "screenshots", "book-api.png") });
} finally {
  await browser.close();
  await server.stop();
}
