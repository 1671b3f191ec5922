"""The layers' rules, read from the source: who may import what, and how long a module may grow.

Dependencies point inward (`api → services → domain`; `store` and `wire` serve the others), so each
layer names what it must never import. Every import counts: inside functions, under TYPE_CHECKING,
relative ones resolved to the module they name.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SOURCE = Path(__file__).parents[1] / "src" / "orderdesk"
MAX_LINES = 400
LAYERS = ("domain", "services", "wire", "store", "api")


@dataclass(frozen=True)
class Import:
    name: str
    line: int


def imports_of(source: str, package: str) -> list[Import]:
    """Every module (or module.name) the source imports; `package` is what its relative imports start from."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            # `from orderdesk.store import tables` imports the module orderdesk.store.tables, so the name
            # joins the module: a rule on orderdesk.store.tables must see it.
            found += [Import(base if alias.name == "*" else f"{base}.{alias.name}", node.lineno)
                      for alias in node.names]
    return sorted(found, key=lambda item: (item.line, item.name))


def _absolute(module: str | None, level: int, package: str) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".")
    if level - 1 >= len(parts):
        raise ValueError(f"a relative import of level {level} climbs out of {package}")
    base = parts[:len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def is_within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def forbidden(imports: list[Import], prefixes: tuple[str, ...]) -> list[Import]:
    return [item for item in imports if any(is_within(item.name, prefix) for prefix in prefixes)]


def outside_the_standard_library(imports: list[Import], own: str) -> list[Import]:
    return [item for item in imports
            if not is_within(item.name, own) and item.name.split(".")[0] not in sys.stdlib_module_names]


def is_too_long(source: str) -> bool:
    return len(source.splitlines()) > MAX_LINES


def modules(under: Path = SOURCE) -> list[Path]:
    return sorted(under.rglob("*.py"))


def package_of(path: Path) -> str:
    parts = ("orderdesk", *path.relative_to(SOURCE).parts)
    return ".".join(parts[:-1])


def imports_in(path: Path) -> list[Import]:
    return imports_of(path.read_text(encoding="utf-8"), package_of(path))


def report(path: Path, offending: list[Import]) -> str:
    where = path.relative_to(SOURCE.parents[1])
    return "\n".join(f"{where}:{item.line} imports {item.name}" for item in offending)


def layer(name: str):
    paths = modules(SOURCE / name)
    return pytest.mark.parametrize("path", paths, ids=[str(path.relative_to(SOURCE)) for path in paths])


# --- the rules ----------------------------------------------------------------------------------------

@layer("domain")
def test_domain_imports_only_the_standard_library_and_itself(path):
    offending = outside_the_standard_library(imports_in(path), "orderdesk.domain")
    assert not offending, report(path, offending)


@layer("services")
def test_services_import_no_database_web_framework_or_wire_format(path):
    offending = forbidden(imports_in(path), ("sqlalchemy", "litestar", "orderdesk.api", "orderdesk.wire",
                                             "orderdesk.store.tables"))
    assert not offending, report(path, offending)


@layer("wire")
def test_wire_imports_neither_the_store_nor_the_services(path):
    offending = forbidden(imports_in(path), ("orderdesk.store", "orderdesk.services"))
    assert not offending, report(path, offending)


@layer("store")
def test_store_imports_neither_the_api_nor_the_services(path):
    offending = forbidden(imports_in(path), ("orderdesk.api", "orderdesk.services"))
    assert not offending, report(path, offending)


@layer("api")
def test_api_imports_no_sqlalchemy(path):
    offending = forbidden(imports_in(path), ("sqlalchemy",))
    assert not offending, report(path, offending)


@pytest.mark.parametrize("path", [path for path in modules() if "api" not in path.relative_to(SOURCE).parts],
                         ids=lambda path: str(path.relative_to(SOURCE)))
def test_the_web_framework_stays_in_api(path):
    offending = forbidden(imports_in(path), ("litestar",))
    assert not offending, report(path, offending)


@pytest.mark.parametrize("path", modules(), ids=lambda path: str(path.relative_to(SOURCE)))
def test_no_module_is_over_400_lines(path):
    source = path.read_text(encoding="utf-8")
    assert not is_too_long(source), f"{path.relative_to(SOURCE.parents[1])} has {len(source.splitlines())} lines"


# --- the checker itself, so that the rules cannot pass by finding nothing --------------------------------

SAMPLE = '''\
from __future__ import annotations
import json
from typing import TYPE_CHECKING
import sqlalchemy as sa

if TYPE_CHECKING:
    from orderdesk.wire.orders import OrderDoc


def later():
    from litestar import Request
    return Request


from ..store import tables
from . import ports
from .ports import *
'''


def test_the_checker_reads_every_import_and_resolves_relative_ones():
    assert imports_of(SAMPLE, "orderdesk.services") == [
        Import("__future__.annotations", 1), Import("json", 2), Import("typing.TYPE_CHECKING", 3),
        Import("sqlalchemy", 4), Import("orderdesk.wire.orders.OrderDoc", 7), Import("litestar.Request", 11),
        Import("orderdesk.store.tables", 15), Import("orderdesk.services.ports", 16),
        Import("orderdesk.services.ports", 17),
    ]


def test_the_services_rule_finds_a_forbidden_import_at_the_top_inside_a_function_and_relative():
    found = forbidden(imports_of(SAMPLE, "orderdesk.services"),
                      ("sqlalchemy", "litestar", "orderdesk.api", "orderdesk.wire", "orderdesk.store.tables"))

    assert found == [Import("sqlalchemy", 4), Import("orderdesk.wire.orders.OrderDoc", 7),
                     Import("litestar.Request", 11), Import("orderdesk.store.tables", 15)]


def test_the_domain_rule_finds_third_party_and_other_layers_but_not_the_domain():
    source = "import msgspec\nfrom orderdesk import errors\nfrom .money import Money\nimport decimal\n"

    found = outside_the_standard_library(imports_of(source, "orderdesk.domain"), "orderdesk.domain")

    assert found == [Import("msgspec", 1), Import("orderdesk.errors", 2)]


def test_a_prefix_matches_whole_names_only():
    assert [is_within(name, "orderdesk.store") for name in
            ("orderdesk.store", "orderdesk.store.tables", "orderdesk.storefront")] == [True, True, False]


def test_a_relative_import_from_a_package_init_starts_at_the_package():
    path = SOURCE / "store" / "repositories" / "__init__.py"

    assert imports_of("from .orders import OrderRepository\n", package_of(path)) == [
        Import("orderdesk.store.repositories.orders.OrderRepository", 1)]


def test_the_line_rule_counts_lines():
    assert (is_too_long("x = 1\n" * MAX_LINES), is_too_long("x = 1\n" * (MAX_LINES + 1))) == (False, True)


@pytest.mark.parametrize("name", LAYERS)
def test_every_layer_has_modules_to_check(name):
    found = modules(SOURCE / name)

    assert SOURCE / name / "__init__.py" in found
    assert len(found) > 1
