#!/usr/bin/env python3
"""Fails when two modules of the crate import each other, directly or
through others.

A module is one source file under src/ (src/lib.rs is the crate root, a
directory's mod.rs is that directory's module). An import is any path that
names another module: `use crate::a::b`, an inline `crate::a::b::f()`,
`super::x` and `self::x`, resolved to the longest module path that exists.
`mod x;` declarations are not imports: a parent owns its children, and a
child may use its parent's items only if the parent does not use the child
back. Comments, strings and `#[cfg(test)]` blocks are ignored; test modules
may look anywhere.

Usage: import-cycles.py [SRC_DIR]   (default: src)
Prints every cycle (each strongly connected component of more than one
module) and exits 1 if there is one.
"""

import re
import sys
from pathlib import Path

SRC = Path(sys.argv[1] if len(sys.argv) > 1 else "src")
PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP = re.compile(r"\buse\s+(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)


def module_of(path: Path) -> tuple[str, ...]:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    return tuple(parts)


def strip(text: str) -> str:
    """Removes comments, string literals and #[cfg(test)] items."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    # Char literals first: '"' would otherwise open a string.
    text = re.sub(r"'(?:\\[^'\n]+|[^'\\\n])'", "' '", text)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    out, i = [], 0
    while True:
        at = text.find("#[cfg(test)]", i)
        if at < 0:
            out.append(text[i:])
            break
        out.append(text[i:at])
        brace = text.find("{", at)
        semi = text.find(";", at)
        if brace < 0 or (0 <= semi < brace):
            i = semi + 1
            continue
        depth, j = 0, brace
        while j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
            if depth == 0:
                break
        i = j
    return "".join(out)


def expand_groups(text: str) -> str:
    """`use crate::a::{b, c::d};` -> `crate::a::b crate::a::c::d` (one level
    of nesting is enough for this crate's style)."""

    def expand(match: re.Match) -> str:
        root, prefix, body = match.group(1), match.group(2), match.group(3)
        items = [item.strip() for item in re.split(r",(?![^{]*\})", body)]
        paths = []
        for item in items:
            item = item.split(" as ")[0].strip()
            if not item or item == "self":
                paths.append(f"{root}{prefix}")
                continue
            nested = re.match(r"([A-Za-z_][\w:]*)::\{(.*)\}", item, re.S)
            if nested:
                for inner in nested.group(2).split(","):
                    inner = inner.split(" as ")[0].strip()
                    if inner and inner != "self":
                        paths.append(f"{root}{prefix}::{nested.group(1)}::{inner}")
                    elif inner == "self":
                        paths.append(f"{root}{prefix}::{nested.group(1)}")
            else:
                paths.append(f"{root}{prefix}::{item}")
        return " ".join(paths)

    return USE_GROUP.sub(expand, text)


def main() -> int:
    files = {module_of(p): p for p in SRC.rglob("*.rs") if "bin" not in p.relative_to(SRC).parts}
    modules = set(files)
    edges: dict[tuple, set] = {m: set() for m in modules}
    for module, path in files.items():
        is_dir_module = path.name in ("mod.rs", "lib.rs")
        text = expand_groups(strip(path.read_text()))
        for root, rest in PATH.findall(text):
            names = rest.split("::")[1:]
            if root == "crate":
                base = ()
            elif root == "self":
                base = module if is_dir_module else module
                # `self::x` inside a file module names its own children.
            else:  # super
                base = module[:-1]
                while names and names[0] == "super":
                    base, names = base[:-1], names[1:]
            target = base + tuple(names)
            while target and target not in modules:
                target = target[:-1]
            if target and target != module:
                edges[module].add(target)

    # Tarjan's strongly connected components.
    index, low, stack, on_stack, components = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(modules):
        if v not in index:
            visit(v)

    name = lambda m: "::".join(("crate",) + m)
    if not components:
        print(f"no import cycles among {len(modules)} modules")
        return 0
    for component in components:
        members = sorted(component)
        print(f"import cycle among {len(members)} modules:")
        for m in members:
            inside = sorted(name(t) for t in edges[m] if t in component)
            print(f"  {name(m)} -> {', '.join(inside)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
