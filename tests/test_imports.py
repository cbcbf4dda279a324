"""The ``codec`` package's modules import one another without a loop (issue 28.2), and by
layers (issue 28.1): the formats at the bottom, the runtime and the network code above them,
neither reaching the torch model.

The graph is read from the source with ``ast``, not by importing: every ``import`` and
``from ... import`` counts, at module level, inside functions (lazy imports) and under
``if TYPE_CHECKING:``. ``from .pkg import name`` is an edge to the module ``pkg.name`` when there
is one, else to ``pkg``. The packages a module sits in (imported by Python before it) are not
edges: a package's ``__init__`` may gather what its modules define.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "codec"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def external_imports(path: Path) -> set[str]:
    """The top-level names of the modules outside ``codec`` that a file imports (anywhere in it)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names - {"codec"}


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported module of the package: line of the first such import}."""
    files = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
    graph: dict[str, dict[str, int]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    parts = parts[:len(parts) - (node.level - 1)]
                    base = ".".join(parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base
                           for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in files:  # codec.x.y (a name in x) -> codec.x
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.setdefault(target, node.lineno)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One loop of ``graph`` as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_sees_every_kind_of_import():
    graph = import_graph()
    assert "codec.runtime.engine" in graph["codec.runtime.api"]    # module level, relative
    assert "codec.model.onnx_runtime" in graph["codec.model.codec"]  # inside a function
    assert "codec.model" in graph["codec"]                         # the public load_model's
    assert "codec.runtime.engine" in graph["codec.runtime.protocols"]  # under TYPE_CHECKING
    assert "codec.formats.bitstream" in graph["codec.runtime.api"]  # from ..pkg import module
    assert "torch" in external_imports(ROOT / "model" / "nn" / "int8.py")  # outside codec


def test_find_cycle_finds_a_loop():
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {}, "c": {"a": 1, "b": 1}}) is None


def test_no_import_loops():
    graph = import_graph()
    cycle = find_cycle(graph)
    if cycle:
        steps = [f"{a} -> {b} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])]
        raise AssertionError("import loop in codec: " + ", ".join(steps))


TORCH_SIDE = ("codec.model", "codec.train", "codec.evaluation")
TORCH = {"torch", "torchaudio"}
# Needs no torch: the runtime, the network code, the formats, and the pure-Python modules they
# share with the model (the CLI too; ``tests/test_torch_free.py`` runs it with torch blocked).
# The package's ``__init__`` (the public API, above both worlds) is neither: its
# ``load_model()`` is where a caller asks for the torch model by name.
TORCH_FREE = ("codec.runtime", "codec.formats", "codec.net", "codec.config", "codec.errors",
              "codec.version", "codec.__main__")
# the bottom layer, and the only modules of the package it may import
FORMATS = ("codec.formats",)
BELOW_FORMATS = ("codec.errors", "codec.version")


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def reached(graph: dict[str, dict[str, int]], start: str) -> dict[str, list[str]]:
    """Every module ``start`` imports, directly or through others: module -> the import chain."""
    chains = {start: [start]}
    todo = [start]
    while todo:
        module = todo.pop()
        for nxt in graph.get(module, {}):
            if nxt not in chains:
                chains[nxt] = chains[module] + [nxt]
                todo.append(nxt)
    return chains


def modules(prefixes: tuple[str, ...]) -> list[str]:
    found = [m for m in import_graph() if within(m, prefixes)]
    assert found, prefixes
    return found


def test_the_torch_free_side_reaches_nothing_of_the_torch_model():
    """The runtime, the network code, the formats, config, errors and the CLI reach a torch
    ``Codec`` only through the Codec's own methods (``runtime_engine``, ``eager_streams``),
    never by importing the torch side, directly or through another module, lazily or not."""
    graph = import_graph()
    upward = [" -> ".join(chain) for m in modules(TORCH_FREE)
              for n, chain in sorted(reached(graph, m).items()) if within(n, TORCH_SIDE)]
    assert not upward, "the torch-free side imports the torch side: " + ", ".join(upward)


def test_the_torch_free_side_imports_no_torch():
    graph = import_graph()
    files = {module_name(p): p for p in ROOT.rglob("*.py")}
    found = [f"{' -> '.join(chain)} imports {', '.join(sorted(TORCH & external_imports(files[n])))}"
             for m in modules(TORCH_FREE) for n, chain in sorted(reached(graph, m).items())
             if TORCH & external_imports(files[n])]
    assert not found, found


def test_the_formats_are_the_bottom_layer():
    """The formats import only one another, ``codec.errors`` and ``codec.version`` (and
    numpy): nothing of the runtime, the network code, the model or training."""
    graph = import_graph()
    files = {module_name(p): p for p in ROOT.rglob("*.py")}
    upward = [" -> ".join(chain) for m in modules(FORMATS)
              for n, chain in sorted(reached(graph, m).items())
              if not within(n, FORMATS + BELOW_FORMATS)]
    assert not upward, "the formats import above them: " + ", ".join(upward)
    for m in modules(FORMATS + BELOW_FORMATS):
        assert external_imports(files[m]) <= {"numpy", "__future__", "struct", "zlib",
                                               "dataclasses", "enum", "math", "numbers"}, m
