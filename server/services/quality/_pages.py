"""Pages of a listing, after the last id of the page before."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from server.errors import InvalidArgument

DEFAULT_PAGE, MAX_PAGE = 100, 1000

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, and the id to list the next one after."""

    rows: list[T]
    next_after: int  # 0 = no more


def checked_size(value: int) -> int:
    """The rows a page holds: `value`, or the default for 0."""
    if not 0 <= value <= MAX_PAGE:
        raise InvalidArgument(f"page_size must be between 0 and {MAX_PAGE}")
    return value or DEFAULT_PAGE


def page(rows: list[T], size: int, id_of: Callable[[T], int]) -> Page[T]:
    """The page of `rows`, read one past `size` to tell whether more follow."""
    if len(rows) > size:
        rows = rows[:size]
        return Page(rows, id_of(rows[-1]))
    return Page(rows, 0)
