// Time from navigation start to the PIN on screen, in headless Chromium on loopback, against the
// running binary. Each load gets a fresh browser context (no cache) and a fresh token.
// Usage: node tests/e2e/time-to-pin.mjs [loads]   (PINFRAME_BIN picks the binary; make time-to-pin)
import { issueToken, launchBrowser, startServer } from "./harness.mjs";

const loads = Number(process.argv[2] ?? 20);
const server = await startServer();
const browser = await launchBrowser();
const times = [];
try {
  for (let i = 0; i < loads; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.querySelector(".pinframe-pin")) {
          window.__pinVisibleAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });
    const { url } = await issueToken(server.url, {});
    await page.goto(url);
    await page.locator(".pinframe-pin").waitFor();
    times.push(await page.evaluate(() => window.__pinVisibleAt));
    await context.close();
  }
} finally {
  await browser.close();
  await server.stop();
}
times.sort((a, b) => a - b);
const median = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
console.log(`time to PIN over ${times.length} loads: median ${median.toFixed(1)} ms, min ${times[0].toFixed(1)} ms, max ${times.at(-1).toFixed(1)} ms`);
console.log(JSON.stringify({ loads: times.length, time_to_pin_ms_median: Number(median.toFixed(1)) }));
