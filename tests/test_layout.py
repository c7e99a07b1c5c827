"""The house rules, checked: no import cycles (imports inside functions count; type-only ones do
not), no module over 450 lines, streamlit only in app.py and the one UI subpackage, a thin
app.py and a short README."""

import ast
import functools
from pathlib import Path

from helpers import ROOT

PACKAGE = ROOT / "shirtsim"
UI = "shirtsim.web"
MAX_MODULE_LINES = 450


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, name: str) -> set[str]:
    """Every module ``path`` imports at run time (at the top or inside a function), resolved to
    full names; imports under ``if TYPE_CHECKING:`` are left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    type_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(n) for n in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


@functools.cache
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m in imported(path, name) if m in known and m != name} for name, path in known.items()}


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_no_module_is_over_450_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_streamlit_is_imported_only_by_app_py_and_the_ui_subpackage():
    users = {
        name for name, path in modules().items() if any(m.split(".")[0] == "streamlit" for m in imported(path, name))
    }
    assert users and all(name == UI or name.startswith(UI + ".") for name in users)
    into_the_ui = {
        name for name, deps in graph().items() if not name.startswith(UI) and any(d.startswith(UI) for d in deps)
    }
    assert into_the_ui == set()  # the library never imports the UI


def test_app_py_is_a_thin_entry_and_the_readme_short():
    assert len((ROOT / "app.py").read_text().splitlines()) <= 100
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_init_files_are_thin():
    fat = {
        name: len(path.read_text().splitlines())
        for name, path in modules().items()
        if path.name == "__init__.py" and len(path.read_text().splitlines()) > 15
    }
    assert fat == {}


def test_no_test_module_imports_another():
    """What tests share lives in helpers.py, conftest.py or tests/support/, not in a test module."""
    offenders = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name} imports {n}" for n in names if n.split(".")[0].startswith("test_")]
    assert offenders == []
