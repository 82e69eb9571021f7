"""The layering of docs/README.md holds (issue #11): api → solver → models, scenarios → models; nothing
imports upward, no module imports another's private name, and the modules form no import cycle (function-
level imports included: a cycle hidden in a function is still a knot)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "solver", "api", "scenarios")
# What each layer may import from the project (itself included).
ALLOWED = {"models": {"models"}, "scenarios": {"models", "scenarios"}, "solver": {"models", "solver"},
           "api": {"models", "solver", "scenarios", "api"}}


def modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path: Path, name: str, known: set[str]) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every project import in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.split(".")[0] in PACKAGES]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] not in PACKAGES:
                continue
            names = [a.name for a in node.names]
            subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in known]  # `from pkg import module`
            out += [(s, []) for s in subs]
            rest = [n for n in names if f"{base}.{n}" not in known]
            if rest or not subs:
                out.append((base, rest))
    return out


def graph() -> tuple[nx.DiGraph, list[str]]:
    mods = modules()
    g = nx.DiGraph()
    private = []
    for name, path in mods.items():
        g.add_node(name)
        for target, names in imports(path, name, set(mods)):
            while target not in mods and "." in target:
                target = target.rpartition(".")[0]
            if target in mods and target != name and not name.startswith(target + "."):
                g.add_edge(name, target)
            private += [f"{name} imports {target}.{n}" for n in names
                        if n.startswith("_") and not n.startswith("__") and target.split(".")[0] in PACKAGES]
    return g, private


def test_no_layer_imports_upward():
    g, _ = graph()
    upward = [(a, b) for a, b in g.edges if b.split(".")[0] not in ALLOWED[a.split(".")[0]]]
    assert upward == []


def test_no_import_cycles():
    g, _ = graph()
    assert list(nx.simple_cycles(g)) == []


def test_no_private_names_across_modules():
    _, private = graph()
    assert private == []
