"""The package's shape: every module imports (so a dependency missing from
pyproject.toml fails here), imports form no cycle, no stage reaches into a
later one, and no module grows past the size one reader can hold."""
import ast
import importlib
import pkgutil
from pathlib import Path

import pipeline

PKG = Path(pipeline.__file__).parent
# the order of the stage packages: a package may import only from itself,
# from earlier ones and from the shared top-level modules
ORDER = ["read", "structure", "archive", "batch", "publish"]
SHARED = {"models", "lexicon"}


def _modules():
    return sorted(m.name for m in pkgutil.walk_packages([str(PKG)], "pipeline."))


def test_every_module_imports():
    names = _modules()
    assert "pipeline.read.ocr" in names and "pipeline.cli" in names
    for name in names:
        importlib.import_module(name)


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("pipeline"))
    return out


def _graph() -> dict[str, set[str]]:
    files = {("pipeline." + ".".join(p.relative_to(PKG).with_suffix("").parts)).removesuffix(".__init__"): p
             for p in PKG.rglob("*.py")}
    return {m: {i for i in _imports(p) if i in files and i != m} for m, p in files.items()}


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for n in graph[m]:
            assert state.get(n) != 1, "import cycle: " + " -> ".join(path + [n])
            if n not in state:
                visit(n, path + [n])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])


def test_stages_import_only_earlier_stages():
    for mod, deps in _graph().items():
        parts = mod.split(".")
        if len(parts) < 3 or parts[1] not in ORDER:
            continue
        own = ORDER.index(parts[1])
        for dep in deps:
            dparts = dep.split(".")
            if len(dparts) >= 2 and dparts[1] in ORDER:
                assert ORDER.index(dparts[1]) <= own, f"{mod} imports the later {dep}"
            elif len(dparts) >= 2:
                assert dparts[1] in SHARED, f"{mod} imports {dep}"


def test_no_module_over_700_lines():
    for p in PKG.rglob("*.py"):
        n = len(p.read_text(encoding="utf-8").splitlines())
        assert n <= 700, f"{p.relative_to(PKG)} has {n} lines"
