"""Named SQL statements, read once from the `.sql` files beside this module.

A file holds blocks like:

    -- name: get_source
    -- One line saying what it does.
    SELECT ... WHERE account_id = %(account_id)s AND id = %(id)s;

A statement names a stored number by its enum, as `{{SendStatus.SOLD}}`, never as a bare
number: the constants below are the one mapping between the two, substituted when the files
are read, so PostgreSQL still sees a literal (plans and partial index predicates match it).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, LiteralString

from server.domain.catalog.specs import Status
from server.domain.sales.orders import OrderStatus, Renewal
from server.domain.sales.sends import SendStatus

if TYPE_CHECKING:
    from server.storage.database import Connection

Row = dict[str, Any]

_BLOCK = re.compile(r"^-- name: (\w+)\n", re.MULTILINE)
_CONSTANT = re.compile(r"\{\{(\w+)\.(\w+)\}\}")

# The enums a statement may name, by the name it uses: `sends.status`, `status` of campaigns,
# lead sources and distribution lists, and client orders' `status` and `renewal`.
CONSTANTS: dict[str, type[enum.IntEnum]] = {
    "SendStatus": SendStatus,
    "Status": Status,
    "OrderStatus": OrderStatus,
    "Renewal": Renewal,
}


def _constant(match: re.Match[str]) -> str:
    kind = CONSTANTS.get(match[1])
    if kind is None or match[2] not in kind.__members__:
        raise ValueError(f"unknown constant {match[0]}")
    return str(int(kind[match[2]]))


def parse(text: str) -> dict[str, str]:
    """Split a file's text into {name: statement}; comment lines are dropped and constants
    substituted."""
    parts = _BLOCK.split(text)
    statements: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in statements:
            raise ValueError(f"query {name!r} is defined twice")
        lines = [line for line in body.splitlines() if not line.lstrip().startswith("--")]
        statement = "\n".join(lines).strip().rstrip(";")
        statements[name] = _CONSTANT.sub(_constant, statement)
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


async def fetch_all(conn: Connection, name: str, params: Mapping[str, Any]) -> list[Row]:
    """The rows of the statement called `name`."""
    cursor = await conn.execute(q(name), params)
    return await cursor.fetchall()


async def fetch_one(conn: Connection, name: str, params: Mapping[str, Any]) -> Row | None:
    """The first row of the statement called `name`, or None."""
    cursor = await conn.execute(q(name), params)
    return await cursor.fetchone()
