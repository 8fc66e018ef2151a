"""The layout rules of STYLE.md, checked: pure domains; services, and their tests, never import
each other."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
SERVICES = REPO / "services"
FRAMEWORKS = ("fastapi", "starlette", "sqlalchemy", "aiokafka", "asyncpg", "aiosqlite", "alembic")


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _service_packages() -> dict[str, Path]:
    return {
        package.name: package
        for package in SERVICES.glob("*/src/wangge/*")
        if package.is_dir() and (package / "__init__.py").exists()
    }


def test_there_are_services_to_check() -> None:
    assert "registry" in _service_packages()


def test_domain_packages_import_no_framework() -> None:
    offences = [
        f"{path.relative_to(REPO)} imports {name}"
        for package in _service_packages().values()
        for path in (package / "domain").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in FRAMEWORKS
    ]
    assert offences == []


# imports every module of a package (or the one module named), as the service's own code may
# import any of them alone
_PROBE = """
import importlib, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for module in pkgutil.walk_packages(getattr(package, "__path__", []), package.__name__ + "."):
    importlib.import_module(module.name)
print(" ".join(name for name in sys.argv[2:] if name in sys.modules))
"""


def _frameworks_loaded(
    package: str, env: Mapping[str, str] | None = None, names: tuple[str, ...] = FRAMEWORKS
) -> list[str]:
    """Which of ``names`` a fresh interpreter holds once it imported every module of
    ``package``."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, package, *names],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize("service", sorted(_service_packages()))
def test_domain_packages_load_no_framework_even_through_what_they_import(service: str) -> None:
    # the test above reads a domain's own imports; a kit module it imports may still pull in
    # SQLAlchemy (the key ring beside the sealed block once did), which only loading it shows
    assert _frameworks_loaded(f"wangge.{service}.domain") == []


