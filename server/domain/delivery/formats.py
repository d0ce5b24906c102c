"""Formats a mapping applies to a value: case, digits, money, phone numbers and dates."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from server.domain.catalog.fields import parse_datetime
from server.domain.delivery.spec import (
    DATE_LITERAL_LETTERS,
    DATE_PIECE,
    MONEY_FORMAT,
    MONTHS,
    WEEKDAYS,
)


@lru_cache(maxsize=1024)
def format_kind(fmt: str) -> str:
    """Which kind of format `fmt` is: "", "upper", "lower", "digits", "money", "phone",
    "date", or "unknown"."""
    if not fmt:
        return ""
    keyword = fmt.strip().casefold()
    if keyword in ("upper", "lower", "digits"):
        return keyword
    if MONEY_FORMAT.fullmatch(fmt):
        return "money"
    if "#" in fmt and not re.search(r"[A-Za-z]", fmt):
        return "phone"
    if _date_pieces(fmt) is not None:
        return "date"
    return "unknown"


def format_value(fmt: str, value: str) -> str:
    """`value` reshaped by `fmt`; unchanged when the format is unknown or does not fit.

    Formats: `upper`, `lower`, `digits`; money `0.00` (any number of decimals, `#,##0.00`
    groups thousands); phone, where each `#` takes a digit from the last N digits of the
    value (`(###) ###-####`); dates with yyyy yy MMMM MMM MM M dddd ddd dd d HH H hh h mm m
    ss s tt, `'quoted'` literal text and the letters T and Z (`MM/dd/yyyy`).
    """
    kind = format_kind(fmt)
    if kind == "upper":
        return value.upper()
    if kind == "lower":
        return value.lower()
    if kind == "digits":
        return "".join(ch for ch in value if "0" <= ch <= "9")
    if kind == "money":
        return _format_money(fmt, value)
    if kind == "phone":
        return _format_phone(fmt, value)
    if kind == "date":
        return _format_date(fmt, value)
    return value


def _format_money(fmt: str, value: str) -> str:
    match = MONEY_FORMAT.fullmatch(fmt)
    assert match is not None
    try:
        amount = Decimal(value.strip().replace(",", "").removeprefix("$"))
    except InvalidOperation:
        return value
    if not amount.is_finite():
        return value
    places = len(match.group(3) or "")
    try:
        rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the context's 28: leave it as posted
        return value
    return f"{rounded:,.{places}f}" if match.group(1) else f"{rounded:.{places}f}"


def _format_phone(fmt: str, value: str) -> str:
    wanted = fmt.count("#")
    digits = [ch for ch in value if "0" <= ch <= "9"]
    if len(digits) < wanted:
        return value
    taken = iter(digits[len(digits) - wanted :])
    return "".join(next(taken) if ch == "#" else ch for ch in fmt)


@lru_cache(maxsize=1024)
def _date_pieces(fmt: str) -> tuple[tuple[bool, str], ...] | None:
    """(is_token, text) pieces of a date format, or None when it is not one."""
    pieces: list[tuple[bool, str]] = []
    for piece in DATE_PIECE.findall(fmt):
        if piece in DATE_PARTS:
            pieces.append((True, piece))
        elif len(piece) >= 2 and piece[0] == "'" and piece[-1] == "'":
            pieces.append((False, piece[1:-1]))
        elif piece == "'" or (piece.isalpha() and piece not in DATE_LITERAL_LETTERS):
            return None
        else:
            pieces.append((False, piece))
    return tuple(pieces) if any(token for token, _ in pieces) else None


def _format_date(fmt: str, value: str) -> str:
    pieces = _date_pieces(fmt)
    assert pieces is not None
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        return value
    return "".join(DATE_PARTS[text](moment) if token else text for token, text in pieces)


def _hour12(moment: datetime) -> int:
    return moment.hour % 12 or 12


DATE_PARTS: dict[str, Callable[[datetime], str]] = {
    "yyyy": lambda t: f"{t.year:04d}",
    "yy": lambda t: f"{t.year % 100:02d}",
    "MMMM": lambda t: MONTHS[t.month - 1],
    "MMM": lambda t: MONTHS[t.month - 1][:3],
    "MM": lambda t: f"{t.month:02d}",
    "M": lambda t: str(t.month),
    "dddd": lambda t: WEEKDAYS[t.weekday()],
    "ddd": lambda t: WEEKDAYS[t.weekday()][:3],
    "dd": lambda t: f"{t.day:02d}",
    "d": lambda t: str(t.day),
    "HH": lambda t: f"{t.hour:02d}",
    "H": lambda t: str(t.hour),
    "hh": lambda t: f"{_hour12(t):02d}",
    "h": lambda t: str(_hour12(t)),
    "mm": lambda t: f"{t.minute:02d}",
    "m": lambda t: str(t.minute),
    "ss": lambda t: f"{t.second:02d}",
    "s": lambda t: str(t.second),
    "tt": lambda t: "AM" if t.hour < 12 else "PM",
}
