// The widget's wasm by crate, for `make bench`: twiggy's items of a build that keeps its names
// (cargo's output through `wasm-opt -Oz --debuginfo`, so the code is what the widget ships), each
// counted to the crate its symbol names first. The custom sections wasm-bindgen and the shipped
// build drop (names, wasm-bindgen's own) are left out; data segments count as "(data)": most of it is
// the message catalogues. Prints a table, largest first, and writes the figures as JSON.
//
//   node tools/wasm-crates.mjs NAMED.wasm OUT.json
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

const [wasm, out] = process.argv.slice(2);
if (!wasm || !out) {
  console.error("usage: node tools/wasm-crates.mjs NAMED.wasm OUT.json");
  process.exit(2);
}
const items = JSON.parse(execFileSync("twiggy", ["top", "-f", "json", wasm], { maxBuffer: 1 << 28, encoding: "utf8" }));

const PRIMITIVES = new Set(["bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64"]);

/// The crate an item belongs to, or null for what the shipped wasm does not carry.
function crateOf(name) {
  if (name.startsWith("custom section") || name.startsWith('"function names"')) return null;
  if (name.startsWith("data segment")) return "(data)";
  let symbol = name.replace(/^(?:<|&|mut |dyn |\(|\[)+/g, "");
  const path = symbol.match(/^([A-Za-z_][A-Za-z0-9_]*)(?:\[[0-9a-f]+\])?::/);
  if (path) return PRIMITIVES.has(path[1]) ? "core" : path[1];
  symbol = symbol.match(/^([A-Za-z_][A-Za-z0-9_]*)/)?.[1] ?? "";
  if (PRIMITIVES.has(symbol)) return "core";
  return "(wasm: imports, tables, types, unnamed)";
}

const byCrate = new Map();
let total = 0;
for (const { name, shallow_size: size } of items) {
  const crate = crateOf(name);
  if (crate === null) continue;
  byCrate.set(crate, (byCrate.get(crate) ?? 0) + size);
  total += size;
}
const rows = [...byCrate].sort((a, b) => b[1] - a[1]).map(([crate, bytes]) => ({ crate, bytes, percent: Number(((100 * bytes) / total).toFixed(1)) }));
writeFileSync(out, `${JSON.stringify({ total_bytes: total, crates: rows }, null, 2)}\n`);

const width = Math.max(...rows.map((r) => r.crate.length), 5);
console.log(`wasm by crate (${wasm}, names kept; ${total.toLocaleString("en")} bytes of code and data)`);
for (const { crate, bytes, percent } of rows.filter((r) => r.percent >= 0.2)) {
  console.log(`  ${crate.padEnd(width)} ${bytes.toLocaleString("en").padStart(9)} B ${percent.toFixed(1).padStart(5)} %`);
}
const rest = rows.filter((r) => r.percent < 0.2);
if (rest.length) {
  const bytes = rest.reduce((sum, r) => sum + r.bytes, 0);
  console.log(`  ${`${rest.length} more`.padEnd(width)} ${bytes.toLocaleString("en").padStart(9)} B`);
}
