"""US ZIP code reference data from the maintained `zipcodes` package (bundled, no network)."""

from __future__ import annotations

import math
from functools import lru_cache

import zipcodes

EARTH_RADIUS_MILES = 3958.8


@lru_cache(maxsize=65536)
def city_state(zip_code: str) -> tuple[str, str] | None:
    """The (city, state abbreviation) of a five-digit US ZIP code, or None when unknown."""
    if not _five_digits(zip_code):
        return None
    found = zipcodes.matching(zip_code)
    if not found:
        return None
    return str(found[0]["city"]), str(found[0]["state"])


@lru_cache(maxsize=65536)
def location(zip_code: str) -> tuple[float, float] | None:
    """The (latitude, longitude) of a five-digit US ZIP code's centre, or None when unknown."""
    if not _five_digits(zip_code):
        return None
    found = zipcodes.matching(zip_code)
    if not found:
        return None
    try:
        return float(found[0]["lat"]), float(found[0]["long"])
    except (KeyError, TypeError, ValueError):
        return None


def _five_digits(zip_code: str) -> bool:
    # ASCII only: "8910²" passes str.isdigit(), and the package's Rust code panics on it
    # (a PanicException, which no `except Exception` catches)
    return len(zip_code) == 5 and zip_code.isascii() and zip_code.isdigit()


def is_known(zip_code: str) -> bool:
    return location(zip_code.strip()[:5]) is not None


@lru_cache(maxsize=262144)
def distance_miles(zip_a: str, zip_b: str) -> float | None:
    """Great-circle miles between two ZIP codes' centres, or None when either is unknown."""
    a, b = location(zip_a.strip()[:5]), location(zip_b.strip()[:5])
    if a is None or b is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(h))
