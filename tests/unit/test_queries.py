"""Parsing named SQL blocks."""

from __future__ import annotations

import pytest

from server.storage.queries import parse

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
