"""Decimals on the wire: plain text, no exponent, no trailing zeros."""

from __future__ import annotations

from decimal import Decimal

import pytest

from server.rpc.convert import decimal_text


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("10.0000", "10"),
        ("12.5000", "12.5"),
        ("0.0000", "0"),
        ("1000", "1000"),
        ("0.0050", "0.005"),
    ],
)
def test_a_stored_amount_reads_as_plain_text(stored: str, shown: str) -> None:
    assert decimal_text(Decimal(stored)) == shown