def test_the_probe_sees_a_framework_that_a_domain_pulls_in_through_the_kit(
    tmp_path: Path,
) -> None:
    domain = tmp_path / "pulls_in_a_framework" / "domain"
    domain.mkdir(parents=True)
    (domain.parent / "__init__.py").write_text("")
    (domain / "__init__.py").write_text("")
    (domain / "keys.py").write_text("from wangge.events.sealing import KeyRing\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    assert "sqlalchemy" in _frameworks_loaded("pulls_in_a_framework.domain", env)


KERNEL = REPO / "libs" / "governance" / "src" / "wangge" / "governance"
PURE_KERNEL = (
    "addresses", "appointments", "care_schedule", "erasure", "errors", "hotline_figures",
    "personal", "redaction", "registry_events", "special_groups", "times",
)  # fmt: skip
"""The governance kernel's modules a domain may import."""
READ_MODEL_KERNEL = ("columns", "grid_workers", "place_tree", "roster")
"""The kernel's modules that write a service's read-model tables (SQLAlchemy): projections'."""
TEST_KERNEL = ("testing",)
"""The kernel's helpers for tests that feed those read models the registry's events."""


def test_every_kernel_module_is_pure_or_a_read_model_or_test_helper() -> None:
    # a module added to the kernel says which it is, so that a pure one is probed below
    modules = {path.stem for path in KERNEL.glob("*.py") if path.stem != "__init__"}
    assert modules == {*PURE_KERNEL, *READ_MODEL_KERNEL, *TEST_KERNEL}


@pytest.mark.parametrize("module", PURE_KERNEL)
def test_the_pure_kernel_modules_load_no_framework(module: str) -> None:
    assert _frameworks_loaded(f"wangge.governance.{module}") == []


def test_the_probe_of_one_module_sees_the_framework_it_loads() -> None:
    assert "sqlalchemy" in _frameworks_loaded("wangge.governance.place_tree")


def test_services_never_import_each_other() -> None:
    packages = _service_packages()
    offences = [
        f"{path.relative_to(REPO)} imports {name}"
        for own, package in packages.items()
        for path in package.rglob("*.py")
        for name in _imports(path)
        for other in packages
        if other != own and (name == f"wangge.{other}" or name.startswith(f"wangge.{other}."))
    ]
    assert offences == []


def _local_modules(folder: Path) -> dict[str, Path]:
    """The support modules a service's tests import by bare name (pytest's ``pythonpath``)."""
    return {path.stem: path for path in folder.glob("*.py") if path.stem != "conftest"}


def _reached(path: Path, local: dict[str, Path]) -> Iterator[str]:
    """What ``path`` imports, directly or through the support modules of its tests folder."""
    seen: set[Path] = set()
    todo = [path]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in _imports(current):
            yield name
            if name in local:
                todo.append(local[name])


def test_a_services_tests_never_import_another_service() -> None:
    # cross-service end-to-end tests live in the top-level tests/ (DESIGN.md section 2): a
    # service's tests that started another service would tie its suite to that one's code
    packages = _service_packages()
    folders = {own: package.parents[2] / "tests" for own, package in packages.items()}
    assert all(folder.is_dir() for folder in folders.values())
    offences = sorted(
        f"{path.relative_to(REPO)} imports {name}"
        for own, folder in folders.items()
        for path in folder.rglob("*.py")
        for name in set(_reached(path, _local_modules(folder)))
        for other in packages
        if other != own and (name == f"wangge.{other}" or name.startswith(f"wangge.{other}."))
    )
    assert offences == []


# One shape for every service (docs/adr/0008): what each has, in the same place
LAYOUT = (
    "app.py", "bootstrap.py", "cli.py", "config.py", "personal_data.py",
    "api/", "domain/", "handlers/", "migrations/", "projections/",
)  # fmt: skip
TEST_FOLDERS = ("unit", "handlers", "integration")
WEB = (
    "fastapi",
    "starlette",
    "wangge.service.app",
    "wangge.service.commands",
    "wangge.service.deps",
)
"""What a handler must not load: the web framework, and the kit's HTTP side."""
SQL_BUILDERS = frozenset({"select", "insert", "update", "delete", "func", "text"})


def _services() -> list[str]:
    return sorted(_service_packages())


@pytest.mark.parametrize("service", _services())
def test_every_service_has_the_same_layout(service: str) -> None:
    package = _service_packages()[service]
    missing = [
        entry
        for entry in LAYOUT
        if not (
            (package / entry.rstrip("/")).is_dir()
            if entry.endswith("/")
            else (package / entry).is_file()
        )
    ]
    tests = package.parents[2] / "tests"
    missing += [f"tests/{folder}/" for folder in TEST_FOLDERS if not (tests / folder).is_dir()]
    # through HTTP: the service's own e2e tests, or the top-level ones with the services it needs
    if not (tests / "e2e").is_dir() and not (REPO / "tests" / "e2e" / service).is_dir():
        missing.append("tests/e2e/")
    assert missing == []


@pytest.mark.parametrize("service", _services())
def test_every_service_readme_shows_its_layout(service: str) -> None:
    readme = (_service_packages()[service].parents[2] / "README.md").read_text()
    assert "## Layout" in readme
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    shown = set(layout.split())
    assert [entry for entry in LAYOUT if entry not in shown] == []


@pytest.mark.parametrize("service", _services())
def test_handlers_load_no_web_framework(service: str) -> None:
    # a handler runs the same under a route, the CLI and a test: HTTP is the routes' business
    assert _frameworks_loaded(f"wangge.{service}.handlers", names=WEB) == []


def test_the_probe_sees_the_web_framework_a_route_module_loads() -> None:
    assert "fastapi" in _frameworks_loaded("wangge.registry.api.places", names=WEB)


def _sql_built(path: Path, root: Path = REPO) -> list[str]:
    """The SQL a module builds itself: ``sa.select(...)`` and the like, or such names imported
    from SQLAlchemy."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in SQL_BUILDERS
            and isinstance(node.value, ast.Name)
            and node.value.id in ("sa", "sqlalchemy")
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno} sa.{node.attr}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [
                f"{path.relative_to(root)}:{node.lineno} imports {alias.name}"
                for alias in node.names
                if alias.name in SQL_BUILDERS
            ]
    return found


def test_routes_build_no_sql() -> None:
    # queries live beside the tables they read (a projection's query functions); a route calls
    # one, so a table's shape is known in one module
    offences = [
        found
        for package in _service_packages().values()
        for path in (package / "api").rglob("*.py")
        for found in _sql_built(path)
    ]
    assert offences == []


def test_the_sql_check_sees_a_select_and_an_imported_update(tmp_path: Path) -> None:
    module = tmp_path / "route.py"
    module.write_text("import sqlalchemy as sa\nfrom sqlalchemy import update\nq = sa.select(1)\n")
    assert sorted(_sql_built(module, tmp_path)) == [
        "route.py:2 imports update",
        "route.py:3 sa.select",
    ]
