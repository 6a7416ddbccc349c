// Shortens the names between the widget's wasm and its JS glue. wasm-bindgen names each import
// `__wbg_<name>_<16 hex digits>` under the module "./<crate>_bg.js": some 150 of them, whose hex
// digits do not compress, each written twice (in the wasm's import section and as a key of the
// JS glue's import object). Here each import of that module becomes a short name (a, b, …, aa, …)
// in both files, and the module "w"; the glue refers to an import only as that key. Likewise each
// export (the closures' `…invoke__h<16 hex digits>`, `__wbindgen_malloc`, `memory`, …), which the
// glue uses only as `wasm.<name>`.
// Usage (from tools/precompress.mjs): shortenNames(wasmBytes, jsText) -> { wasm, js }; a module
// already shortened comes back as it is.

function readLeb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

function leb(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/// Where an import's description (after its kind byte) ends.
function skipDescription(bytes, kind, at) {
  const limits = (p) => {
    const flags = bytes[p++];
    [, p] = readLeb(bytes, p);
    if (flags & 1) [, p] = readLeb(bytes, p);
    return p;
  };
  switch (kind) {
    case 0: // function: a type index
      return readLeb(bytes, at)[1];
    case 1: // table: a reference type, limits
      return limits(at + 1);
    case 2: // memory: limits
      return limits(at);
    case 3: // global: a value type, mutability
      return at + 2;
    case 4: // tag: an attribute, a type index
      return readLeb(bytes, at + 1)[1];
    default:
      throw new Error(`unknown import kind ${kind}`);
  }
}

/// a, b, …, z, A, …, Z, aa, ab, …
function shortName(index) {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  let name = "";
  do {
    name = letters[index % letters.length] + name;
    index = Math.floor(index / letters.length) - 1;
  } while (index >= 0);
  return name;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

/// The section of `wasm` with `id`: `{at, start, end}` (its id byte, its content, its end), or null.
function findSection(wasm, id) {
  if (text.decode(wasm.subarray(0, 4)) !== "\0asm") throw new Error("not a wasm module");
  let at = 8;
  while (at < wasm.length) {
    const [size, start] = readLeb(wasm, at + 1);
    if (wasm[at] === id) return { at, start, end: start + size };
    at = start + size;
  }
  return null;
}

/// `wasm` with `found` (a `findSection` result) replaced by a section of its id holding `body`.
function replaceSection(wasm, found, body) {
  const section = Uint8Array.from([wasm[found.at], ...leb(body.length), ...body]);
  const result = new Uint8Array(found.at + section.length + (wasm.length - found.end));
  result.set(wasm.subarray(0, found.at), 0);
  result.set(section, found.at);
  result.set(wasm.subarray(found.end), found.at + section.length);
  return result;
}

function shortenImports(wasm, js) {
  const found = findSection(wasm, 2);
  if (!found) throw new Error("the wasm module has no import section");
  const { start, end } = found;
  const [count, first] = readLeb(wasm, start);
  const entries = [];
  const renamed = new Map();
  let p = first;
  for (let i = 0; i < count; i++) {
    const [moduleLength, m] = readLeb(wasm, p);
    const module = text.decode(wasm.subarray(m, m + moduleLength));
    const [fieldLength, f] = readLeb(wasm, m + moduleLength);
    const field = text.decode(wasm.subarray(f, f + fieldLength));
    const kind = wasm[f + fieldLength];
    const next = skipDescription(wasm, kind, f + fieldLength + 1);
    const description = wasm.subarray(f + fieldLength, next);
    const glue = /^\.\/[\w-]+_bg\.js$/.test(module);
    if (glue && !renamed.has(field)) renamed.set(field, shortName(renamed.size));
    entries.push({ module: glue ? "w" : module, field: glue ? renamed.get(field) : field, description, glue, original: module });
    p = next;
  }
  if (p !== end) throw new Error("the import section did not parse to its end");
  const modules = new Set(entries.filter((e) => e.glue).map((e) => e.original));
  // Already shortened (a second run over the same dist/).
  if (modules.size === 0 && entries.some((e) => e.module === "w")) return { wasm, js };
  if (modules.size !== 1) throw new Error(`expected one glue module, found ${[...modules].join(", ")}`);
  const [glueModule] = modules;

  let out = js;
  const moduleKey = `${JSON.stringify(glueModule)}: import0`;
  if (out.split(moduleKey).length !== 2) throw new Error(`the glue names ${glueModule} other than once`);
  out = out.replace(moduleKey, "w: import0");
  for (const [long, short] of renamed) {
    const key = new RegExp(`(?<![\\w$])${long.replace(/[$]/g, "\\$")}(?=:)`, "g");
    const uses = out.match(new RegExp(`(?<![\\w$])${long.replace(/[$]/g, "\\$")}(?![\\w$])`, "g")) ?? [];
    if (uses.length !== 1 || (out.match(key) ?? []).length !== 1) {
      throw new Error(`the glue refers to ${long} other than as one key`);
    }
    out = out.replace(key, short);
  }

  const body = [...leb(entries.length)];
  for (const e of entries) {
    const module = utf8.encode(e.module);
    const field = utf8.encode(e.field);
    body.push(...leb(module.length), ...module, ...leb(field.length), ...field, ...e.description);
  }
  return { wasm: replaceSection(wasm, found, body), js: out };
}

/// The export section's names shortened, in the wasm and in the glue's `wasm.<name>`.
function shortenExports(wasm, js) {
  const found = findSection(wasm, 7);
  if (!found) return { wasm, js };
  const { start, end } = found;
  const [count, first] = readLeb(wasm, start);
  const body = [...leb(count)];
  let out = js;
  let p = first;
  for (let i = 0; i < count; i++) {
    const [length, n] = readLeb(wasm, p);
    const name = text.decode(wasm.subarray(n, n + length));
    const kind = wasm[n + length];
    const [, next] = readLeb(wasm, n + length + 1);
    const index = wasm.subarray(n + length + 1, next);
    const short = `_${shortName(i)}`;
    if (/^_[a-zA-Z]+$/.test(name)) return { wasm, js }; // already shortened
    if (new RegExp(`["'\`]${name}["'\`]|exports\\.${name}\\b`).test(out)) {
      throw new Error(`the glue refers to the export ${name} other than as wasm.${name}`);
    }
    out = out.replace(new RegExp(`\\bwasm\\.${name}\\b`, "g"), `wasm.${short}`);
    const encoded = utf8.encode(short);
    body.push(...leb(encoded.length), ...encoded, kind, ...index);
    p = next;
  }
  if (p !== end) throw new Error("the export section did not parse to its end");
  return { wasm: replaceSection(wasm, found, body), js: out };
}

export function shortenNames(wasm, js) {
  const imported = shortenImports(wasm, js);
  return shortenExports(imported.wasm, imported.js);
}
