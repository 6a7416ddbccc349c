// Finishes a Trunk dist directory for the service. First, index.html's preloads: Trunk gives the
// wasm's `<link rel="preload" as="fetch">` an `integrity`, which browsers ignore for that destination
// (Chromium says so in the console on every load; wasm-bindgen's fetch carries none either), so it is
// dropped there; the module preload, script and style keep theirs, which browsers check. Then it
// writes NAME.br beside each of the widget's wasm, JS and CSS files, at brotli's best quality (11),
// which takes too long for the service to do at every start. The service serves a .br file only if
// it decodes to the asset beside it.
// Usage: node tools/precompress.mjs dist
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";

/// Preload destinations whose `integrity` browsers check (HTML's "fetch a preload" honours it only
/// where the request itself would carry it: scripts and styles).
const SRI_DESTINATIONS = new Set(["script", "style"]);

/// `html` with the `integrity` of every `<link rel="preload">` to another destination removed.
function dropIgnoredIntegrity(html) {
  return html.replace(/<link\b[^>]*>/gi, (tag) => {
    const attribute = (name) => tag.match(new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, "i"));
    const value = (name) => {
      const m = attribute(name);
      return m ? (m[2] ?? m[3] ?? m[4]).toLowerCase() : undefined;
    };
    if (!value("rel")?.split(/\s+/).includes("preload") || SRI_DESTINATIONS.has(value("as"))) return tag;
    const integrity = attribute("integrity");
    return integrity ? tag.replace(integrity[0], "") : tag;
  });
}

const dir = process.argv[2] ?? "dist";
const index = join(dir, "index.html");
writeFileSync(index, dropIgnoredIntegrity(readFileSync(index, "utf8")));

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
