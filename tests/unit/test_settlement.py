"""The pure rules of manual operations: settling confirmed sales (server/domain/sales/settlement.py)
and sending by hand, limits and criteria lookups (server/domain/sales/operations.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from server.domain.catalog.rules import Operator
from server.domain.catalog.specs import PricingModel
from server.domain.matching.criteria import Criterion, CriterionType
from server.domain.sales.operations import (
    HeldSend,
    consent_refusal,
    delivery_refusal,
    has_criterion,
    holder_refusal,
    limited_text,
    names_value,
    optional_id,
    required_ids,
)
from server.domain.sales.sends import SendStatus
from server.domain.sales.settlement import (
    BuyerSend,
    confirmable,
    sale_settlement,
)
from server.errors import FailedPrecondition, InvalidArgument

T = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
D = Decimal

# -- settlement ---------------------------------------------------------------------------------

SCHEDULED, IN_FLIGHT, SOLD, REJECTED, FAILED = SendStatus


def test_a_per_lead_source_earns_nothing_more_on_a_sale() -> None:
    assert sale_settlement(PricingModel.PerLead, D("12.50"), D("40")) == 0


def test_a_per_sale_source_earns_the_campaign_amount_whatever_the_price() -> None:
    assert sale_settlement(PricingModel.PerSale, D("25"), D("3")) == D("25")


def test_a_revenue_share_is_a_percentage_of_the_buyer_price() -> None:
    assert sale_settlement(PricingModel.RevenueShare, D("40"), D("30")) == D("12.00")


def test_a_revenue_share_is_rounded_to_the_cent_half_up() -> None:
    assert sale_settlement(PricingModel.RevenueShare, D("12.5"), D("9.99")) == D("1.25")
    assert sale_settlement(PricingModel.RevenueShare, D("10"), D("0.05")) == D("0.01")


def test_a_revenue_share_of_a_free_sale_is_nothing() -> None:
    assert sale_settlement(PricingModel.RevenueShare, D("40"), D("0")) == 0


# -- which sends a confirmation takes -----------------------------------------------------------


def send(send_id: int, status: int, **facts: datetime) -> BuyerSend:
    return BuyerSend(send_id, status, D("30"), facts.get("returned_at"), facts.get("confirmed"))


def test_a_confirmation_takes_every_standing_sale_of_the_buyer() -> None:
    sends = [send(1, REJECTED), send(2, SOLD), send(3, SOLD)]
    assert [s.send_id for s in confirmable(sends, 9, "Buyer a")] == [2, 3]


def test_a_returned_or_confirmed_sale_is_not_taken_again() -> None:
    sends = [send(1, SOLD, returned_at=T), send(2, SOLD, confirmed=T), send(3, SOLD)]
    assert [s.send_id for s in confirmable(sends, 9, "Buyer a")] == [3]


def test_a_buyer_with_no_sale_confirms_its_latest_rejected_send() -> None:
    sends = [send(1, REJECTED), send(2, FAILED), send(3, REJECTED)]
    assert [s.send_id for s in confirmable(sends, 9, "Buyer a")] == [3]


def test_confirming_twice_is_refused_naming_the_first_confirmation() -> None:
    with pytest.raises(FailedPrecondition, match=r"already confirmed lead 9: send 2 .* 12:00:00"):
        confirmable([send(1, REJECTED), send(2, SOLD, confirmed=T)], 9, "Buyer a")


def test_a_returned_sale_cannot_be_confirmed() -> None:
    with pytest.raises(FailedPrecondition, match="send 4 of lead 9 to Buyer a was returned"):
        confirmable([send(4, SOLD, returned_at=T)], 9, "Buyer a")


def test_a_send_under_way_is_not_confirmed_yet() -> None:
    for status in (SCHEDULED, IN_FLIGHT):
        with pytest.raises(FailedPrecondition, match="still being delivered"):
            confirmable([send(1, REJECTED), send(2, status)], 9, "Buyer a")


def test_a_lead_that_never_reached_the_buyer_cannot_be_confirmed() -> None:
    with pytest.raises(FailedPrecondition, match="never reached Buyer a"):
        confirmable([send(1, FAILED)], 9, "Buyer a")
    with pytest.raises(FailedPrecondition, match="lead 9 was never sent to Buyer a"):
        confirmable([], 9, "Buyer a")


# -- sending by hand -----------------------------------------------------------------------------


def test_a_buyer_that_bought_the_lead_is_not_sent_it_again() -> None:
    held = [HeldSend(5, client_id=1, delivery_account_id=10, status=SOLD)]
    why = holder_refusal(held, 1, 10, use_tiers=False, buyer="Buyer a", lead_id=9)
    assert why == "Buyer a already bought lead 9 (send 5)"


def test_a_send_under_way_holds_the_buyer_even_on_another_account() -> None:
    held = [HeldSend(5, client_id=1, delivery_account_id=11, status=IN_FLIGHT)]
    why = holder_refusal(held, 1, 10, use_tiers=False, buyer="Buyer a", lead_id=9)
    assert why == "send 5 of lead 9 to Buyer a is still being delivered"


def test_a_buyer_with_delivery_tiers_may_be_sent_the_lead_on_another_account() -> None:
    held = [HeldSend(5, client_id=1, delivery_account_id=11, status=SOLD)]
    assert holder_refusal(held, 1, 10, use_tiers=True, buyer="Buyer a", lead_id=9) is None
    assert holder_refusal(held, 1, 11, use_tiers=True, buyer="Buyer a", lead_id=9) is not None


def test_other_buyers_sales_do_not_hold_the_buyer() -> None:
    held = [HeldSend(5, client_id=2, delivery_account_id=20, status=SOLD)]
    assert holder_refusal(held, 1, 10, use_tiers=False, buyer="Buyer a", lead_id=9) is None


def test_a_lead_in_qc_review_or_rejected_by_it_is_not_sent_by_hand() -> None:
    assert "QC bin" in str(delivery_refusal(9, pending_qc=True, qc_rejected=False))
    assert "rejected in QC" in str(delivery_refusal(9, pending_qc=False, qc_rejected=True))
    assert delivery_refusal(9, pending_qc=False, qc_rejected=False) is None


def test_a_1_to_1_lead_goes_by_hand_only_to_a_consented_account() -> None:
    assert consent_refusal(9, None, 4, "Buyer b") is None  # not 1-to-1
    assert consent_refusal(9, frozenset({4}), 4, "Buyer b") is None
    refused = consent_refusal(9, frozenset({3}), 4, "Buyer b")
    assert refused is not None and "did not consent to Buyer b" in refused
    assert consent_refusal(9, frozenset(), 4, "Buyer b") is not None  # consent to no one


def test_missing_ids_are_named() -> None:
    with pytest.raises(InvalidArgument) as caught:
        required_ids(lead_id=3, client_id=0, account_id=-1)
    assert [v.path for v in caught.value.violations] == ["client_id", "account_id"]


def test_an_optional_id_may_be_zero_but_not_negative() -> None:
    optional_id("order_id", 0)
    with pytest.raises(InvalidArgument, match="order_id"):
        optional_id("order_id", -2)


def test_notes_are_trimmed_and_limited() -> None:
    assert limited_text("  call back  ", "notes") == "call back"
    with pytest.raises(InvalidArgument, match="notes: at most 1000 characters"):
        limited_text("x" * 1001, "notes")


def test_a_logged_request_is_kept_as_given() -> None:
    assert limited_text(" a=1&b=2\n", "post_string", 100, strip=False) == " a=1&b=2\n"


# -- criteria lookups ----------------------------------------------------------------------------


def crit(field: str, operator: Operator, value: str, kind: int = 1) -> Criterion:
    return Criterion(CriterionType(kind), field, operator, value)


def test_a_criterion_names_its_field_and_value_ignoring_case_and_blanks() -> None:
    assert names_value(crit("State", Operator.Equal, "NV"), "state", " nv ")
    assert not names_value(crit("State", Operator.Equal, "NV"), "State", "CA")
    assert not names_value(crit("Zip", Operator.Equal, "NV"), "State", "NV")


def test_a_list_criterion_names_each_of_its_items() -> None:
    assert names_value(crit("State", Operator.In, "CA, OR"), "State", "or")
    assert names_value(crit("State", Operator.NotIn, "CA,OR"), "State", "CA")
    assert not names_value(crit("State", Operator.Between, "CA,OR"), "State", "CA")


def test_an_empty_value_names_any_criterion_on_the_field() -> None:
    assert names_value(crit("Age", Operator.GreaterOrEqual, "18"), "Age", "")


def test_an_expression_names_no_field() -> None:
    assert not names_value(crit("State", Operator.Equal, "NV", kind=2), "State", "NV")


def test_an_account_matches_when_any_criterion_does() -> None:
    criteria = [crit("Age", Operator.GreaterOrEqual, "18"), crit("State", Operator.Equal, "NV")]
    assert has_criterion(criteria, "State", "NV")
    assert not has_criterion(criteria, "State", "CA")
    assert not has_criterion([], "State", "")
