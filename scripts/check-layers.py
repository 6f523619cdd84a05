#!/usr/bin/env python3
"""Fails when the crate's modules import each other in a cycle.

Each file under src/ is a module (src/a.rs and src/a/mod.rs are `a`,
src/a/b.rs is `a::b`). An edge A -> B is any `crate::`, `super::` or
`self::` path in A (in `use` lines, groups included, or inline) that names
module B; a module's own children and its unit tests (`#[cfg(test)] mod
tests` at the end of a file) do not count. Any strongly connected group of
more than one module is a cycle: the layers must point one way.

Usage: scripts/check-layers.py [src-dir]   (prints the graph with -v)
"""

import re
import sys
from pathlib import Path


def module_of(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return "::".join(parts)


def strip_tests_and_comments(text: str) -> str:
    m = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod tests\b", text, re.M)
    if m:
        text = text[: m.start()]
    text = re.sub(r"//[^\n]*", "", text)
    return text


def expand_use(tree: str) -> list[str]:
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"]."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^(.*?)\{(.*)\}$", tree)
    if not m:
        return [tree]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    if cur:
        parts.append(cur)
    return [p for part in parts if part for p in expand_use(prefix + part)]


def paths_in(text: str) -> list[str]:
    found = []
    for m in re.finditer(r"\buse\s+((?:crate|super|self)::[^;]*);", text, re.S):
        found.extend(expand_use(m.group(1)))
    # Inline paths outside `use` lines.
    no_use = re.sub(r"\buse\s+[^;]*;", "", text, flags=re.S)
    found.extend(re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", no_use))
    return found


def resolve(path: str, here: str, modules: set[str]) -> str | None:
    segs = path.split("::")
    base = here.split("::") if here else []
    head, rest = segs[0], segs[1:]
    if head == "crate":
        base = []
    elif head == "super":
        base = base[:-1]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    full = base + rest
    for n in range(len(full), 0, -1):
        cand = "::".join(full[:n])
        if cand in modules:
            return cand
    return None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "-v"]
    src = Path(args[0] if args else Path(__file__).resolve().parent.parent / "src")
    files = sorted(src.rglob("*.rs"))
    modules = {module_of(f, src) for f in files}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for f in files:
        here = module_of(f, src)
        for p in paths_in(strip_tests_and_comments(f.read_text())):
            target = resolve(p, here, modules)
            if target is None or target == here:
                continue
            # A parent naming its own child (mod declarations, re-exports) is structure.
            if target.startswith(here + "::") or here == "":
                continue
            graph[here].add(target)
    if "-v" in sys.argv:
        for m in sorted(graph):
            print(f"{m or 'crate'} -> {', '.join(sorted(graph[m])) or '-'}")
    found = cycles(graph)
    for group in found:
        print("import cycle between modules: " + ", ".join(group), file=sys.stderr)
    if found:
        return 1
    print(f"layers: {len(modules)} modules, no import cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
