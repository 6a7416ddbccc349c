// The book's code blocks, checked where a tool here can check them (`make test-docs`):
//
// - ```sh / ```bash: `bash -n` (syntax);
// - ```json: parsed (an elided value is written "…" inside a string, so the block stays JSON);
// - ```js: `node --check` (syntax);
// - ```ts, ```tsx: only as `{{#include …}}` of a file under docs/book/samples/, which `make
//   test-docs` type-checks with tsc; an inline TypeScript block fails.
//
// No compiler here builds Kotlin or Swift: the whole samples under docs/book/samples/ are read by
// tests/e2e/host-kits.test.mjs (every event named), and their one-line usage blocks are not checked.
// Nor are blocks without a language, and text, html, css and sql.
//
//   node tools/check-samples.mjs FILE.md…

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const INCLUDED_ONLY = new Set(["ts", "tsx", "typescript"]);

/// The fenced blocks of a Markdown text: {lang, body, line}.
export function blocks(text) {
  const found = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i += 1) {
    const open = lines[i].match(/^(\s*)(`{3,}|~{3,})\s*([A-Za-z0-9_+-]*)/);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j].trimStart().startsWith(fence); j += 1) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    }
    found.push({ lang: lang.toLowerCase(), body: body.join("\n"), line: i + 1 });
    i = j;
  }
  return found;
}

function check(block, scratch) {
  const { lang, body } = block;
  if (lang === "sh" || lang === "bash" || lang === "shell") {
    const run = spawnSync("bash", ["-n"], { input: body, encoding: "utf8" });
    return run.status === 0 ? undefined : `bash -n: ${run.stderr.trim()}`;
  }
  if (lang === "json") {
    try {
      JSON.parse(body);
      return undefined;
    } catch (error) {
      return `not JSON: ${error.message}`;
    }
  }
  if (lang === "js" || lang === "javascript") {
    const file = join(scratch, "block.mjs");
    writeFileSync(file, body);
    const run = spawnSync(process.execPath, ["--check", file], { encoding: "utf8" });
    return run.status === 0 ? undefined : `node --check: ${run.stderr.trim().split("\n").slice(0, 5).join(" ")}`;
  }
  if (INCLUDED_ONLY.has(lang)) {
    const inline = body.split("\n").filter((line) => line.trim() !== "" && !/^\{\{#include [^}]+\}\}$/.test(line.trim()));
    return inline.length === 0 ? undefined
      : `an inline ${lang} block: put it in docs/book/samples/ and {{#include}} it, so it is checked`;
  }
  return undefined;
}

const scratch = mkdtempSync(join(tmpdir(), "pinframe-samples-"));
try {
  let count = 0;
  const failures = [];
  for (const file of process.argv.slice(2)) {
    for (const block of blocks(readFileSync(file, "utf8"))) {
      const failure = check(block, scratch);
      if (block.lang !== "") count += 1;
      if (failure) failures.push(`${file}:${block.line}: ${failure}`);
    }
  }
  if (failures.length > 0) {
    console.error(`check-samples: ${failures.length} block(s) fail:`);
    for (const failure of failures) console.error(`  ${failure}`);
    process.exit(1);
  }
  console.log(`check-samples: ${count} labelled code blocks in ${process.argv.length - 2} files pass`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
