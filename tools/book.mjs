// Builds the book (`make docs`): docs/book/ staged with the chapters kept elsewhere in docs/, the
// diagrams rendered to SVG and the API reference rendered from the OpenAPI files, all at build time
// and offline, then mdbook into target/book/.
//
//   node tools/book.mjs [--out target/book]
//
// Steps:
// 1. Copy docs/book/ (book.toml, src/, samples/, theme/) to target/book-stage/, same layout, so
//    `{{#include ../../samples/…}}` resolves there as it does in the repository.
// 2. Copy in the documents that stay the single source where they are (CHAPTERS below), rewriting
//    the relative links among them to their places in the book. A link from one of them to any
//    other repository file fails the build: the book must stand on its own.
// 3. Render docs/book/diagrams/NAME.mmd (Mermaid) to src/diagrams/NAME.svg in headless Chromium.
// 4. mdbook build.
// 5. Render crates/pinframe/openapi.json and crates/pinframe-cms/openapi.json with Redocly into
//    api/service.html and api/cms.html, with Redoc's bundle beside them instead of on a CDN and no
//    Google fonts: nothing is fetched from elsewhere.

import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, posix, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(ROOT, "tools", "package.json"));
const BOOK = join(ROOT, "docs", "book");
const STAGE = join(ROOT, "target", "book-stage");
const outArg = process.argv.indexOf("--out");
const OUT = resolve(ROOT, outArg > 0 ? process.argv[outArg + 1] : "target/book");
const MDBOOK = process.env.MDBOOK ?? join(process.env.HOME ?? "", ".cargo", "bin", "mdbook");
const REDOCLY = join(ROOT, "tools", "node_modules", ".bin", "redocly");

/// Repository documents (path from the repository root) → their chapter in the book (path under src/).
export const CHAPTERS = new Map([
  ["docs/protocol.md", "reference/protocol.md"],
  ["docs/deploy.md", "running/deployment.md"],
  ["docs/keys.md", "running/keys.md"],
  ["docs/theming.md", "concepts/themes.md"],
]);
/// Repository folders copied whole into the book.
const FOLDERS = new Map([["docs/screenshots", "screenshots"]]);

const API_PAGES = [
  ["crates/pinframe/openapi.json", "api/service.html", "pinframe service API"],
  ["crates/pinframe-cms/openapi.json", "api/cms.html", "pinframe reference CMS API (D1 PIN Management)"],
];

/// Where a repository path lands in the book (under src/), or undefined.
function bookPath(repoPath) {
  if (CHAPTERS.has(repoPath)) return CHAPTERS.get(repoPath);
  for (const [folder, target] of FOLDERS) {
    if (repoPath.startsWith(folder + "/")) return target + repoPath.slice(folder.length);
  }
  return undefined;
}

/// Rewrites the relative Markdown links of `text` (from repository file `from`, landing at book path
/// `to`) to the book's layout; throws on a link to a repository file that is not in the book.
export function rewriteLinks(text, from, to) {
  return text.replace(/(\]\()([^)\s]+)(\))/g, (whole, open, target, close) => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) return whole;
    const [path, fragment] = splitFragment(target);
    const repoTarget = posix.normalize(posix.join(posix.dirname(from), path));
    const inBook = bookPath(repoTarget);
    if (inBook === undefined) {
      throw new Error(`${from}: the link ${target} leaves the book (${repoTarget} is not one of its pages)`);
    }
    const rel = posix.relative(posix.dirname(to), inBook);
    return open + rel + fragment + close;
  });
}

function splitFragment(target) {
  const hash = target.indexOf("#");
  return hash < 0 ? [target, ""] : [target.slice(0, hash), target.slice(hash)];
}

function stage() {
  rmSync(STAGE, { recursive: true, force: true });
  mkdirSync(STAGE, { recursive: true });
  for (const entry of ["book.toml", "src", "samples", "theme"]) {
    const from = join(BOOK, entry);
    if (existsSync(from)) cpSync(from, join(STAGE, entry), { recursive: true });
  }
  for (const [from, to] of CHAPTERS) {
    const text = readFileSync(join(ROOT, from), "utf8");
    const target = join(STAGE, "src", to);
    if (existsSync(target)) throw new Error(`docs/book/src/${to} exists, but the chapter is ${from}`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, rewriteLinks(text, from, to));
  }
  for (const [from, to] of FOLDERS) cpSync(join(ROOT, from), join(STAGE, "src", to), { recursive: true });
}

