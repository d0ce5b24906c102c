"""Config documents for tests that need buyers in the database and never deliver to them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "examples" / "acme.json").read_text()
)


def unreachable_buyers(count: int, accounts: int, price: str) -> list[dict[str, Any]]:
    """The `clients` section for `count` buyers `b0`, `b1`... each posting auto-insurance
    leads to a closed loopback port, with `accounts` delivery accounts `a0`, `a1`..."""
    return [
        {
            "key": f"b{number}",
            "name": f"Buyer {number}",
            "deliveries": [
                {
                    "key": "post",
                    "type": "http_post",
                    "lead_type": "auto-insurance",
                    "address": "http://127.0.0.1:9/buy",
                    "response_search": "accepted",
                }
            ],
            "accounts": [
                {"key": f"a{index}", "delivery": "post", "price": price}
                for index in range(accounts)
            ],
        }
        for number in range(count)
    ]
