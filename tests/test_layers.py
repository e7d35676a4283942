"""Every import inside ``src/flowruns`` follows the layer rules that ``docs/architecture.md``
states, read from the page itself, so the page cannot describe imports the code does not have.

The page's "Layers" section holds two tables. The first names each layer by its paths below
``src/flowruns`` (``store/`` a package, ``errors.py`` a module, ``__init__.py`` the package root)
and what it may import of flowruns besides its own modules; a module belongs to the layer whose
path names it most closely, so ``odata/semantic.py`` has a rule of its own within ``odata/``. The
second names libraries only some layers may import.

Every import counts: ``import flowruns.x`` and ``from … import …``, absolute or relative, at the
top of a module, inside a function, or under ``if TYPE_CHECKING``. ``from package import name``
is an import of the module ``package.name`` when there is one, else of ``package``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "flowruns"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
_PATH = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Layer:
    """One row of the layer table: its paths, and the paths it may import besides its own."""

    paths: tuple[str, ...]
    may_import: tuple[str, ...]

    @property
    def name(self) -> str:
        return ", ".join(self.paths)


@dataclass(frozen=True)
class Rules:
    layers: tuple[Layer, ...]
    # Library (top-level import name) → the paths whose modules may import it.
    libraries: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Import:
    line: int
    module: str  # dotted, as resolved: "flowruns.store.entities", "sqlalchemy.exc"


def covers(path: str, target: str) -> bool:
    """Whether a rule's ``path`` names the module at ``target`` (both relative to the package):
    ``store/`` every module below it, ``errors.py`` that module only."""
    return target.startswith(path) if path.endswith("/") else target == path


# -- the rules, as the architecture page states them ------------------------------------------


def _table(section: str, header: str) -> list[tuple[list[str], list[str]]]:
    """The rows of the markdown table starting with ``header``: the backticked names of its two
    cells ("nothing" holds none)."""
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        first, second = line.strip("|").split("|")
        rows.append((_PATH.findall(first), _PATH.findall(second)))
    return rows


def parse_rules(markdown: str) -> Rules:
    start = markdown.index("\n## Layers\n")
    section = markdown[start : markdown.index("\n## ", start + 1)]
    layers = tuple(
        Layer(tuple(paths), tuple(allowed))
        for paths, allowed in _table(section, "| Layer | May import")
    )
    libraries = {
        library: tuple(paths)
        for names, paths in _table(section, "| Library | Imported only by")
        for library in names
    }
    return Rules(layers, libraries)


@pytest.fixture(scope="module")
def rules() -> Rules:
    return parse_rules(ARCHITECTURE.read_text())


# -- the imports, as the code has them ----------------------------------------------------------


def relative_path(module: str) -> str | None:
    """Where the flowruns module ``module`` lives, relative to the package; None if nowhere."""
    parts = module.split(".")[1:]
    file = PACKAGE.joinpath(*parts).with_suffix(".py") if parts else None
    if file is not None and file.is_file():
        return file.relative_to(PACKAGE).as_posix()
    init = PACKAGE.joinpath(*parts, "__init__.py")
    return init.relative_to(PACKAGE).as_posix() if init.is_file() else None


def _module_name(path: str) -> str:
    """The dotted name of the module at ``path`` (relative to the package)."""
    parts = ["flowruns", *Path(path).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, path: str) -> list[Import]:
    """Every import in ``source``, the module at ``path``, anywhere in it, resolved."""
    package = _module_name(path).split(".")
    if not path.endswith("__init__.py"):
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                named = origin.startswith("flowruns") and relative_path(submodule) is not None
                found.append(Import(node.lineno, submodule if named else origin))
    return sorted(found, key=lambda i: i.line)


def modules() -> Iterator[str]:
    for file in sorted(PACKAGE.rglob("*.py")):
        yield file.relative_to(PACKAGE).as_posix()


# -- the check ----------------------------------------------------------------------------------


def layer_of(path: str, rules: Rules) -> Layer | None:
    """The layer whose path names ``path`` most closely."""
    named = [(len(p), layer) for layer in rules.layers for p in layer.paths if covers(p, path)]
    return max(named, key=lambda found: found[0])[1] if named else None


def violations(path: str, source: str, rules: Rules) -> list[str]:
    """What the module at ``path`` imports against the rules, one message per import."""
    layer = layer_of(path, rules)
    if layer is None:
        return [f"src/flowruns/{path} belongs to no layer of the table in docs/architecture.md"]
    broken = []
    for found in imports_of(source, path):
        where = f"src/flowruns/{path}:{found.line} imports {found.module}"
        top = found.module.split(".")[0]
        if top == "flowruns":
            target = relative_path(found.module)
            if target is None:
                broken.append(f"{where}, which is no module of flowruns")
                continue
            allowed = layer.paths + layer.may_import
            if not any(covers(p, target) for p in allowed):
                owner = layer_of(target, rules)
                broken.append(
                    f"{where} ({owner.name if owner else target}), but {layer.name} may import "
                    f"only {', '.join(layer.may_import) or 'nothing'} of flowruns besides itself"
                )
        elif top in rules.libraries:
            permitted = rules.libraries[top]
            if not any(covers(p, path) for p in permitted):
                broken.append(f"{where}, which only {', '.join(permitted)} may import")
    return broken


def test_every_import_follows_the_layer_rules(rules: Rules) -> None:
    broken = [
        message
        for path in modules()
        for message in violations(path, (PACKAGE / path).read_text(), rules)
    ]
    assert not broken, "Imports against the rules of docs/architecture.md, Layers:\n" + "\n".join(
        broken
    )


def test_every_allowance_in_the_tables_is_used(rules: Rules) -> None:
    """The page says what the code does, no more: an allowance no import uses is a rule looser
    than the code, to be tightened (or the import it was kept for is gone)."""
    unused = {(layer.name, p) for layer in rules.layers for p in layer.may_import}
    unused |= {(library, p) for library, paths in rules.libraries.items() for p in paths}
    for path in modules():
        layer = layer_of(path, rules)
        assert layer is not None
        for found in imports_of((PACKAGE / path).read_text(), path):
            top = found.module.split(".")[0]
            target = relative_path(found.module) if top == "flowruns" else None
            if target is not None:
                unused -= {(layer.name, p) for p in layer.may_import if covers(p, target)}
            elif top in rules.libraries:
                unused -= {(top, p) for p in rules.libraries[top] if covers(p, path)}
    assert not unused, "docs/architecture.md allows imports no module makes:\n" + "\n".join(
        f"{who} may import {what}" for who, what in sorted(unused)
    )


def test_the_rule_tables_name_real_paths_each_once(rules: Rules) -> None:
    named = [p for layer in rules.layers for p in layer.paths]
    assert len(named) == len(set(named)), "a path heads two rows of the layer table"
    every = named + [p for layer in rules.layers for p in layer.may_import]
    every += [p for paths in rules.libraries.values() for p in paths]
    for path in every:
        exists = (PACKAGE / path).is_dir() if path.endswith("/") else (PACKAGE / path).is_file()
        assert exists, f"docs/architecture.md names {path}, which is not in src/flowruns"


def test_the_tables_state_the_rules_the_design_asks_for(rules: Rules) -> None:
    """The few rules the whole design leans on, so that loosening one in the table is a visible
    change to this test too."""
    by_path = {p: layer for layer in rules.layers for p in layer.paths}
    assert by_path["edm/"].may_import == ()
    assert by_path["records.py"].may_import == ("edm/",)
    assert by_path["odata/semantic.py"].may_import == ("edm/",)
    assert not {"store/", "service/", "api/"} & set(by_path["odata/"].may_import)
    assert set(by_path["store/"].may_import) & {"odata/", "service/", "api/"} == set()
    assert "api/" not in by_path["service/"].may_import
    assert by_path["cli/runs.py"].may_import == ("client/",)
    importers_of_api = {layer.name for layer in rules.layers if "api/" in layer.may_import}
    assert importers_of_api == {by_path["cli/"].name}
    assert "service/" not in rules.libraries["sqlalchemy"]


# -- the checker itself can fail ----------------------------------------------------------------

_BROKEN_STORE_MODULE = """
from typing import TYPE_CHECKING

