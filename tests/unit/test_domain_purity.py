"""The domain imports no I/O: checked by walking the import graph, not by trust."""

import ast
import pkgutil
from pathlib import Path

import paysim.domain

FORBIDDEN = {
    "confluent_kafka",
    "stripe",
    "httpx",
    "requests",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "sqlite3",
    "socket",
    "uvicorn",
    "psycopg",
    "testcontainers",
    "docker",
}
ALLOWED_PAYSIM = {"paysim.domain", "paysim.errors"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_modules_import_no_io_library() -> None:
    folder = Path(paysim.domain.__file__).parent
    modules = [folder / f"{m.name}.py" for m in pkgutil.iter_modules([str(folder)])]
    assert modules, "no domain modules found"
    for module in modules:
        for name in _imports(module):
            root = name.split(".")[0]
            assert root not in FORBIDDEN, f"{module.name} imports {name}"
            if root == "paysim":
                assert any(name.startswith(p) for p in ALLOWED_PAYSIM), f"{module.name}: {name}"
