#!/usr/bin/env python3
"""Finds import cycles between the modules of each crate, and source files over a line limit.

A module *uses* another when its code names a path into it: `use crate::a::b::X`, `crate::a::f()`,
`super::x::Y`, `self::x::Z`, or a child module by its bare name (`child::f`, `use child::X`), the
re-exports `pub use` included. A path resolves to the deepest module it names, so `crate::a::b::X`
is a use of `a::b` (or of `a` when `b` is not a module). Owning a child (`mod child;`) is not a use.
Test modules (`#[cfg(test)] mod …`) are left out: they exist to use their parent.

Two modules that use each other, directly or through others, are a cycle; the script prints each
strongly connected component of the use graph with more than one module and exits 1.

Usage: modcycles.py [--max-lines N] CRATE_DIR...
"""

import re
import sys
from pathlib import Path

ITEM_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;", re.M)
INLINE_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{", re.M)
USE = re.compile(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);")
PATH = re.compile(r"(?<![A-Za-z0-9_:])((?:crate|super|self|[a-z_][a-z0-9_]*)(?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)+)")


def strip(source: str) -> str:
    """Removes comments, string and char literals, keeping line breaks."""
    out, i, n = [], 0, len(source)
    while i < n:
        c = source[i]
        if source.startswith("//", i):
            j = source.find("\n", i)
            i = n if j < 0 else j
        elif source.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if source.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif source.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if source[i] == "\n" else "")
                    i += 1
        elif c == "r" and re.match(r'r#*"', source[i:]):
            hashes = re.match(r"r(#*)\"", source[i:]).group(1)
            end = source.find('"' + hashes, i + 2 + len(hashes))
            chunk = source[i : (n if end < 0 else end + 1 + len(hashes))]
            out.append('""' + "\n" * chunk.count("\n"))
            i += len(chunk)
        elif c == '"':
            j = i + 1
            while j < n and source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            out.append('""' + "\n" * source[i:j].count("\n"))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", source[i:i + 4]) or source.startswith("'\\", i):
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", source[i:])
            if m:
                out.append("' '")
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def drop_test_modules(code: str) -> str:
    """Blanks out `#[cfg(test)] mod name { … }` blocks."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{", code)
        if not m:
            return code
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        code = code[: m.start()] + "\n" * code[m.start() : i].count("\n") + code[i:]


def expand_use(tree: str):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = re.sub(r"\s+as\s+[A-Za-z_][A-Za-z0-9_]*", "", tree)
    tree = re.sub(r"\s+", "", tree)
    if "{" not in tree:
        return [tree]
    head, rest = tree.split("{", 1)
    body = rest[: rest.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if not p:
            continue
        for sub in expand_use(p):
            out.append(head + sub if sub != "self" else head.rstrip(":"))
    return out


class Crate:
    def __init__(self, root: Path):
        self.root = root
        self.modules = {}  # path tuple -> file
        self.tests = set()
        src = root / "src"
        top = src / "lib.rs" if (src / "lib.rs").exists() else src / "main.rs"
        self.load((), top)
        if (src / "main.rs").exists() and top.name == "lib.rs":
            self.load(("<main>",), src / "main.rs", own_dir=src)

    def load(self, path, file, own_dir=None):
        self.modules[path] = file
        text = file.read_text()
        if own_dir is None:
            own_dir = file.parent if file.name in ("lib.rs", "main.rs", "mod.rs") else file.parent / file.stem
        for m in ITEM_MOD.finditer(text):
            name = m.group(1)
            before = text[: m.start()].rstrip().splitlines()[-1:] if text[: m.start()].strip() else []
            is_test = bool(before) and "cfg(test)" in before[0]
            child = own_dir / f"{name}.rs"
            if not child.exists():
                child = own_dir / name / "mod.rs"
            if not child.exists():
                continue
            if is_test or name == "tests":
                self.tests.add(path + (name,))
                continue
            self.load(path + (name,), child)

    def resolve(self, here, segments):
        """The module a path names from module `here`, or None for another crate."""
        if segments[0] == "crate":
            base, rest = (), segments[1:]
        elif segments[0] in ("super", "self"):
            base, rest = here, segments
            while rest and rest[0] in ("super", "self"):
                if rest[0] == "super":
                    base = base[:-1]
                rest = rest[1:]
        elif here + (segments[0],) in self.modules:
            base, rest = here, segments
        else:
            return None
        target = base
        for seg in rest:
            if target + (seg,) in self.modules:
                target = target + (seg,)
            else:
                break
        return target

    def graph(self):
        edges = {m: set() for m in self.modules}
        for module, file in self.modules.items():
            here = () if module == ("<main>",) else module
            code = drop_test_modules(strip(file.read_text()))
            paths = []
            for m in USE.finditer(code):
                paths += expand_use(m.group(1))
            for m in PATH.finditer(code):
                paths.append(re.sub(r"\s+", "", m.group(1)))
            for p in paths:
                segments = tuple(s for s in p.split("::") if s)
                if not segments:
                    continue
                target = self.resolve(here, segments)
                if target is not None and target != module and target in self.modules:
                    edges[module].add(target)
        return edges


def cycles(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in edges:
        if v not in index:
            visit(v)
    return out


def name(crate, module):
    return "::".join(("crate",) + module)


def main(argv):
    max_lines = None
    if argv[:1] == ["--max-lines"]:
        max_lines, argv = int(argv[1]), argv[2:]
    failed = False
    for root in map(Path, argv):
        crate = Crate(root)
        edges = crate.graph()
        count = sum(len(e) for e in edges.values())
        found = cycles(edges)
        for comp in found:
            failed = True
            members = set(comp)
            print(f"{root}: import cycle among {', '.join(sorted(name(crate, m) for m in comp))}")
            for m in sorted(comp):
                for t in sorted(edges[m] & members):
                    print(f"    {name(crate, m)} uses {name(crate, t)}")
        if max_lines:
            for module, file in sorted(crate.modules.items()):
                lines = len(file.read_text().splitlines())
                if lines > max_lines:
                    failed = True
                    print(f"{file}: {lines} lines, over {max_lines}")
        print(f"{root}: {len(crate.modules)} modules, {count} uses, {len(found)} cycles")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
