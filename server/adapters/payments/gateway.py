"""The payment gateway's interface. A gateway turns a card into a token once (the number
and security code go no further), and charges a token with an idempotency key: asking again
with the same key never charges twice and answers the first charge's outcome."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from server.domain.billing.cards import Card, GatewayAnswer, Tokenized


class PaymentGateway(Protocol):
    async def tokenize(self, card: Card) -> Tokenized:
        """The card as a token; raises InvalidArgument for a number that is no card's."""
        ...

    async def charge(self, token: str, amount: Decimal, idempotency_key: str) -> GatewayAnswer:
        """Charge the card behind `token` once per `idempotency_key`."""
        ...
