"""The rules of an inbound ping and of the post that uses its order
(server/domain/intake/ping.py)."""

from __future__ import annotations

from decimal import Decimal

from server.domain.catalog.fields import CONTACT_SPECIALS, DataType, FieldSpec, SpecialField
from server.domain.catalog.specs import Channel, Pricing, PricingModel
from server.domain.intake.ping import (
    StoredOrder,
    changed_fields,
    changed_refusal,
    eligibility_values,
    estimated_price,
    is_contact,
    missing_order_refusal,
    order_refusal,
    parse_order_id,
    ping_fields,
    without_contact,
)
from server.domain.intake.screening import ResponseType

FIELDS = [
    FieldSpec("FirstName", required=True, special=SpecialField.FirstName),
    FieldSpec("Email", required=True, special=SpecialField.Email),
    FieldSpec("Phone", required=True, special=SpecialField.PrimaryPhone),
    FieldSpec("Street", special=SpecialField.Address),
    FieldSpec("Zip", required=True, special=SpecialField.Zip),
    FieldSpec("State", special=SpecialField.State),
    FieldSpec("Age", DataType.Int, required=True),
    FieldSpec("Band", computed="Age"),
]
ORDER = "7cef1c61-916c-4ea8-b79f-5572e73c4602"


def stored(**changes: object) -> StoredOrder:
    values: dict[str, object] = {
        "id": ORDER,
        "campaign_id": 7,
        "values": {"Age": 30},
        "price": Decimal("12.5"),
        "used": False,
        "live": True,
        **changes,
    }
    return StoredOrder(**values)  # type: ignore[arg-type]


def test_contact_fields_are_optional_in_a_ping_and_the_rest_keep_their_rules() -> None:
    required = {f.name: f.required for f in ping_fields(FIELDS)}
    assert required == {
        "FirstName": False,
        "Email": False,
        "Phone": False,
        "Street": False,
        "Zip": True,
        "State": False,
        "Age": True,
        "Band": False,
    }


def test_eligibility_values_leave_out_contact_and_computed_fields() -> None:
    values = {"FirstName": "Ann", "Email": "a@b.co", "Zip": "89101", "Age": 30, "Band": "30"}
    assert eligibility_values(FIELDS, values) == {"Zip": "89101", "Age": 30}


def test_a_pings_log_keeps_the_posted_pairs_without_contact_fields() -> None:
    posted = [("firstname", "Ann"), ("Zip", "89101"), ("EMAIL", "a@b.co"), ("Extra", "x")]
    assert without_contact(FIELDS, posted) == [("Zip", "89101"), ("Extra", "x")]


def test_changed_fields_name_what_differs_or_is_in_one_only() -> None:
    assert changed_fields({"Age": 30, "Zip": "89101"}, {"Age": 30, "Zip": "89101"}) == []
    assert changed_fields({"Age": 30, "Zip": "89101"}, {"Age": 31, "State": "NV"}) == [
        "Age",
        "State",
        "Zip",
    ]


def test_estimated_price_follows_the_campaigns_pricing() -> None:
    prices = [Decimal("40"), Decimal("30.55")]
    assert estimated_price(Pricing(PricingModel.PerLead, Decimal("12.50")), prices) == Decimal(
        "12.50"
    )
    assert estimated_price(Pricing(PricingModel.PerSale, Decimal("5")), prices) == Decimal("10")
    assert estimated_price(Pricing(PricingModel.RevenueShare, Decimal("40")), prices) == Decimal(
        "28.22"
    )


def test_order_ids_are_uuids_in_canonical_form() -> None:
    assert parse_order_id(f" {ORDER.upper()} ") == ORDER
    assert parse_order_id("12345") is None
    assert parse_order_id("") is None


def test_an_order_is_refused_unknown_used_or_expired_in_that_order() -> None:
    unknown = order_refusal(ORDER, None, 7)
    assert unknown is not None and unknown.response is ResponseType.Data_Errors
    other = order_refusal(ORDER, stored(campaign_id=8, used=True), 7)
    assert other == unknown  # another campaign's order is not told apart
    used = order_refusal(ORDER, stored(used=True, live=False), 7)
    assert used is not None and used.response is ResponseType.Duplicate_Lead
    expired = order_refusal(ORDER, stored(live=False), 7)
    assert expired is not None and "expired" in expired.details
    assert order_refusal(ORDER, stored(), 7) is None


def test_changed_fields_are_outside_criteria() -> None:
    assert changed_refusal(ORDER, []) is None
    refusal = changed_refusal(ORDER, ["Age", "Zip"])
    assert refusal is not None and refusal.response is ResponseType.Outside_Criteria
    assert refusal.details.endswith(": Age, Zip; ping again")


def test_only_a_ping_post_campaign_requires_an_order() -> None:
    assert missing_order_refusal(Channel.Post, "") is None
    assert missing_order_refusal(Channel.PingPost, ORDER) is None
    refusal = missing_order_refusal(Channel.PingPost, "  ")
    assert refusal is not None and refusal.response is ResponseType.Data_Errors


def test_a_ping_leaves_out_every_contact_field_a_buyer_ping_leaves_out() -> None:
    for special in SpecialField:
        spec = FieldSpec("f", special=special)
        assert is_contact(spec) is (special in CONTACT_SPECIALS)
    assert SpecialField.Email in CONTACT_SPECIALS and SpecialField.Zip not in CONTACT_SPECIALS
