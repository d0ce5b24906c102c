"""US ZIP code reference data from the maintained `zipcodes` package (bundled, no network)."""

from __future__ import annotations

from functools import lru_cache

import zipcodes


@lru_cache(maxsize=65536)
def city_state(zip_code: str) -> tuple[str, str] | None:
    """The (city, state abbreviation) of a five-digit US ZIP code, or None when unknown."""
    if len(zip_code) != 5 or not zip_code.isdigit():
        return None
    found = zipcodes.matching(zip_code)
    if not found:
        return None
    return str(found[0]["city"]), str(found[0]["state"])
