"""domain/ imports nothing but the standard library; the web framework stays inside api/."""

import ast
import sys
from pathlib import Path

SOURCE = Path(__file__).parents[2] / "src" / "orderdesk"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0] if node.module.split(".")[0] != "orderdesk" else node.module)
    return names


def test_domain_imports_only_the_standard_library_and_itself():
    for path in (SOURCE / "domain").rglob("*.py"):
        for name in _imports(path):
            if name.startswith("orderdesk"):
                assert name.startswith("orderdesk.domain"), f"{path.name} imports {name}"
            else:
                assert name in sys.stdlib_module_names or name == "__future__", f"{path.name} imports {name}"


def test_the_web_framework_stays_in_api():
    for path in SOURCE.rglob("*.py"):
        if "api" in path.relative_to(SOURCE).parts:
            continue
        assert "litestar" not in _imports(path), f"{path} imports litestar"
