// Finishes a Trunk dist directory for the service. First, index.html's preloads: Trunk gives the
// wasm's `<link rel="preload" as="fetch">` an `integrity`, which browsers ignore for that destination
// (Chromium says so in the console on every load; wasm-bindgen's fetch carries none either), so it is
// dropped there; the module preload, script and style keep theirs, which browsers check. The page
// loses its comments too. Then it
// writes NAME.br beside each of the widget's wasm, JS and CSS files, at brotli's best quality (11),
// which takes too long for the service to do at every start. The service serves a .br file only if
// it decodes to the asset beside it. Before that, the stylesheet loses its comments and indentation
// (a third of its brotli size; they document the source, and every client would download them),
// and its `integrity` in index.html is computed anew; its name keeps Trunk's hash of the source.
// Likewise the wasm and its JS glue get short import and export names (tools/short-names.mjs).
// Usage: node tools/precompress.mjs dist
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";
import { createHash } from "node:crypto";
import { shortenNames } from "./short-names.mjs";

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

/// `css` without comments, line indentation and empty lines; strings are kept as they are.
function stripCss(css) {
  const stripped = css.replace(/"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|\/\*[\s\S]*?\*\//g, (token) =>
    token.startsWith("/*") ? "" : token,
  );
  return stripped
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join("\n")
    .concat("\n");
}

/// `html` with the `integrity` of its `<link>` to `name` (if it has one) made that of `content`.
function setIntegrity(html, name, content) {
  const integrity = `sha384-${createHash("sha384").update(content).digest("base64")}`;
  let found = false;
  const out = html.replace(/<link\b[^>]*>/gi, (tag) => {
    if (!tag.includes(`/${name}"`)) return tag;
    found = true;
    return tag.replace(/\sintegrity\s*=\s*"[^"]*"/i, ` integrity="${integrity}"`);
  });
  if (!found) throw new Error(`index.html has no <link> to ${name}`);
  return out;
}

/// Strips the stylesheet `name` in `dir`, and gives `html`'s `<link>` to it the new `integrity`.
function stripStylesheet(dir, name, html) {
  const css = stripCss(readFileSync(join(dir, name), "utf8"));
  writeFileSync(join(dir, name), css);
  return setIntegrity(html, name, css);
}

/// Shortens the wasm's import and export names in it and its JS glue (tools/short-names.mjs), and gives
/// `html`'s `<link>`s to them their new `integrity`.
function shortenWidgetNames(dir, html) {
  const wasmName = readdirSync(dir).find((n) => n.endsWith("_bg.wasm"));
  if (!wasmName) throw new Error(`${dir} has no widget wasm`);
  const jsName = wasmName.replace(/_bg\.wasm$/, ".js");
  const { wasm, js } = shortenNames(readFileSync(join(dir, wasmName)), readFileSync(join(dir, jsName), "utf8"));
  writeFileSync(join(dir, wasmName), wasm);
  writeFileSync(join(dir, jsName), js);
  return setIntegrity(setIntegrity(html, jsName, js), wasmName, wasm);
}

const dir = process.argv[2] ?? "dist";
const index = join(dir, "index.html");
// index.html's comments document the source; the page is served on every load.
let html = dropIgnoredIntegrity(readFileSync(index, "utf8")).replace(/[ \t]*<!--[\s\S]*?-->\n?/g, "");
for (const name of readdirSync(dir).filter((n) => n.endsWith(".css"))) html = stripStylesheet(dir, name, html);
html = shortenWidgetNames(dir, html);
writeFileSync(index, html);

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
