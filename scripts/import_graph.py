#!/usr/bin/env python3
"""The import graph of app/, marketplace/ and ratings/: module cycles and package arrows.

    python3 scripts/import_graph.py          # report; exit 1 on a cycle or a forbidden arrow
    python3 scripts/import_graph.py --edges  # also list every package-level arrow
    python3 scripts/import_graph.py --root DIR   # another checkout

Counts every import, at module level or inside a function (a function-local import
that hides a cycle is still a cycle). Rules (docs/architecture.md):

* no cycle between modules;
* between packages, arrows point one way: ratings -> marketplace -> app; only the
  composition root `app.main` imports the domains from inside `app`;
* a domain's pure core (`<domain>.domain`) imports only the standard library,
  `app.canonical`, other pure modules and `cryptography` (primitives: no I/O, no state).

Standard library only.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "marketplace", "ratings")
COMPOSITION_ROOT = "app.main"
LAYER = {"app": 0, "marketplace": 1, "ratings": 2}  # an arrow may point only to a lower or equal layer
PURE_ALLOWED = {"app.canonical"}
PURE_THIRD_PARTY = {"cryptography"}  # the sealing protocol's primitives (marketseal-v1): computation only


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (root / pkg).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(root).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that `name` is or lies in."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(mod: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                target = resolve(a.name, known)
                if target:
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = mod.split(".") if is_pkg else mod.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for a in node.names:
                target = resolve(f"{base}.{a.name}", known) or resolve(base, known)
                if target:
                    found.add(target)
    found.discard(mod)
    return found


def stdlib_names() -> set[str]:
    return set(sys.stdlib_module_names)


def third_party_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names - stdlib_names() - set(PACKAGES) - {"__future__"}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    root = Path(sys.argv[sys.argv.index("--root") + 1]).resolve() if "--root" in sys.argv else ROOT
    known = modules(root)
    graph = {m: imports_of(m, p, known) for m, p in known.items()}
    problems = 0
    for comp in cycles(graph):
        problems += 1
        print("module cycle:", " <-> ".join(comp))
    arrows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for m, targets in graph.items():
        if m == COMPOSITION_ROOT:
            continue
        for t in targets:
            a, b = m.split(".")[0], t.split(".")[0]
            if a != b:
                arrows[(a, b)].append(f"{m} -> {t}")
    for (a, b), where in sorted(arrows.items()):
        if LAYER[b] > LAYER[a]:
            problems += 1
            print(f"forbidden arrow {a} -> {b}: " + "; ".join(sorted(where)))
    for m, path in known.items():
        if ".domain" not in m:
            continue
        bad = sorted(t for t in graph[m] if ".domain" not in t and t not in PURE_ALLOWED)
        bad += sorted(third_party_imports(path) - PURE_THIRD_PARTY)
        if bad:
            problems += 1
            print(f"pure module {m} imports: {', '.join(bad)}")
    if "--edges" in sys.argv:
        for (a, b), where in sorted(arrows.items()):
            print(f"{a} -> {b}: {len(where)} imports")
    print(f"{len(known)} modules, {sum(len(t) for t in graph.values())} imports, "
          f"{problems} problem{'s' if problems != 1 else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
