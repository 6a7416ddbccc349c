// The widget's size budget, against the running binary: a first load of a PIN page, as Chromium
// makes it (the page, the loader, the JS, the wasm, the CSS and, in a language other than
// English, its catalogue), transfers at most BUDGET bytes in brotli, as the service serves each
// asset to a browser that accepts it. The same count as the bench's widget_transfer_bytes_brotli
// (tests/e2e/transfer.mjs); the sizes are deterministic, so going over is a regression, not noise.
// Prints each asset's figures.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { issueToken, serverAndBrowser } from "./harness.mjs";
import { firstLoadUrls, formatSizes, transferSizes } from "./transfer.mjs";

/// The target is 90,000 bytes (make bench reports it as missed while it is). Until the widget
/// reaches it, the guard holds the size measured when the budget was last set (125,869 B in
/// English, 127,017 B in Arabic, the largest catalogue), with a little room for build paths that
/// differ between machines, so that any real growth fails here and has to be argued for by
/// raising this figure.
const TARGET = 90_000;
const BUDGET = 127_500;
const running = serverAndBrowser();

describe("first-load transfer budget", () => {
  // English (compiled in; the bench's load), and Arabic, the largest catalogue fetched on demand.
  for (const language of [undefined, "ar"]) {
    test(`${language ?? "the default language"}: at most ${BUDGET} bytes in brotli`, async (t) => {
      const { url } = await issueToken(running.server.url, language ? { language } : {});
      const sizes = await transferSizes(await firstLoadUrls(running.browser, url));
      console.log(`first load, ${language ?? "default language"}:\n${formatSizes(sizes)}`);
      const files = sizes.assets.map((a) => a.file);
      for (const kind of [/\/pin\/DEMOISSUER\/view$/, /\/pinframe-loader-\w+\.js$/, /\/pinframe-widget-\w+\.js$/, /\.wasm$/, /\.css$/]) {
        assert.ok(files.some((file) => kind.test(file)), `the first load fetched ${kind}: ${files.join(", ")}`);
      }
      assert.equal(files.filter((file) => file.includes("/locale-")).length, language ? 1 : 0, files.join(", "));
      assert.ok(sizes.assets.every((a) => a.served === "br" || a.raw === a.br), "every asset worth it is served in brotli");
      assert.ok(sizes.brotli <= BUDGET, `the first load transfers ${sizes.brotli} bytes in brotli, over the budget of ${BUDGET}`);
      if (sizes.brotli > TARGET) t.diagnostic(`over the ${TARGET}-byte target by ${sizes.brotli - TARGET} bytes`);
    });
  }
});
