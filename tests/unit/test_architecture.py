"""The house rules import-linter cannot see (docs/architecture.md): SQL only in `.sql` files,
no database rows above storage, and the map of the house matching the tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
MAP = ROOT / "docs" / "architecture.md"
# A string that starts like a statement: a keyword in capitals, then its usual next word.
STATEMENT = re.compile(
    r"\s*(SELECT\s|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|WITH\s+\w+\s+AS|"
    r"CREATE\s+(TABLE|INDEX|UNIQUE)|ALTER\s+TABLE|DROP\s+(TABLE|INDEX)|SET\s+\w+|ANALYZE\s|"
    r"SAVEPOINT\s|ROLLBACK|BEGIN\b|COMMIT\b)"
)
# Parameters of a mapping type that the servicers take on purpose: JSON documents.
DOCUMENT_PARAMETERS = {("convert.py", "struct", "document")}
TOP_LEVEL = ("server/", "gateways/", "clients/", "protos/", "docs/", "bench/", "tests/")


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_no_sql_statement_is_written_in_python() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {text[:60]!r}"
        for path in python_files("server", "gateways", "clients")
        for text in strings(path)
        if STATEMENT.match(text)
    ]
    assert found == []


def test_the_statement_pattern_finds_statements() -> None:
    for text in ("SELECT 1", "INSERT INTO leads", "UPDATE sends SET x", "SET TIME ZONE 'UTC'"):
        assert STATEMENT.match(text)
    for text in ("Select the buyers", "Set it once", "The SELECT list"):
        assert not STATEMENT.match(text)


def test_no_servicer_takes_a_row() -> None:
    """Servicers convert typed records: a `dict[str, Any]` parameter would be a row."""
    found = []
    for path in python_files("server/rpc"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for arg in node.args.args:
                shown = ast.unparse(arg.annotation) if arg.annotation else ""
                mapping = re.fullmatch(r"(dict|Mapping)\[str, Any\]( \| None)?", shown)
                if mapping and (path.name, node.name, arg.arg) not in DOCUMENT_PARAMETERS:
                    found.append(f"{path.name}: {node.name}({arg.arg}: {shown})")
    assert found == []


def packages() -> list[str]:
    """Every folder of Python code, as the map names it (`server/services/intake/`)."""
    folders = {
        p.parent.relative_to(ROOT).as_posix() + "/"
        for p in python_files("server", "gateways", "clients")
    }
    return sorted(f for f in folders if f != "server/")


def test_the_map_names_every_package() -> None:
    """Each folder of code is in the map's tree, by its path or, indented, by its name."""
    tree = MAP.read_text().split("## The tree", 1)[1].split("```")[1]
    named = set(re.findall(r"[\w./]+/", tree))
    missing = [
        folder
        for folder in packages()
        if not any(n.startswith(folder) for n in named)
        and folder.rsplit("/", 2)[-2] + "/" not in named
    ]
    assert missing == []


def test_every_path_the_map_names_exists() -> None:
    text = MAP.read_text()
    paths = [n for n in re.findall(r"`([\w/.]+/[\w/.]*)`", text) if not n.startswith("/")]
    missing = []
    for name in paths:
        full = (
            name
            if name.startswith(("server/", "gateways/", "clients/", "protos/", "docs/"))
            else f"server/{name}"
        )
        if not (ROOT / full).exists():
            missing.append(name)
    assert missing == []
