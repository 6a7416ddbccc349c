// What the widget's first load transfers, shared by the size budget (weight.test.mjs) and the bench
// (bench/run.mjs, widget_transfer_bytes_*): the set of URLs a real first load fetches, found by
// loading the page in Chromium (the page itself and everything under /pin/assets/: the loader, the
// JS, the wasm, the CSS, and the catalogue of its language when that is not English), then each
// fetched again as the service serves it in each encoding.
import { get } from "node:http";

/// Every URL a first load of `url` (a widget link) fetches, in a fresh context, once the PIN shows.
export async function firstLoadUrls(browser, url) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const urls = new Set();
    page.on("response", (r) => (r.url().includes("/pin/assets/") || r.request().isNavigationRequest()) && urls.add(r.url()));
    await page.goto(url);
    await page.locator(".pinframe-pin").waitFor();
    return [...urls].sort();
  } finally {
    await context.close();
  }
}

/// The body of `url` as the server sends it with `Accept-Encoding: encoding`: its length, and the
/// Content-Encoding it came with.
export const encodedSize = (url, encoding) =>
  new Promise((ok, fail) => {
    get(url, { headers: { "accept-encoding": encoding } }, (response) => {
      let bytes = 0;
      response.on("data", (chunk) => (bytes += chunk.length));
      response.on("end", () => ok({ bytes, encoding: response.headers["content-encoding"] ?? "identity" }));
    }).on("error", fail);
  });

/// Each of `urls` in brotli, gzip and as it is: `{ assets: [{ file, raw, br, gzip, served }], brotli,
/// gzip }`, the last two the totals a browser accepting that encoding transfers.
export async function transferSizes(urls) {
  const assets = [];
  for (const url of urls) {
    const br = await encodedSize(url, "br");
    const gz = await encodedSize(url, "gzip");
    const raw = await encodedSize(url, "identity");
    assets.push({ file: new URL(url).pathname, raw: raw.bytes, br: br.bytes, gzip: gz.bytes, served: br.encoding });
  }
  const sum = (key) => assets.reduce((total, asset) => total + asset[key], 0);
  return { assets, brotli: sum("br"), gzip: sum("gzip") };
}

/// A table of `assets` for a test's or the bench's output.
export function formatSizes({ assets, brotli, gzip }) {
  const rows = assets.map((a) => `  ${a.file.padEnd(64)} ${String(a.raw).padStart(8)} raw ${String(a.br).padStart(8)} br ${String(a.gzip).padStart(8)} gzip`);
  return [...rows, `  ${"total".padEnd(64)} ${" ".repeat(12)} ${String(brotli).padStart(8)} br ${String(gzip).padStart(8)} gzip`].join("\n");
}
