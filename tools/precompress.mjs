// Writes NAME.br beside each of the widget's wasm, JS and CSS files in a Trunk dist directory, at
// brotli's best quality (11), which takes too long for the service to do at every start. The
// service serves a .br file only if it decodes to the asset beside it.
// Usage: node tools/precompress.mjs dist
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";

const dir = process.argv[2] ?? "dist";
for (const name of readdirSync(dir).filter((n) => /\.(wasm|js|css)$/.test(n))) {
  const bytes = readFileSync(join(dir, name));
  const brotli = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_LGWIN]: 22,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  writeFileSync(join(dir, `${name}.br`), brotli);
}
