"""Typed reading of one object of a config document, recording every problem with its path."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from server.domain.catalog.specs import Status
from server.errors import Violation

STATUSES = {"active": Status.Active, "disabled": Status.Disabled}
T = TypeVar("T")


class Reader:
    """Typed access to one JSON object, recording a violation for each bad or unknown key."""

    def __init__(self, data: object, path: str, problems: list[Violation], allowed: set[str]):
        self.path = path
        self.problems = problems
        if not isinstance(data, Mapping):
            problems.append(Violation(path, "must be an object"))
            data = {}
        self.data: Mapping[str, Any] = data
        for name in data:
            if name not in allowed:
                problems.append(Violation(join_path(path, name), "is not a known setting"))

    def _bad(self, name: str, reason: str) -> None:
        self.problems.append(Violation(join_path(self.path, name), reason))

    def text(self, name: str, *, required: bool = False, default: str = "") -> str:
        value = self.data.get(name)
        if value is None or (required and isinstance(value, str) and not value.strip()):
            if required:
                self._bad(name, "is required")
            return default
        if not isinstance(value, str):
            self._bad(name, "must be a string")
            return default
        return value

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if name in self.data else None

    def integer(self, name: str, default: int) -> int:
        value = self.data.get(name)
        if value is None:
            return default
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not value.is_integer())
        ):
            self._bad(name, "must be a whole number")
            return default
        return int(value)

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self._bad(name, "must be true or false")
            return default
        return value

    def decimal(self, name: str) -> Decimal | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self._bad(name, 'must be a decimal number, preferably as a string such as "12.50"')
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            self._bad(name, f"{value!r} is not a decimal number")
            return None
        return amount

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self._bad(name, "must be a list of strings")
            return ()
        return tuple(value)

    def objects(self, name: str) -> list[object]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self._bad(name, "must be a list")
            return []
        return value

    def choice(self, name: str, choices: Mapping[str, T], default: T) -> T:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, str) and value.casefold() in choices:
            return choices[value.casefold()]
        self._bad(name, f"must be one of: {', '.join(choices)}")
        return default


def join_path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def check_unique(
    entries: list[tuple[str | None, str]],
    setting: str,
    problems: list[Violation],
    fold: bool = False,
) -> None:
    """A problem for each (value, path) whose value an earlier entry already used (None is
    never a clash); `fold` compares ignoring case."""
    first: dict[str, str] = {}
    for value, path in entries:
        if value is None:
            continue
        seen = value.casefold() if fold else value
        if seen in first:
            problems.append(
                Violation(f"{path}.{setting}", f"{value!r} is already used at {first[seen]}")
            )
        first.setdefault(seen, path)