import sqlalchemy

from flowruns.edm.model import EntityType
from . import entities
from ..odata import query

if TYPE_CHECKING:
    from flowruns.api.app import create_app


def late() -> None:
    from flowruns.service import reading
"""


def test_the_checker_finds_each_kind_of_import_against_the_rules(rules: Rules) -> None:
    broken = violations("store/example.py", _BROKEN_STORE_MODULE, rules)
    assert broken == [
        "src/flowruns/store/example.py:8 imports flowruns.odata.query (odata/), but store/ may "
        "import only edm/, errors.py, records.py, datadir.py, odata/semantic.py, "
        "odata/literals.py of flowruns besides itself",
        "src/flowruns/store/example.py:11 imports flowruns.api.app (api/), but store/ may "
        "import only edm/, errors.py, records.py, datadir.py, odata/semantic.py, "
        "odata/literals.py of flowruns besides itself",
        "src/flowruns/store/example.py:15 imports flowruns.service.reading (service/), but "
        "store/ may import only edm/, errors.py, records.py, datadir.py, odata/semantic.py, "
        "odata/literals.py of flowruns besides itself",
    ]


def test_the_checker_resolves_relative_imports_and_names_in_packages() -> None:
    imports = imports_of(
        "from . import entities\nfrom .. import errors\nfrom ..odata.semantic import Expr\n"
        "from flowruns.odata import semantic as s\nfrom flowruns import __version__\n",
        "store/queries.py",
    )
    assert [i.module for i in imports] == [
        "flowruns.store.entities",
        "flowruns.errors",
        "flowruns.odata.semantic",
        "flowruns.odata.semantic",
        "flowruns",
    ]
    [inside] = imports_of("from .routes import routes\n", "dashboard/__init__.py")
    assert inside.module == "flowruns.dashboard.routes"


def test_the_checker_holds_service_to_no_sqlalchemy(rules: Rules) -> None:
    [message] = violations("service/example.py", "from sqlalchemy import select\n", rules)
    assert message.startswith("src/flowruns/service/example.py:1 imports sqlalchemy, which only")


def test_a_module_outside_every_layer_is_reported(rules: Rules) -> None:
    assert violations("newlayer/thing.py", "", rules) == [
        "src/flowruns/newlayer/thing.py belongs to no layer of the table in docs/architecture.md"
    ]
