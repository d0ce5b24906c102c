"""The ZIP reference data comes from the bundled `zipcodes` package."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.adapters.zip_codes import city_state, distance_miles, is_known, location
from tests.support import fuzz


def test_a_known_zip_gives_its_city_and_state() -> None:
    assert city_state("89101") == ("Las Vegas", "NV")


@pytest.mark.parametrize("zip_code", ["00000", "8910", "abcde", ""])
def test_an_unknown_or_malformed_zip_gives_nothing(zip_code: str) -> None:
    assert city_state(zip_code) is None


@pytest.mark.parametrize("zip_code", ["8910\u00b2", "\u0668\u0669\u0661\u0660\u0661", "\u00b2" * 5])
def test_a_zip_of_digits_that_are_not_ascii_is_unknown(zip_code: str) -> None:
    assert city_state(zip_code) is None
    assert location(zip_code) is None
    assert not is_known(zip_code)
    assert distance_miles(zip_code, "89101") is None


@fuzz.fuzzing(200)
@given(zip_code=st.one_of(st.text(max_size=7), st.sampled_from(fuzz.ODD_NUMBERS)))
def test_no_text_breaks_the_zip_lookups(zip_code: str) -> None:
    city_state(zip_code)
    location(zip_code)
    is_known(zip_code)
    distance_miles(zip_code, "89101")
