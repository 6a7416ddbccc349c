// Regenerates docs/screenshots/demo.png, the picture of the demo on the book's first page: /demo/ after "View PIN".
// Usage: node tests/e2e/demo-screenshot.mjs
import { resolve } from "node:path";
import { launchBrowser, startServer } from "./harness.mjs";

const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 820 } });
  await page.goto(`${server.url}/demo/`);
  await page.click("#view-pin");
  await page.frameLocator("iframe").locator(".pinframe-pin").waitFor();
  await page.locator('#events li[data-event="view_pin_success"]').waitFor();
  await page.screenshot({ path: resolve(import.meta.dirname, "../../docs/screenshots/demo.png") });
} finally {
  await browser.close();
  await server.stop();
}
