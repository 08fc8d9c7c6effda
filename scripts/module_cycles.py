#!/usr/bin/env python3
"""Lists import circles between the modules (files) of a crate: `use crate::…`, `use super::…`
and `crate::a::B` paths in code (comments and `#[cfg(test)] mod tests` blocks are left out).

    python3 scripts/module_cycles.py sessions-memcached/src

Prints each circle and exits 1 if there is one. The rule it checks: the owner of a type is the
file everyone imports it from, so no two files import from each other, directly or not.
"""
import collections
import os
import re
import sys


def modules(root):
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(folder, name)
            parts = os.path.relpath(path, root)[:-3].split("/")
            if parts[-1] in ("mod", "lib"):
                parts = parts[:-1]
            if parts and parts[-1] == "tests":
                continue
            found["::".join(parts)] = path
    return found


def code(path):
    text = open(path).read()
    text = re.split(r"#\[cfg\(test\)\]\s*mod tests \{", text)[0]
    return re.sub(r"//[^\n]*", "", text)


def resolve(mods, module, target):
    segments = target.split("::")
    here = module.split("::") if module else []
    if segments[0] == "crate":
        base = []
    elif segments[0] == "super":
        base = here[:-1]
    elif segments[0] == "self":
        base = here
    else:
        return None
    best = "::".join(base) if "::".join(base) in mods else None
    for segment in segments[1:]:
        candidate = "::".join(base + [segment])
        if candidate not in mods:
            break
        base, best = base + [segment], candidate
    return best


def circles(mods):
    edges = collections.defaultdict(set)
    for module, path in mods.items():
        source = code(path)
        paths = re.findall(r"\b((?:crate|super|self)::[a-z_][\w]*(?:::[a-z_][\w]*)*)", source)
        for target in paths:
            resolved = resolve(mods, module, target)
            if resolved is not None and resolved != module:
                edges[module].add(resolved)
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

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
                found.append(sorted(component))

    for v in list(mods):
        if v not in index:
            visit(v)
    return found


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    found = circles(modules(sys.argv[1]))
    for component in found:
        print("circle:", ", ".join(m or "<lib>" for m in component))
    if not found:
        print("no import circles")
    sys.exit(1 if found else 0)
