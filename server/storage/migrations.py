"""Numbered SQL migrations (`migrations/NNNN_name.sql`), each applied once in its own transaction.

Applied versions are recorded in `schema_migrations`. An advisory lock makes concurrent
starts (several processes on one database) apply each migration exactly once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from server.storage.queries import q

log = logging.getLogger(__name__)

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
_LOCK_ID = 0x6C656164  # "lead"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    found = []
    folder = resources.files("server.storage") / "migrations"
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


async def migrate(url: str) -> list[Migration]:
    """Apply every migration not yet recorded; return those applied now."""
    applied_now: list[Migration] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(q("lock_migrations"), {"lock": _LOCK_ID})
        try:
            await conn.execute(q("create_schema_migrations"))
            cursor = await conn.execute(q("applied_migrations"))
            done = {row[0] for row in await cursor.fetchall()}
            for migration in available():
                if migration.version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        q("record_migration"),
                        {"version": migration.version, "name": migration.name},
                    )
                log.info("applied migration %04d_%s", migration.version, migration.name)
                applied_now.append(migration)
        finally:
            await conn.execute(q("unlock_migrations"), {"lock": _LOCK_ID})
    return applied_now
