"""The package's shape: imports run one way (command line and server -> stages and evaluation -> model, data,
rewards -> understanding, generation, video, connectors -> config) and never in a circle. Imports inside functions
count too: a deferred import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = {"nsp": REPO / "nsp", "nsp.stages": REPO / "stages", "nsp.connectors": REPO / "connectors"}
LAYERS = [  # lowest first; a module may import its own layer and those below
    ("nsp", "nsp.config", "nsp.environment", "nsp.errors", "nsp.files", "nsp.local_models", "nsp.runtime",
     "nsp.plots"),
    ("nsp.understanding", "nsp.generation", "nsp.video", "nsp.connectors"),
    ("nsp.model", "nsp.pipeline", "nsp.data", "nsp.rewards"),
    ("nsp.stages", "nsp.evaluation"),
    ("nsp.cli", "nsp.serve"),
]


def modules() -> dict[str, Path]:
    found = {}
    for package, root in ROOTS.items():
        for path in root.rglob("*.py"):
            name = ".".join((package, *path.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
            found[name] = path
    return found


def import_graph() -> dict[str, set[str]]:
    mods = modules()

    def known(name: str) -> str:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps |= {known(a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: package.count(".") + 2 - node.level]
                    base = ".".join(parts + ([node.module] if node.module else []))
                subs = {f"{base}.{a.name}" for a in node.names} & mods.keys()
                deps |= subs if len(subs) == len(node.names) else subs | {known(base)}
        graph[name] = {d for d in deps if d and d != name}
    return graph


def layer(name: str) -> int:
    best = max((p for group in LAYERS for p in group if name == p or name.startswith(p + ".")), key=len)
    return next(i for i, group in enumerate(LAYERS) if best in group)


def test_every_module_has_a_layer_and_imports_only_its_own_or_lower_ones():
    upward = [f"{m} -> {d}" for m, deps in import_graph().items() for d in deps if layer(d) > layer(m)]
    assert not upward, "imports against the layers:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    graph = import_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep] if dep in path else [node, dep]
            if dep not in state and (cycle := visit(dep, path + [dep])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [start])
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_import_nsp_leaves_the_process_alone():
    # A library must not change its user's environment, nor pull in the heavy libraries before they are used.
    import subprocess
    import sys

    code = ("import os, sys; before = dict(os.environ); import nsp; "
            "changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)); "
            "heavy = sorted({'torch', 'transformers', 'diffusers', 'deepspeed'} & set(sys.modules)); "
            "print(changed, heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[] []"
