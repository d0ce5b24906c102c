"""The marketplace's rules: pack prices, promo discounts and refusals, purchase refusals,
aged windows, a pull's leads and its price split to the cent, and its CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from server.domain.sales.marketplace import (
    LeadPack,
    PackStatus,
    PackType,
    PromoCode,
    PulledRow,
    aged_window,
    pack_order_end,
    pack_total,
    price_purchase,
    promo_refusal,
    pull_csv,
    pull_lead_ids,
    pull_prices,
    purchase_refusal,
    split_price,
    validate_pack,
    validate_promo,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PACK = LeadPack(
    id=7,
    description="Auto",
    pack_type=PackType.Standard,
    lead_type_id=1,
    quantity=100,
    price=Decimal("250"),
    order_min=10,
    order_max=200,
)


@pytest.mark.parametrize(
    ("quantity", "total"),
    [(100, "250.00"), (40, "100.00"), (3, "7.50"), (1, "2.50"), (33, "82.50")],
)
def test_a_pack_is_priced_at_its_unit_price_to_the_cent(quantity: int, total: str) -> None:
    assert pack_total(PACK, quantity) == Decimal(total)


def test_a_pack_price_that_does_not_divide_rounds_half_up() -> None:
    pack = LeadPack(7, "", PackType.Standard, 1, 3, Decimal("10"))
    assert pack_total(pack, 1) == Decimal("3.33")
    assert pack_total(pack, 2) == Decimal("6.67")


def test_a_promo_takes_money_then_percent_of_the_total() -> None:
    promo = PromoCode(1, "X", money_value=Decimal("5"), percent_value=Decimal("10"))
    price = price_purchase(Decimal("100.00"), promo)
    assert (price.list_price, price.discount, price.charged) == (
        Decimal("100.00"),
        Decimal("15.00"),
        Decimal("85.00"),
    )


def test_a_discount_never_makes_the_price_negative() -> None:
    promo = PromoCode(1, "X", money_value=Decimal("80"), percent_value=Decimal("50"))
    price = price_purchase(Decimal("100.00"), promo)
    assert (price.discount, price.charged) == (Decimal("100.00"), Decimal("0.00"))


def test_a_percentage_discount_rounds_to_the_cent() -> None:
    promo = PromoCode(1, "X", percent_value=Decimal("12.5"))
    assert price_purchase(Decimal("0.99"), promo).charged == Decimal("0.87")


def test_no_promo_no_discount() -> None:
    price = price_purchase(Decimal("12.34"), None)
    assert (price.discount, price.charged) == (Decimal("0.00"), Decimal("12.34"))


def test_promo_refusals() -> None:
    promo = PromoCode(
        1,
        "SPRING",
        money_value=Decimal("1"),
        expires_at=NOW + timedelta(days=1),
        use_limit=2,
        client_id=5,
        pack_ids=(7,),
    )
    assert promo_refusal(promo, 7, 5, NOW, 1) == ""
    assert "limit" in promo_refusal(promo, 7, 5, NOW, 2)
    assert "expired" in promo_refusal(promo, 7, 5, NOW + timedelta(days=2), 0)
    assert "client 6" in promo_refusal(promo, 7, 6, NOW, 0)
    assert "lead pack 8" in promo_refusal(promo, 8, 5, NOW, 0)
    unlimited = PromoCode(2, "ANY", percent_value=Decimal("5"))
    assert promo_refusal(unlimited, 99, 99, NOW, 10_000) == ""


def test_purchase_refusals() -> None:
    assert purchase_refusal(PACK, 40, NOW) == ""
    assert "at least 10" in purchase_refusal(PACK, 9, NOW)
    assert "at most 200" in purchase_refusal(PACK, 201, NOW)
    assert "expired" in purchase_refusal(
        LeadPack(**{**PACK.__dict__, "expires_at": NOW - timedelta(seconds=1)}), 40, NOW
    )
    assert "not active" in purchase_refusal(
        LeadPack(**{**PACK.__dict__, "status": PackStatus.Inactive}), 40, NOW
    )
    assert "Aged" in purchase_refusal(
        LeadPack(**{**PACK.__dict__, "pack_type": PackType.Aged}), 40, NOW
    )


def test_a_packs_order_ends_at_its_expiry_or_a_year_on() -> None:
    assert pack_order_end(PACK, NOW) == NOW + timedelta(days=365)
    expiring = LeadPack(**{**PACK.__dict__, "expires_at": NOW + timedelta(days=9)})
    assert pack_order_end(expiring, NOW) == NOW + timedelta(days=9)


def test_pack_and_promo_validation() -> None:
    bad = LeadPack(0, "", PackType.Not_Set, 0, 0, Decimal("-1"), start_day=10, end_day=5,
                   order_min=5, order_max=2)  # fmt: skip
    paths = {v.path for v in validate_pack(bad)}
    assert paths == {"pack_type", "lead_type_id", "quantity", "price", "end_day", "order_max"}
    assert validate_pack(PACK) == []
    promo_paths = {v.path for v in validate_promo(PromoCode(0, " ", percent_value=Decimal(101)))}
    assert promo_paths == {"code", "percent_value"}
    assert {v.path for v in validate_promo(PromoCode(0, "X"))} == {"money_value"}


def test_an_aged_window() -> None:
    window = aged_window(7, 30, NOW)
    assert (window.oldest, window.newest) == (NOW - timedelta(days=30), NOW - timedelta(days=7))
    assert aged_window(7, 0, NOW).oldest is None


def test_a_pulls_leads_are_read_in_order_once() -> None:
    assert pull_lead_ids("12|15| 20|12|") == ((12, 15, 20), [])
    ids, problems = pull_lead_ids("12|x|0")
    assert ids == (12,) and [p.path for p in problems] == ["leads", "leads"]
    assert pull_lead_ids("")[1][0].reason == "a pull needs at least one lead"


@pytest.mark.parametrize(
    ("total", "count", "shares"),
    [
        ("10.01", 2, ["5.01", "5.00"]),
        ("10", 3, ["3.34", "3.33", "3.33"]),
        ("0", 2, ["0.00", "0.00"]),
        ("0.02", 3, ["0.01", "0.01", "0.00"]),
    ],
)
def test_a_total_splits_to_the_cent(total: str, count: int, shares: list[str]) -> None:
    split = split_price(Decimal(total), count)
    assert split == [Decimal(s) for s in shares]
    assert sum(split) == Decimal(total)


def test_pull_prices_follow_the_pulls_order() -> None:
    assert pull_prices(Decimal("10.01"), [9, 4]) == {9: Decimal("5.01"), 4: Decimal("5.00")}


def test_a_pull_as_csv() -> None:
    rows = [
        PulledRow(4, NOW, Decimal("5"), {"FirstName": "Ann", "Age": 30}),
        PulledRow(9, NOW, Decimal("5.01"), {"FirstName": 'A "quoted", name'}),
    ]
    parsed = list(csv.reader(io.StringIO(pull_csv(["FirstName", "Age"], rows))))
    assert parsed == [
        ["LeadUID", "ReceivedAt", "Price", "FirstName", "Age"],
        ["4", "2026-06-01T12:00:00+00:00", "5.00", "Ann", "30"],
        ["9", "2026-06-01T12:00:00+00:00", "5.01", 'A "quoted", name', ""],
    ]
