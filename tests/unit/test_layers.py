"""The layers: admin → changes → forms → services → models (and the import contracts of pyproject.toml).

import-linter checks the packages (`make lint`); the single-file modules it cannot see (app.py,
extensions.py, config.py) and the project hook's rule ("services/ and models/ never import admin/
or forms/") are checked here by reading the source, function-local imports included.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("admin", "api", "bench", "changes", "cli", "forms", "models", "public", "services")
TOP_MODULES = ("app", "config", "extensions")
PROJECT = set(PACKAGES) | set(TOP_MODULES)


def imported_roots(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level name) of every absolute import in the file, wherever it stands."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def offending(package: str, forbidden: set[str]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {name}"
            for path in sorted((ROOT / package).rglob("*.py"))
            for line, name in imported_roots(path) if name in forbidden]


def test_services_import_nothing_from_the_screens():
    assert offending("services", {"admin", "api", "changes", "forms", "cli", "public", "app", "bench"}) == []


def test_models_import_nothing_from_above():
    assert offending("models", {"services", "admin", "api", "changes", "forms", "cli", "public", "app", "bench"}) == []


def test_forms_import_no_screen():
    assert offending("forms", {"admin", "api", "changes", "cli", "public", "app", "bench"}) == []


def test_change_types_import_no_screen():
    assert offending("changes", {"admin", "api", "cli", "public", "app", "bench"}) == []


@pytest.mark.parametrize("module", ["extensions", "config"])
def test_extensions_and_config_sit_below_the_models(module):
    """Everything imports extensions.py (db) and config.py; they import only third-party code."""
    assert [name for _, name in imported_roots(ROOT / f"{module}.py") if name in PROJECT] == []


def test_only_the_entry_points_import_the_app():
    """app.py is the composition root: no package imports it (tests and bench build the app)."""
    importers = [hit for package in ("admin", "api", "changes", "cli", "forms", "models", "public", "services")
                 for hit in offending(package, {"app"})]
    assert importers == []


def contracts() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]


def test_every_package_has_its_layer():
    """A package outside the layers could sit in a cycle with them: every package of the repository
    (tests aside) is a root package of import-linter and stands in one layer."""
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    config = contracts()
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    in_layers = {name.strip() for layer in layers for name in layer.split("|")}
    assert set(config["root_packages"]) == on_disk == in_layers == set(PACKAGES)


def test_change_types_are_the_declared_ones():
    """The independence contract names exactly the modules that declare change types."""
    import changes

    independent = next(c for c in contracts()["contracts"] if c["type"] == "independence")["modules"]
    assert set(independent) == {m.__name__ for m in changes.MODULES}


def test_import_contracts_hold():
    """The contracts of pyproject.toml: the layers, and the change types independent of each other."""
    pytest.importorskip("importlinter")
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
