// The security chapters of the book hold to what they claim (Node's test runner, no dependencies):
// - the threat model has a heading for every trust boundary ARCHITECTURE.md names, by the same name;
// - every threat table row names a test file, and every repository path either chapter cites exists;
// - the PCI table has exactly one row per requirement id, and every id the chapter mentions has one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const read = (path) => readFileSync(join(ROOT, path), "utf8");
const THREAT_MODEL = "docs/book/src/security/threat-model.md";
const PCI = "docs/book/src/security/pci.md";

/// The text of a Markdown file without its fenced code blocks.
function prose(text) {
  return text.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, "");
}

/// The headings of `text`: [{level, title, line}], in order.
function headings(text) {
  return prose(text)
    .split("\n")
    .map((line, index) => ({ match: /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line), index }))
    .filter(({ match }) => match)
    .map(({ match, index }) => ({ level: match[1].length, title: match[2], index }));
}

/// The lines of the section under the heading `title` (to the next heading of its level or above).
function section(text, title) {
  const lines = prose(text).split("\n");
  const all = headings(text);
  const at = all.findIndex((h) => h.title === title);
  if (at < 0) return null;
  const end = all.slice(at + 1).find((h) => h.level <= all[at].level);
  return lines.slice(all[at].index + 1, end ? end.index : lines.length);
}

