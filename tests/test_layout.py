"""The package's shape: no module reaches for another's private names, no two modules import each other,
and every import follows the layers that ``colorlab/__init__.py`` lists.

Both tests read colorlab's source with :mod:`ast` and import nothing of it.

- A private name (a leading ``_``) is private to the module that defines it: ``from .color import
  _linear_to_srgb`` or ``color._linear_to_srgb`` in another module is refused. A module whose file name
  starts with ``_`` (``colorlab/_validate.py``) is private to the package, not to itself: any colorlab
  module may import it and its public names, but not the ``_names`` inside it.
- The import graph of colorlab's modules (imports at module level and inside functions alike, since
  both run, only those under ``if TYPE_CHECKING:`` left out) has no cycle. An edge goes to the module
  the import names: ``from .models import build_model`` to ``colorlab.models``, ``from .models.cnn
  import conv_block`` to ``colorlab.models.cnn``, ``from . import files`` to ``colorlab.files``; the
  packages Python initialises on the way are not edges, or every package would form a cycle with the
  modules its ``__init__`` imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "colorlab"


def _module_name(path: Path) -> str:
    parts = ("colorlab", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute name of what ``from <node.module> import ...`` in ``module`` reads from."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]  # a plain module's relative imports start from its package
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:``: they never run."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skipped


def _source(module: str) -> str:
    return MODULES[module].read_text(encoding="utf-8")


def _imports(module: str, tree: ast.AST):
    """(line, imported module, name taken from it or None, local binding of the module or None)."""
    skipped = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None, alias.asname or alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in MODULES:  # `from . import files`: the module itself
                    yield node.lineno, submodule, None, alias.asname or alias.name
                else:
                    yield node.lineno, source, alias.name, None


def _dotted(node: ast.AST) -> str | None:
    """'colorlab.color' for the expression ``colorlab.color``; None for anything but a chain of names."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def private_reaches(module: str, source: str | None = None) -> list[str]:
    """Every place where ``module`` (its file, or ``source`` in its place) uses another colorlab module's private name."""
    tree = ast.parse(_source(module) if source is None else source)
    found = []
    bound = {}  # local name -> the colorlab module it stands for
    for line, target, name, binding in _imports(module, tree):
        if target not in MODULES or target == module:
            continue
        if name is None:
            bound[binding] = target if binding != "colorlab" or "." not in target else "colorlab"
        elif _is_private(name):
            found.append((line, f"{module} line {line}: from {target} import {name}"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        chain = _dotted(node.value)
        if chain is None:
            continue
        head, *rest = chain.split(".")
        if head not in bound:
            continue
        owner = ".".join([bound[head], *rest])
        if owner in MODULES and owner != module and f"{owner}.{node.attr}" not in MODULES:
            found.append((node.lineno, f"{module} line {node.lineno}: {chain}.{node.attr}"))
    return [text for _, text in sorted(found)]


def import_graph() -> dict[str, set[str]]:
    graph = {m: set() for m in MODULES}
    for module in MODULES:
        for _, target, _, _ in _imports(module, ast.parse(_source(module))):
            if target in MODULES and target != module:
                graph[module].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
                components.append(set(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)

    found = []
    for component in components:
        start = min(component)
        # the shortest way back to start, by breadth-first search inside the component
        paths = {start: [start]}
        queue = [start]
        while queue:
            v = queue.pop(0)
            for w in sorted(graph[v] & component):
                if w == start:
                    found.append(paths[v] + [start])
                    queue = []
                    break
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    queue.append(w)
    return sorted(found)


# ------------------------------------------------------------------ the checks themselves


def test_the_walk_sees_the_whole_package():
    assert {"colorlab", "colorlab.color", "colorlab._validate", "colorlab.models", "colorlab.models.cnn"} <= set(MODULES)


def test_the_detectors_catch_what_they_are_for():
    # Both detectors on code written for the purpose, so that a clean package does not hide a blind detector.
    reaching = (
        "from .color import _linear_to_srgb, rgb_to_lab\n"
        "from . import losses, _validate\n"
        "from ._validate import describe\n"
        "import colorlab.quantize\n"
        "def f():\n"
        "    from .models.cnn import _hidden\n"
        "    return losses._gaussian_kernel(3), colorlab.quantize._grid, losses.__name__, _validate.describe\n"
        "if TYPE_CHECKING:\n"
        "    from .train import _ignored\n"
    )
    assert private_reaches("colorlab.metrics", reaching) == [
        "colorlab.metrics line 1: from colorlab.color import _linear_to_srgb",
        "colorlab.metrics line 6: from colorlab.models.cnn import _hidden",
        "colorlab.metrics line 7: colorlab.quantize._grid",
        "colorlab.metrics line 7: losses._gaussian_kernel",
    ]
    # a package's own relative imports start from the package, a module's from its parent
    assert private_reaches("colorlab.models", "from .cnn import _x\nfrom ..color import _y\n") == [
        "colorlab.models line 1: from colorlab.models.cnn import _x",
        "colorlab.models line 2: from colorlab.color import _y",
    ]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_a_private_name_of_another():
    found = [line for module in MODULES for line in private_reaches(module)]
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_the_import_graph_has_no_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def layers() -> dict[str, int]:
    """The layer of each top-level module or package, from the numbered list in colorlab/__init__.py's docstring."""
    import re

    doc = ast.get_docstring(ast.parse(_source("colorlab")))
    items: dict[int, str] = {}
    number = None
    for line in doc.splitlines():
        start = re.match(r"^(\d+)\. (.*)", line)
        if start:
            number = int(start.group(1))
            items[number] = start.group(2)
        elif number is not None and line.startswith("   "):
            items[number] += " " + line.strip()  # an item continued on the next line
        else:
            number = None  # the list has ended
    # an item names its modules before the first colon: "``color``, ``quantize``: what they are"
    return {f"colorlab.{name}": number for number, text in items.items()
            for name in re.findall(r"``(\w+)``", text.split(": ")[0])}


def _top(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_every_module_has_a_layer():
    listed = layers()
    assert len(set(listed.values())) >= 5, listed  # the list was read
    missing = sorted({_top(m) for m in MODULES if m != "colorlab"} - set(listed))
    assert not missing, f"modules that colorlab/__init__.py's layers do not list: {missing}"


def upward_imports(graph: dict[str, set[str]], listed: dict[str, int]) -> list[str]:
    """Each import of a module from a later layer than its own, as a line."""
    return sorted(f"{module} (layer {listed[_top(module)]}) imports {target} (layer {listed[_top(target)]})"
                  for module, targets in graph.items() if module != "colorlab" and _top(module) in listed
                  for target in targets if _top(target) in listed and listed[_top(target)] > listed[_top(module)])


def test_the_layer_check_catches_an_upward_import():
    listed = {"colorlab.color": 2, "colorlab.models": 5}
    graph = {"colorlab.color": {"colorlab.models.cnn"}, "colorlab.models.cnn": {"colorlab.color"}}
    assert upward_imports(graph, listed) == ["colorlab.color (layer 2) imports colorlab.models.cnn (layer 5)"]


def test_data_flows_one_way():
    upward = upward_imports(import_graph(), layers())
    assert not upward, "imports from a later layer:\n" + "\n".join(upward)
