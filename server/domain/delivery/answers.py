"""Reading the buyer's answer by its response rules (`interpret`)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from server.domain.delivery.spec import MAX_REASON_CHARS, Outcome, ResponseRules


def interpret(rules: ResponseRules, status: int | None, body: str) -> Outcome:
    """Whether the buyer accepted the lead, and the price, redirect and reason it gave."""
    reason = _captured(rules.reason_search, body)
    reason = re.sub(r"\s+", " ", reason).strip()[:MAX_REASON_CHARS]
    if status is None:
        return Outcome(accepted=False, reason=reason or "no response")
    if not 200 <= status < 300:
        return Outcome(
            accepted=False, reason=f"HTTP {status}: {reason}" if reason else f"HTTP {status}"
        )
    if rules.search:
        if rules.use_regex:
            found = re.search(rules.search, body) is not None
            missing = f"response did not match /{rules.search}/"
        else:
            found = rules.search.casefold() in body.casefold()
            missing = f'response did not contain "{rules.search}"'
        if not found:
            return Outcome(accepted=False, reason=reason or missing)
    redirect = _captured(rules.redirect_search, body).strip().replace("&amp;", "&")
    return Outcome(
        accepted=True, price=_price(rules.price_search, body), redirect_url=redirect, reason=reason
    )


def _captured(pattern: str, body: str) -> str:
    if not pattern:
        return ""
    match = re.search(pattern, body)
    if match is None:
        return ""
    if match.re.groups:
        return match.group(1) or ""
    return match.group(0)


def _price(pattern: str, body: str) -> Decimal | None:
    text = _captured(pattern, body).strip().replace(",", "").removeprefix("$")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None
