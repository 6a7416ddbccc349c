// The book's offline link and anchor check (`make docs`, `make test`): every internal link and
// resource of every built page must name a file of the built book, and every #fragment an id or
// name in that page. Links to other sites are listed, never fetched.
//
//   node tools/linkcheck.mjs [target/book]
//
// Exits 1 naming each broken link (page, link, why); prints the counts on success.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const LINKING = /<(a|link|script|img|source|iframe|use|image)\b([^>]*)>/gi;
const URL_ATTRIBUTE = /\s(href|src|xlink:href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/gi;
const ID_ATTRIBUTE = /\s(?:id|name)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/gi;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/// The HTML entities a URL or id in mdbook's or Redoc's output can hold.
function unescape(text) {
  return text.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">");
}

/// Script and style bodies, comments and templates are not markup: links inside them are skipped.
function markup(html) {
  return html.replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<script\b([^>]*)>[\s\S]*?<\/script>/gi, "<script$1></script>")
    .replace(/<style\b[^>]*>[\s\S]*?<\/style>/gi, "");
}

export function checkBook(root) {
  root = resolve(root);
  if (!existsSync(join(root, "index.html"))) throw new Error(`${root}: no index.html (run make docs)`);
  const files = walk(root);
  const ids = new Map();
  const idsOf = (file) => {
    if (!ids.has(file)) {
      const found = new Set();
      for (const match of markup(readFileSync(file, "utf8")).matchAll(ID_ATTRIBUTE)) {
        found.add(unescape(match[1] ?? match[2] ?? match[3]));
      }
      ids.set(file, found);
    }
    return ids.get(file);
  };
  const broken = [];
  const external = new Set();
  let checked = 0;
  for (const page of files.filter((file) => file.endsWith(".html"))) {
    const html = markup(readFileSync(page, "utf8"));
    for (const [, , attributes] of html.matchAll(LINKING)) {
      for (const match of attributes.matchAll(URL_ATTRIBUTE)) {
        const url = unescape(match[2] ?? match[3] ?? match[4]).trim();
        const where = `${relative(root, page)}: ${url}`;
        if (url === "" || url.startsWith("data:")) continue;
        if (/^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith("//")) {
          external.add(url);
          continue;
        }
        checked += 1;
        const hash = url.indexOf("#");
        const pathPart = (hash < 0 ? url : url.slice(0, hash)).split("?")[0];
        const fragment = hash < 0 ? "" : decodeURIComponent(url.slice(hash + 1));
        let target = pathPart === "" ? page : resolve(dirname(page), decodeURIComponent(pathPart));
        if (pathPart.startsWith("/")) {
          broken.push(`${where} (absolute path: the book is served under /docs/, link relatively)`);
          continue;
        }
        if (target !== root && !target.startsWith(root + sep)) {
          broken.push(`${where} (leaves the book)`);
          continue;
        }
        if (existsSync(target) && statSync(target).isDirectory()) target = join(target, "index.html");
        if (!existsSync(target)) {
          broken.push(`${where} (no such file)`);
          continue;
        }
        if (fragment !== "" && target.endsWith(".html") && !idsOf(target).has(fragment)) {
          broken.push(`${where} (no id "${fragment}" in ${relative(root, target)})`);
        }
      }
    }
  }
  return { pages: files.filter((file) => file.endsWith(".html")).length, checked, broken, external };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = process.argv[2] ?? "target/book";
  const { pages, checked, broken, external } = checkBook(root);
  if (broken.length > 0) {
    console.error(`linkcheck: ${broken.length} broken link(s) in ${root}:`);
    for (const line of broken) console.error(`  ${line}`);
    process.exit(1);
  }
  console.log(`linkcheck: ${pages} pages, ${checked} internal links and anchors, all resolve; ` +
    `${external.size} links to other sites (not fetched)`);
}
