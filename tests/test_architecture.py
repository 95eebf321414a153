"""Package structure: `hooks` never imports `scaffolder` (one-way dependency), no import hides
inside a function (a cycle dodged at run time) except Copier's, which is imported only when
needed, `scaffolder.errors` imports nothing of scaffolder but `_constants` (so every module can
import it), every module opens with a one-line summary."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

# Third-party packages imported inside the functions that call them, never at the top: Copier
# takes about a second to import, which `--help`, `check`, `config` and `fleet status` skip.
LAZILY_IMPORTED = frozenset({"copier"})
MODULES = sorted(
    [
        *(REPO_ROOT / "scaffolder").glob("*.py"),
        *(REPO_ROOT / "scaffolder").glob("*/*.py"),  # sub-packages: scaffolder/errors/
        *(REPO_ROOT / "hooks").glob("*.py"),
    ]
)
ERRORS_MODULES = sorted((REPO_ROOT / "scaffolder" / "errors").glob("*.py"))


def imported_modules(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def function_level_imports(tree: ast.AST) -> list[int]:
    """Lines of the imports inside functions, but for those of LAZILY_IMPORTED packages."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines.extend(
                inner.lineno
                for inner in ast.walk(node)
                if isinstance(inner, ast.Import | ast.ImportFrom) and not _is_lazy(inner)
            )
    return lines


def _is_lazy(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        names = [node.module] if node.module and node.level == 0 else []
    return bool(names) and all(name.split(".")[0] in LAZILY_IMPORTED for name in names)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_module_structure(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    relative = path.relative_to(REPO_ROOT)
    if path.parent.name == "hooks":
        into_scaffolder = [
            line for name, line in imported_modules(tree) if name.split(".")[0] == "scaffolder"
        ]
        assert into_scaffolder == [], f"{relative} imports scaffolder (lines {into_scaffolder})"
    assert function_level_imports(tree) == [], f"{relative} imports inside a function"
    docstring = ast.get_docstring(tree)
    assert docstring, f"{relative} has no module docstring"
    summary = docstring.splitlines()[0]
    assert summary.endswith((".", "?")), f"{relative}: the docstring's first line is no sentence"


@pytest.mark.parametrize("path", ERRORS_MODULES, ids=lambda path: path.name)
def test_errors_import_nothing_of_scaffolder_but_constants(path: Path) -> None:
    """Any module may import `scaffolder.errors`: it imports only itself and `_constants`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    outside = [
        (node.module, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.level > 1
        and not (node.level == 2 and node.module == "_constants")
    ]
    outside += [
        (name, line) for name, line in imported_modules(tree) if name.split(".")[0] == "scaffolder"
    ]
    assert outside == [], f"{path.relative_to(REPO_ROOT)} imports more of scaffolder: {outside}"


@pytest.mark.parametrize(
    ("module", "not_loaded"),
    [
        # Every verb starts without Copier's import cost; those that render pay it when they do.
        ("scaffolder.cli", "copier"),
        # `hooks` stands alone: importing it never pulls in `scaffolder`.
        ("hooks", "scaffolder"),
    ],
)
def test_importing_a_module_leaves_another_unloaded(module: str, not_loaded: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", f"import sys, {module}; print({not_loaded!r} in sys.modules)"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "False"
