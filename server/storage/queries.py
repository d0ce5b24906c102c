"""Named SQL statements, read once from the `.sql` files beside this module.

A file holds blocks like:

    -- name: get_source
    -- One line saying what it does.
    SELECT ... WHERE account_id = %(account_id)s AND id = %(id)s;
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import LiteralString

_BLOCK = re.compile(r"^-- name: (\w+)\n", re.MULTILINE)


def parse(text: str) -> dict[str, str]:
    """Split a file's text into {name: statement}; comment lines are dropped."""
    parts = _BLOCK.split(text)
    statements: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in statements:
            raise ValueError(f"query {name!r} is defined twice")
        lines = [line for line in body.splitlines() if not line.lstrip().startswith("--")]
        statements[name] = "\n".join(lines).strip().rstrip(";")
    return statements


@cache
def queries() -> dict[str, str]:
    """Every named statement of every file in `sql/`."""
    found: dict[str, str] = {}
    folder = resources.files("server.storage") / "sql"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            for name, statement in parse(entry.read_text()).items():
                if name in found:
                    raise ValueError(f"query {name!r} is defined twice ({entry.name})")
                found[name] = statement
    return found


def q(name: str) -> LiteralString:
    """The statement called `name`. Statements come only from the package's own files."""
    return queries()[name]