/// The trust boundaries: the `###` headings of ARCHITECTURE.md's "Trust boundaries".
export function boundaries(architecture) {
  const lines = section(architecture, "Trust boundaries");
  assert.ok(lines, 'ARCHITECTURE.md has no "## Trust boundaries" section');
  return lines.map((line) => /^###\s+(.*?)\s*$/.exec(line)).filter(Boolean).map((m) => m[1]);
}

/// The cells of a Markdown table row, or null for a line that is not one.
function cells(line) {
  if (!/^\s*\|/.test(line)) return null;
  const inner = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  // A `|` inside a code span does not split a cell.
  const out = [];
  let cell = "";
  let code = false;
  for (const ch of inner) {
    if (ch === "`") code = !code;
    if (ch === "|" && !code) {
      out.push(cell.trim());
      cell = "";
    } else cell += ch;
  }
  out.push(cell.trim());
  return out;
}

/// The body rows of every table in `lines` (no header, no separator), each as its cells.
function tableRows(lines) {
  const rows = [];
  for (let i = 0; i < lines.length; i++) {
    const row = cells(lines[i]);
    if (!row) continue;
    const previous = i > 0 ? cells(lines[i - 1]) : null;
    const next = i + 1 < lines.length ? cells(lines[i + 1]) : null;
    const isSeparator = row.every((c) => /^:?-{3,}:?$/.test(c));
    const isHeader = !previous && next && next.every((c) => /^:?-{3,}:?$/.test(c));
    if (!isSeparator && !isHeader) rows.push(row);
  }
  return rows;
}

/// The header row of the first table in `lines`.
function tableHeader(lines) {
  for (let i = 0; i + 1 < lines.length; i++) {
    const row = cells(lines[i]);
    const next = cells(lines[i + 1]);
    if (row && next && next.every((c) => /^:?-{3,}:?$/.test(c))) return row;
  }
  return null;
}

const PATH_ROOTS = /^(tests|crates|src|packages|docs|deploy|tools|fuzz|bench|locales|static)\/[^\s`*]+$/;

/// Every repository path in a code span of `text`: `tests/e2e/view.test.mjs`, `crates/…`.
export function citedPaths(text) {
  return [...prose(text).matchAll(/`([^`\n]+)`/g)].map((m) => m[1]).filter((span) => PATH_ROOTS.test(span));
}

/// Whether `path` is a test: a file under a `tests/` directory, a `tests.rs` module, or a source file
/// with tests of its own.
function isTestFile(path) {
  const full = join(ROOT, path);
  if (!existsSync(full) || !statSync(full).isFile()) return false;
  if (path.split("/").includes("tests") || basename(path) === "tests.rs" || /\.test\.mjs$/.test(path)) return true;
  return /#\[cfg\(test\)\]|#\[(tokio::)?test\]|wasm_bindgen_test/.test(readFileSync(full, "utf8"));
}

const REQUIREMENT = /\b(DSS \d{1,2}(?:\.\d+)*|PIN \d{1,2})\b/g;

/// The requirement ids in `text`: `DSS 3.5.1` (PCI DSS v4.0) and `PIN 18` (PCI PIN Security).
export function requirementIds(text) {
  return [...prose(text).matchAll(REQUIREMENT)].map((m) => m[1]);
}

test("the threat model has a heading for every trust boundary of ARCHITECTURE.md", () => {
  const names = boundaries(read("ARCHITECTURE.md"));
  assert.ok(names.length >= 5, `only ${names.length} trust boundaries found in ARCHITECTURE.md`);
  assert.equal(new Set(names).size, names.length, "a trust boundary is named twice in ARCHITECTURE.md");
  const titles = new Set(headings(read(THREAT_MODEL)).map((h) => h.title));
  const missing = names.filter((name) => !titles.has(name));
  assert.deepEqual(missing, [], `boundaries without a heading in ${THREAT_MODEL}`);
});

test("every threat table row names a test file", () => {
  const text = read(THREAT_MODEL);
  for (const name of boundaries(read("ARCHITECTURE.md"))) {
    const lines = section(text, name);
    if (!lines) continue; // the test above names it
    const rows = tableRows(lines);
    assert.ok(rows.length > 0, `"${name}" has no threat table`);
    for (const row of rows) {
      const tests = citedPaths(row.join(" ")).filter(isTestFile);
      assert.ok(tests.length > 0, `"${name}": this row names no existing test file: | ${row.join(" | ")} |`);
    }
  }
});

test("every repository path the threat model and the PCI chapter cite exists", () => {
  for (const chapter of [THREAT_MODEL, PCI]) {
    const paths = citedPaths(read(chapter));
    assert.ok(paths.length > 0, `${chapter} cites no file`);
    const missing = paths.filter((path) => !existsSync(join(ROOT, path)));
    assert.deepEqual(missing, [], `${chapter} cites paths that do not exist`);
  }
});

test("the PCI table has one row per requirement, and every requirement mentioned has a row", () => {
  const text = read(PCI);
  const lines = prose(text).split("\n");
  // The requirement tables: runs of table lines whose header starts with "Requirement".
  const rows = [];
  let block = [];
  for (const line of [...lines, ""]) {
    if (cells(line)) {
      block.push(line);
      continue;
    }
    const header = tableHeader(block);
    if (header && /^requirement/i.test(header[0])) rows.push(...tableRows(block));
    block = [];
  }
  assert.ok(rows.length >= 10, `only ${rows.length} requirement rows found in ${PCI}`);
  const ids = [];
  for (const row of rows) {
    assert.equal(row.length, 4, `a requirement row needs 4 cells (requirement, pinframe, evidence, issuer): | ${row.join(" | ")} |`);
    const found = requirementIds(row[0]);
    assert.equal(found.length, 1, `a requirement row names exactly one id in its first cell: "${row[0]}"`);
    ids.push(found[0]);
    assert.ok(row[2].length > 0 && row[3].length > 0, `${found[0]}: evidence and the issuer's part must be filled in`);
  }
  const seen = new Set();
  const twice = ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
  assert.deepEqual(twice, [], "requirements with more than one row");
  const without = [...new Set(requirementIds(text))].filter((id) => !seen.has(id));
  assert.deepEqual(without, [], "requirements mentioned in the chapter without a row of their own");
  assert.ok(ids.some((id) => id.startsWith("DSS ")) && ids.some((id) => id.startsWith("PIN ")), "both standards have rows");
});
