"""Partial updates (server/domain/masks.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from server.domain.masks import masked


@dataclass(frozen=True)
class Thing:
    name: str
    size: int = 0


def test_no_mask_takes_everything_posted() -> None:
    assert masked(Thing("old", 1), Thing("new", 2), None) == Thing("new", 2)


def test_a_mask_takes_only_what_it_names() -> None:
    assert masked(Thing("old", 1), Thing("new", 2), frozenset({"size"})) == Thing("old", 2)


def test_a_mask_naming_no_attribute_is_an_error() -> None:
    with pytest.raises(ValueError, match="colour"):
        masked(Thing("old"), Thing("new"), frozenset({"colour"}))
