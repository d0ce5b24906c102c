"""What distribution lists allow for a lead."""

from __future__ import annotations

from server.domain.catalog.specs import Status
from server.domain.matching.lists import (
    DistributionList,
    DistributionListSpec,
    ListItemSpec,
    excluded_by,
    list_value,
    restrictions,
    validate_list,
)

NAMES = {1: "Acme", 2: "Globex", 3: "Initech"}


def zips(default: int | None = None, depend: tuple[str, str] = ("", "")) -> DistributionList:
    return DistributionList(
        id=9,
        name="Nevada ZIPs",
        field="zipcode",
        default_client_id=default,
        depend_field=depend[0],
        depend_value=depend[1],
        assigned={"89101": 1, "89102": None},
    )


def test_an_assigned_value_gives_the_lead_to_that_buyer_only() -> None:
    [limit] = restrictions([zips()], {"zipcode": "89101"}, NAMES)
    assert limit.client_id == 1
    assert excluded_by([limit], 1) == ""
    assert (
        excluded_by([limit], 2) == "distribution list 'Nevada ZIPs' assigns zipcode=89101 to Acme"
    )


def test_unassigned_and_unknown_values_go_to_the_catch_all_or_anyone() -> None:
    for value in ("89102", "10001", None):
        assert restrictions([zips()], {"zipcode": value}, NAMES) == []
        [limit] = restrictions([zips(default=3)], {"zipcode": value}, NAMES)
        assert limit.client_id == 3
        assert "its catch-all is Initech" in limit.reason


def test_a_depend_field_decides_whether_the_list_applies() -> None:
    dlist = zips(depend=("state", "nv"))
    assert restrictions([dlist], {"zipcode": "89101", "state": "CA"}, NAMES) == []
    [limit] = restrictions([dlist], {"zipcode": "89101", "state": "NV"}, NAMES)
    assert limit.client_id == 1


def test_several_lists_must_all_allow_the_buyer() -> None:
    other = DistributionList(10, "States", "state", None, "", "", {"nv": 2})
    found = restrictions([zips(), other], {"zipcode": "89101", "state": "nv"}, NAMES)
    assert [r.client_id for r in found] == [1, 2]
    assert excluded_by(found, 1).startswith("distribution list 'States'")
    assert excluded_by(found, 2).startswith("distribution list 'Nevada ZIPs'")


def test_values_compare_as_trimmed_case_folded_text() -> None:
    assert list_value(" NV ") == "nv" and list_value(89101) == "89101" and list_value(True) == "1"


def test_a_list_must_name_fields_of_its_lead_type_and_not_repeat_values() -> None:
    spec = DistributionListSpec(
        "k",
        "",
        "Zip",
        "",
        Status.Active,
        "Colour",
        "red",
        (ListItemSpec("89101", ""), ListItemSpec(" 89101", "a")),
    )
    found = {p.path: p.reason for p in validate_list(spec, ["ZipCode", "State"], "l")}
    assert found == {
        "l.field": "no field 'Zip' in the lead type",
        "l.depend_field": "no field 'Colour' in the lead type",
        "l.items[1].value": "' 89101' repeats",
    }
