"""The built-in test gateway: no money moves. Its cards (docs/billing.md) are the usual test
numbers: 4242424242424242 and 5555555555554444 are approved, 4000000000000002 is declined,
4000000000009995 is declined for insufficient funds, and 4000000000000119 times out the
first time a key is charged (the charge is made all the same, as a real gateway may have)
and answers approved when the same key asks again. Any other number that passes the Luhn
check is declined, and so is an expired card. Its tokens say which card they stand for, so
they outlive the process; the outcomes of idempotency keys live in the process."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal

from server.domain.billing.cards import (
    Card,
    ChargeState,
    GatewayAnswer,
    Tokenized,
    brand,
    digits,
    expired,
)

APPROVED = "approved"
DECLINED = "declined"
NO_FUNDS = "nofunds"
TIMEOUT = "timeout"
EXPIRED = "expired"
UNKNOWN = "unknown"

TEST_CARDS = {
    "4242424242424242": APPROVED,
    "5555555555554444": APPROVED,
    "4000000000000002": DECLINED,
    "4000000000009995": NO_FUNDS,
    "4000000000000119": TIMEOUT,
}
_ANSWERS = {
    APPROVED: GatewayAnswer(ChargeState.APPROVED, "Approved"),
    DECLINED: GatewayAnswer(ChargeState.DECLINED, "Declined: the card was declined"),
    NO_FUNDS: GatewayAnswer(ChargeState.DECLINED, "Declined: insufficient funds"),
    EXPIRED: GatewayAnswer(ChargeState.DECLINED, "Declined: the card has expired"),
    UNKNOWN: GatewayAnswer(ChargeState.DECLINED, "Declined: not a test card"),
}
TIMED_OUT = GatewayAnswer(
    ChargeState.PENDING, "The payment gateway timed out; retry with the same key"
)


class TestGateway:
    """A payment gateway that charges nothing, for tests and the demo."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self._charged: dict[str, GatewayAnswer] = {}  # idempotency key -> first outcome
        self.charges = 0  # charges made (not answers given): what a retry must not add to

    async def tokenize(self, card: Card) -> Tokenized:
        number = digits(card.number)
        outcome = TEST_CARDS.get(number, UNKNOWN)
        if expired(card.exp_month, card.exp_year, datetime.now(UTC)):
            outcome = EXPIRED
        token = f"tok_test_{outcome}_{secrets.token_hex(8)}"
        return Tokenized(token, brand(number), number[-4:], card.exp_month, card.exp_year)

    async def charge(self, token: str, amount: Decimal, idempotency_key: str) -> GatewayAnswer:
        first = self._charged.get(idempotency_key)
        if first is not None:
            return first
        parts = token.split("_")
        outcome = parts[2] if len(parts) == 4 and parts[:2] == ["tok", "test"] else UNKNOWN
        if outcome == TIMEOUT:
            self.charges += 1
            self._charged[idempotency_key] = self._approved(idempotency_key)
            return TIMED_OUT
        answer = _ANSWERS.get(outcome, _ANSWERS[UNKNOWN])
        if answer.state is ChargeState.APPROVED:
            self.charges += 1
            answer = self._approved(idempotency_key)
        self._charged[idempotency_key] = answer
        return answer

    @staticmethod
    def _approved(key: str) -> GatewayAnswer:
        return GatewayAnswer(ChargeState.APPROVED, "Approved", f"test_{secrets.token_hex(6)}")
