"""Named SQL blocks: parsing, and the constants that stand for stored numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from leadrouter.v1 import distribution_pb2

import server.storage
from server.domain.sales.sends import SendStatus
from server.storage.queries import parse, queries

STORAGE = Path(server.storage.__file__).parent
TWO_BLOCKS = """\
-- Header comment of the file, before any block.

-- name: get_source
-- One line saying what it does.
SELECT id, name FROM sources
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: list_sources
-- Every source.
SELECT id FROM sources
    -- a comment inside the statement
ORDER BY id;
"""


def test_each_named_block_becomes_a_statement() -> None:
    assert set(parse(TWO_BLOCKS)) == {"get_source", "list_sources"}


def test_statement_keeps_its_lines_without_comments_or_final_semicolon() -> None:
    statements = parse(TWO_BLOCKS)
    assert statements["get_source"] == (
        "SELECT id, name FROM sources\nWHERE account_id = %(account_id)s AND id = %(id)s"
    )


def test_indented_comment_lines_inside_a_statement_are_dropped() -> None:
    assert parse(TWO_BLOCKS)["list_sources"] == "SELECT id FROM sources\nORDER BY id"


def test_text_without_blocks_has_no_statements() -> None:
    assert parse("-- just a comment\nSELECT 1;\n") == {}


def test_name_defined_twice_is_an_error() -> None:
    text = "-- name: again\nSELECT 1;\n-- name: again\nSELECT 2;\n"
    with pytest.raises(ValueError, match="'again' is defined twice"):
        parse(text)


def test_name_marker_must_start_a_line() -> None:
    text = "-- name: first\nSELECT 1; -- name: second\n"
    assert parse(text) == {"first": "SELECT 1; -- name: second"}


def test_constants_are_substituted_by_their_enum() -> None:
    text = "-- name: sold\nSELECT id FROM sends WHERE status IN ({{SendStatus.SOLD}}, 4);\n"
    assert parse(text) == {"sold": "SELECT id FROM sends WHERE status IN (3, 4)"}


@pytest.mark.parametrize("constant", ["{{SendStatus.SOLDD}}", "{{Sends.SOLD}}"])
def test_an_unknown_constant_is_an_error(constant: str) -> None:
    with pytest.raises(ValueError, match="unknown constant"):
        parse(f"-- name: bad\nSELECT {constant};\n")


def test_every_statement_of_the_package_reads_and_holds_no_placeholder() -> None:
    statements = queries()
    assert statements
    assert not [name for name, text in statements.items() if "{{" in text]


def test_no_statement_compares_a_status_with_a_bare_number() -> None:
    """Statuses are named by their enums ({{SendStatus.SOLD}}), not written as numbers."""
    bare = re.compile(r"status\s*(=|<>|IN\s*\()\s*\d", re.IGNORECASE)
    folder = STORAGE / "sql"
    found = [
        f"{path.name}: {line.strip()}"
        for path in sorted(folder.glob("*.sql"))
        for line in path.read_text().splitlines()
        if bare.search(line)
    ]
    assert found == []


def test_send_statuses_are_the_stored_and_wire_numbers() -> None:
    """SendStatus is the mapping migration 0003 documents for sends.status, and the proto's."""
    migration = (
        Path(server.storage.__file__).parent / "migrations/0003_distribution.sql"
    ).read_text()
    documented = re.search(r"status: (1 scheduled, .*?5 failed)", migration, re.DOTALL)
    assert documented is not None
    pairs = re.findall(r"(\d) ([a-z ]+?)(?:,|$)", documented[1].replace("\n-- ", " "))
    assert {int(n): word.strip() for n, word in pairs} == {s.value: s.word for s in SendStatus}
    for status in SendStatus:
        assert distribution_pb2.SendStatus.Value(f"SEND_STATUS_{status.name}") == status.value
