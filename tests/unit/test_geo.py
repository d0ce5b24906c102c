"""US states and ZIP codes (server/domain/geo.py) on the real reference data."""

from __future__ import annotations

import pytest

from server.adapters.us_places import load, load_states
from server.domain.geo import Gazetteer, State, States, county_key, miles_between
from server.errors import InvalidArgument, NotFound


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load()


def brute_force(g: Gazetteer, zip_code: str, miles: float, in_state: bool) -> set[str]:
    centre = g.place(zip_code)
    return {
        p.zip_code
        for p in g.places
        if (not in_state or p.state == centre.state)
        and miles_between(centre.latitude, centre.longitude, p.latitude, p.longitude) <= miles
    }


@pytest.mark.parametrize(
    ("zip_code", "miles", "in_state"),
    [("10001", 25, False), ("89101", 100, True), ("89101", 100, False), ("59001", 300, False),
     ("99546", 80, False), ("96799", 50, False), ("02108", 0, False), ("10001", 10, True)],
)  # fmt: skip
def test_the_radius_search_finds_what_measuring_every_zip_code_finds(
    gazetteer: Gazetteer, zip_code: str, miles: float, in_state: bool
) -> None:
    found = gazetteer.within(zip_code, miles, in_state)
    assert set(found) == brute_force(gazetteer, zip_code, miles, in_state)
    assert found[0] == zip_code
    centre = gazetteer.place(zip_code)
    distances = [
        miles_between(centre.latitude, centre.longitude, p.latitude, p.longitude)
        for p in (gazetteer.place(z) for z in found)
    ]
    assert distances == sorted(distances)


def test_states_by_abbreviation_name_or_fips(gazetteer: Gazetteer) -> None:
    assert {gazetteer.state(n).abbreviation for n in ("ca", "California", "6", "06")} == {"CA"}
    assert gazetteer.state("DC").name == "District of Columbia"
    with pytest.raises(NotFound):
        gazetteer.state("Atlantis")
    with pytest.raises(InvalidArgument):
        gazetteer.state(" ")


def test_states_by_id_and_the_id_of_a_state_a_text_names(gazetteer: Gazetteer) -> None:
    states = load_states()
    assert states.all == gazetteer.states
    assert states.with_id(32).abbreviation == "NV"  # type: ignore[union-attr]
    assert states.with_id(3) is None  # FIPS skips 3, 7, 14, 43 and 52
    assert [states.id_of(t) for t in ("NV", "nevada ", "32", "DC", "PR")] == [32, 32, 32, 11, 72]
    assert [states.id_of(t) for t in ("", "Ontario", "XX")] == [0, 0, 0]


STATES = States([State(6, "California", "CA"), State(32, "Nevada", "NV")])


def test_a_state_given_by_id_keeps_a_text_naming_it_or_takes_its_abbreviation() -> None:
    assert STATES.text_for("", 32, "x") == "NV"
    assert STATES.text_for(" nevada", 32, "x") == " nevada"  # kept as written
    assert STATES.text_for("Ontario", 0, "x") == "Ontario"  # no id: the text as it is


@pytest.mark.parametrize(
    ("text", "state_id", "path"), [("", 99, "x.state_id"), ("CA", 32, "x.state")]
)
def test_an_unknown_state_id_or_a_text_naming_another_state_is_refused(
    text: str, state_id: int, path: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        STATES.text_for(text, state_id, "x")
    assert [v.path for v in refused.value.violations] == [path]


def test_zip_codes_of_a_state_a_county_and_a_fips_code(gazetteer: Gazetteer) -> None:
    nevada = gazetteer.in_state("NV")
    assert "89101" in nevada and nevada == sorted(nevada)
    orange = gazetteer.in_county("Orange County", "CA")
    assert orange == gazetteer.in_county("orange", "California") == gazetteer.with_fips("06059")
    assert "92660" in orange
    assert gazetteer.with_fips("32") == nevada
    with pytest.raises(NotFound):
        gazetteer.in_county("Orange", "NV")
    with pytest.raises(InvalidArgument):
        gazetteer.with_fips("6059")


@pytest.mark.parametrize(
    ("zip_code", "miles"), [("1000", 5), ("10001", -1), ("10001", 501), ("10001", float("nan"))]
)
def test_bad_radius_input_is_refused(gazetteer: Gazetteer, zip_code: str, miles: float) -> None:
    with pytest.raises(InvalidArgument):
        gazetteer.within(zip_code, miles)


def test_an_unknown_zip_code_is_not_found(gazetteer: Gazetteer) -> None:
    with pytest.raises(NotFound):
        gazetteer.within("00000", 10)


def test_county_names_as_people_write_them() -> None:
    assert county_key("Orange County") == county_key(" orange ") == "orange"
    assert county_key("St. Louis City") == "st louis city"
    assert county_key("Orleans Parish") == "orleans"
