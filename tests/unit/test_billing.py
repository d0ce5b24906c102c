"""The billing rules: money to the cent, the prepaid rule, card numbers checked, told apart,
masked and never shown, and the test payment gateway's cards."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from server.adapters.payments.test_gateway import TestGateway
from server.domain.billing.cards import (
    Card,
    ChargeState,
    brand,
    digits,
    expired,
    expiry,
    expiry_text,
    luhn_valid,
    mask,
)
from server.domain.billing.ledger import (
    AUTO_CHARGE_DECLINED,
    BALANCE_TOO_LOW,
    BillingSettings,
    billing_hold,
    cents,
    positive_cents,
    settings_checked,
    short_of,
)
from server.errors import InvalidArgument


@pytest.mark.parametrize(
    ("given", "kept"),
    [("12.345", "12.35"), ("12.344", "12.34"), ("-2.505", "-2.51"), ("7", "7.00"), (0.1, "0.10")],
)
def test_amounts_are_kept_to_the_cent_half_up(given: str | float, kept: str) -> None:
    assert cents(given) == Decimal(kept)


@pytest.mark.parametrize("given", ["abc", "NaN", "Infinity", "1e20", ""])
def test_what_is_no_amount_is_refused(given: str) -> None:
    with pytest.raises(InvalidArgument):
        cents(given)


def test_a_payment_must_be_more_than_zero() -> None:
    for given in ("0", "0.004", "-1"):
        with pytest.raises(InvalidArgument):
            positive_cents(given)


def test_an_auto_charge_needs_a_threshold_and_an_amount() -> None:
    with pytest.raises(InvalidArgument):
        settings_checked(BillingSettings(auto_charge_below=Decimal("10")))
    checked = settings_checked(
        BillingSettings(auto_charge_below=Decimal("10.005"), auto_charge_amount=Decimal("50"))
    )
    assert checked.auto_charge_below == Decimal("10.01")


def test_stopping_at_zero_the_balance_must_cover_the_price() -> None:
    price = Decimal("12.35")
    assert short_of(Decimal("12.35"), price, stop_at_zero=True) == ""
    assert short_of(Decimal("12.34"), price, stop_at_zero=True) == BALANCE_TOO_LOW


def test_not_stopping_at_zero_the_balance_must_be_above_zero() -> None:
    price = Decimal("12.35")
    assert short_of(Decimal("0.01"), price, stop_at_zero=False) == ""
    assert short_of(Decimal("0"), price, stop_at_zero=False) == BALANCE_TOO_LOW
    assert short_of(Decimal("-3"), price, stop_at_zero=False) == BALANCE_TOO_LOW


def test_a_send_filling_a_pack_order_is_not_checked() -> None:
    price = Decimal("12.35")
    nothing = Decimal("0")
    assert billing_hold(paid_by_pack=True, held=True, available=nothing, price=price) == ""
    assert billing_hold(paid_by_pack=False, held=False, available=nothing, price=price) == (
        BALANCE_TOO_LOW
    )


def test_a_held_buyer_is_passed_over_whatever_it_has() -> None:
    price, plenty = Decimal("12.35"), Decimal("1000")
    assert billing_hold(paid_by_pack=False, held=True, available=None, price=price) == (
        AUTO_CHARGE_DECLINED
    )
    assert billing_hold(paid_by_pack=False, held=True, available=plenty, price=price) == (
        AUTO_CHARGE_DECLINED
    )
    assert billing_hold(paid_by_pack=False, held=False, available=None, price=price) == ""
    assert billing_hold(paid_by_pack=False, held=False, available=plenty, price=price) == ""


def test_card_numbers_are_checked_by_luhn() -> None:
    assert luhn_valid("4242424242424242") and not luhn_valid("4242424242424241")
    assert digits("4242 4242-4242 4242") == "4242424242424242"
    for bad in ("4242424242424241", "4242", "42424242424242424242", "abcd" * 4, "٤٢٤٢" * 4):
        with pytest.raises(InvalidArgument) as refused:
            digits(bad)
        assert bad not in refused.value.message


@pytest.mark.parametrize(
    ("number", "name"),
    [
        ("4242424242424242", "VISA"),
        ("5555555555554444", "MASTERCARD"),
        ("2223003122003222", "MASTERCARD"),
        ("378282246310005", "AMEX"),
        ("6011111111111117", "DISCOVER"),
        ("3530111333300000", "OTHER"),
    ],
)
def test_the_brand_is_read_from_the_number(number: str, name: str) -> None:
    assert brand(number) == name


def test_a_card_shows_its_last_four_digits_only() -> None:
    assert mask("4242424242424242") == "************4242"
    card = Card("4242424242424242", 12, 2030, "123")
    assert "4242424242424242" not in repr(card) and "123" not in str(card)


def test_expiry_forms() -> None:
    assert expiry("04", "2032") == (4, 2032)
    assert expiry(4, 32) == (4, 2032)
    for text in ("12/31", "1231", "12/2031", "122031"):
        assert expiry_text(text) == (12, 2031)
    for bad in (("13", "2030"), ("0", "2030"), ("x", "2030")):
        with pytest.raises(InvalidArgument):
            expiry(*bad)
    with pytest.raises(InvalidArgument):
        expiry_text("soon")
    now = datetime(2026, 5, 10, tzinfo=UTC)
    assert expired(4, 2026, now) and not expired(5, 2026, now)


async def test_the_test_gateways_cards() -> None:
    gateway = TestGateway()
    outcomes = {}
    for number in ("4242424242424242", "4000000000000002", "4000000000009995", "4111111111111111"):
        token = await gateway.tokenize(Card(number, 12, 2099))
        assert number not in token.token and token.last_four == number[-4:]
        outcomes[number] = await gateway.charge(token.token, Decimal("5"), f"key-{number}")
    assert outcomes["4242424242424242"].state is ChargeState.APPROVED
    assert outcomes["4000000000000002"].state is ChargeState.DECLINED
    assert "insufficient funds" in outcomes["4000000000009995"].message
    assert outcomes["4111111111111111"].state is ChargeState.DECLINED  # not a test card
    assert gateway.charges == 1
    old = await gateway.tokenize(Card("4242424242424242", 1, 2001))
    assert (await gateway.charge(old.token, Decimal("5"), "old")).state is ChargeState.DECLINED


async def test_the_test_gateway_charges_once_per_key_even_after_a_timeout() -> None:
    gateway = TestGateway()
    slow = await gateway.tokenize(Card("4000000000000119", 12, 2099))
    first = await gateway.charge(slow.token, Decimal("5"), "k")
    assert first.state is ChargeState.PENDING
    again = await gateway.charge(slow.token, Decimal("5"), "k")
    assert again.state is ChargeState.APPROVED
    assert await gateway.charge(slow.token, Decimal("5"), "k") == again
    ok = await gateway.tokenize(Card("4242424242424242", 12, 2099))
    assert await gateway.charge(ok.token, Decimal("5"), "j") == await gateway.charge(
        ok.token, Decimal("5"), "j"
    )
    assert gateway.charges == 2