async function renderDiagrams() {
  const dir = join(BOOK, "diagrams");
  const sources = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith(".mmd")).sort() : [];
  if (sources.length === 0) return [];
  const { chromium } = require("playwright-core");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    await page.setContent("<!doctype html><html><body></body></html>");
    await page.addScriptTag({ path: require.resolve("mermaid/dist/mermaid.min.js") });
    await page.evaluate(() => {
      // The book's pages show the SVG as an image: no script, no HTML labels, no links in it.
      window.mermaid.initialize({
        startOnLoad: false,
        securityLevel: "strict",
        theme: "neutral",
        htmlLabels: false,
        flowchart: { htmlLabels: false },
        sequence: { useMaxWidth: false, mirrorActors: false },
        fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
      });
    });
    const out = join(STAGE, "src", "diagrams");
    mkdirSync(out, { recursive: true });
    const written = [];
    for (const name of sources) {
      const text = readFileSync(join(dir, name), "utf8");
      const svg = await page.evaluate(async ([id, source]) => (await window.mermaid.render(id, source)).svg,
        [name.replace(/\W/g, "_"), text]);
      if (!svg.startsWith("<svg") || /<script|<foreignObject/i.test(svg)) {
        throw new Error(`diagrams/${name}: the rendered SVG holds script or HTML`);
      }
      const file = join(out, name.replace(/\.mmd$/, ".svg"));
      writeFileSync(file, `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`);
      written.push(relative(ROOT, file));
    }
    return written;
  } finally {
    await browser.close();
  }
}

function mdbook() {
  rmSync(OUT, { recursive: true, force: true });
  // mdbook 0.5 reports some errors (a book.toml field it does not know, say) and still exits 0.
  const run = spawnSync(MDBOOK, ["build", STAGE, "--dest-dir", OUT], { encoding: "utf8" });
  process.stderr.write(run.stderr ?? "");
  if (run.error) throw run.error;
  if (run.status !== 0 || /^\s*(ERROR|WARN)\b/m.test(run.stderr ?? "")) {
    throw new Error(`mdbook build failed (exit ${run.status}): see its messages above`);
  }
}

/// Redocly's page loads Redoc's bundle from a CDN; the book serves the same version itself.
const REDOC_CDN = /https:\/\/cdn\.redocly\.com\/redoc\/v([0-9.]+)\/bundles\/redoc\.standalone\.js/g;

const HYDRATE = "Redoc.hydrate(__redoc_state, container);";
const REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg";
const EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E";

function renderApi() {
  const bundle = require.resolve("redoc/bundles/redoc.standalone.js");
  const version = JSON.parse(readFileSync(join(dirname(bundle), "..", "package.json"), "utf8")).version;
  for (const [spec, page, title] of API_PAGES) {
    const output = join(OUT, page);
    mkdirSync(dirname(output), { recursive: true });
    execFileSync(REDOCLY, ["build-docs", spec, "--output", output, "--title", title, "--disableGoogleFont"], {
      cwd: ROOT,
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      stdio: ["ignore", "ignore", "inherit"],
    });
    const favicon = readdirSync(OUT).find((name) => /^favicon-[0-9a-f]+\.png$/.test(name));
    const html = readFileSync(output, "utf8")
      .replace(REDOC_CDN, (_, cdnVersion) => {
        if (cdnVersion !== version) throw new Error(`${page}: Redoc ${cdnVersion} wanted, ${version} installed`);
        return "redoc.standalone.js";
      })
      // Redocly prerenders with its own styled-components (6), the bundle carries another (5): a
      // hydration of that markup fails in React, so the bundle renders the page afresh from the
      // same state (the prerendered markup shows until then).
      .replace(HYDRATE, "Redoc.init(__redoc_state.spec.data, __redoc_state.options, container);")
      // The book's icon, so that the browser does not ask the service for /favicon.ico.
      .replace("</title>", `</title>\n  <link rel="icon" href="../${favicon}">`);
    if (!html.includes("Redoc.init(")) throw new Error(`${page}: Redocly's page no longer calls Redoc.hydrate`);
    if (favicon === undefined) throw new Error("mdbook wrote no favicon-*.png");
    const remote = html.match(/<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?\/\/[^"'\s>]+/gi);
    if (remote) throw new Error(`${page} loads from elsewhere: ${remote.join(", ")}`);
    writeFileSync(output, html);
    // The bundle's footer shows Redocly's logo from a CDN: the same logo's place is left empty.
    const script = readFileSync(bundle, "utf8");
    if (!script.includes(REDOC_LOGO)) throw new Error(`${bundle} no longer names ${REDOC_LOGO}`);
    writeFileSync(join(dirname(output), "redoc.standalone.js"), script.replaceAll(REDOC_LOGO, EMPTY_SVG));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  stage();
  const diagrams = await renderDiagrams();
  mdbook();
  renderApi();
  console.log(`book: ${relative(ROOT, OUT)}/ (${diagrams.length} diagrams, ${API_PAGES.length} API pages) ` +
    `in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
