"""The ZIP reference data comes from the bundled `zipcodes` package."""

from __future__ import annotations

import pytest

from server.adapters.zip_codes import city_state


def test_a_known_zip_gives_its_city_and_state() -> None:
    assert city_state("89101") == ("Las Vegas", "NV")


@pytest.mark.parametrize("zip_code", ["00000", "8910", "abcde", ""])
def test_an_unknown_or_malformed_zip_gives_nothing(zip_code: str) -> None:
    assert city_state(zip_code) is None
