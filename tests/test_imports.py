"""The ``codec`` package's modules import one another without a loop (issue 28.2).

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
    assert "codec.engine" in graph["codec.api"]                 # module level, relative
    assert "codec.model" in graph["codec.api"]                  # inside a function
    assert "codec.config" in graph["codec.nn.registry"]         # under TYPE_CHECKING
    assert "codec.bitstream" in graph["codec.api"]              # from . import module


def test_find_cycle_finds_a_loop():
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {}, "c": {"a": 1, "b": 1}}) is None


def test_no_import_loops():
    graph = import_graph()
    cycle = find_cycle(graph)
    if cycle:
        steps = [f"{a} -> {b} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])]
        raise AssertionError("import loop in codec: " + ", ".join(steps))


TORCH_SIDE = ("codec.model", "codec.quantize", "codec.nn", "codec.train", "codec.evaluation")
# the public API's load_model() is where a caller asks for the torch model by name
UPWARD_ALLOWED = {("codec.api", "codec.model")}


def on_torch_side(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in TORCH_SIDE)


def test_the_runtime_imports_nothing_of_the_torch_model():
    """The runtime (numpy + ONNX Runtime) reaches a torch ``Codec`` only through the Codec's own
    methods (``runtime_engine``, ``eager_streams``), never by importing the torch side, lazily
    or not; only ``api.load_model`` imports ``codec.model``."""
    graph = import_graph()
    upward = [f"{m} -> {n} (line {line})" for m, edges in sorted(graph.items())
              if not on_torch_side(m)
              for n, line in sorted(edges.items())
              if on_torch_side(n) and (m, n) not in UPWARD_ALLOWED]
    assert not upward, "the runtime imports the torch side: " + ", ".join(upward)
