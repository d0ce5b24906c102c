"""Which buyers get a lead and in which order: LeadExec's client automation (the waterfall).

Ordering rules (`order_candidates`):

1. Candidates are grouped by their buyer's primary automation. Groups are ordered by the best
   (smallest) buyer priority found in the group, then by the Automation value. (In practice an
   account uses one automation type for all buyers; this rule only makes mixed set-ups
   deterministic.)
2. Within a group, candidates are ordered by the primary automation's key:
   - Price: highest price first.
   - Priority: smallest priority first (1 is served first).
   - RoundRobin: the buyer served longest ago first: a buyer never served through the
     rotation first, then by the sequence number of the last lead it got, ascending.
   - Weighted: served_count / weight ascending (the buyer furthest below its weighted share
     first); a weight of 0 or less goes last.
   - Percentage: served_count / max(total_served, 1) - weight / 100 ascending (the buyer
     furthest below its target share first); a target of 0% or less goes last.
   - Unspecified: no key; the tie-breaks decide.
   Keys are compared exactly (integers, Decimal, Fraction), never approximately.
3. Ties are broken by the secondary automation's key (when it is not Unspecified; buyers whose
   secondary automations differ are ordered by its Automation value, none first), then by the
   client's creation order (earlier first), then by price (highest first), then by account id
   (smallest first).
4. A buyer's accounts stay together: the buyer takes the position of its best account under
   rules 1-3, and all its accounts follow from there, ordered among themselves by the same rules
   (for one buyer that is price descending, then account id ascending).

Waterfall rules (`plan_waterfall`, `Waterfall`):

1. Accounts are tried in the order given. A buyer that already bought this lead before the
   waterfall started is skipped entirely (tiers or not), and counts as one sale.
2. When an account rejects the lead, the next account is tried, including the same buyer's
   other accounts.
3. After an account sells, its buyer's other accounts are skipped, unless that buyer uses
   delivery tiers (it may take the lead on more than one of its accounts).
4. The waterfall ends when the sales reach the lead's max sell count, or when no account is
   left to try. A max sell count below 1 is treated as 1.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

# A key part is (rank, value, exact): rank 1 sorts after every rank 0 ("goes last"); exact
# settles ties of value exactly where value is a float (see _automation_key).
_Value = Decimal | Fraction | float | int
_Part = tuple[int, _Value, _Value]
_Key = tuple[int, int, int, _Value, _Value, int, int, _Value, _Value, int, Decimal, int]
_NO_KEY: _Part = (0, 0, 0)
_LAST: _Part = (1, 0, 0)


class Automation(enum.IntEnum):
    """LeadExec client automation types; values are the proto's numbers."""

    Unspecified = 0
    Price = 1
    Priority = 2
    RoundRobin = 3
    Weighted = 4
    Percentage = 5


@dataclass(frozen=True)
class Candidate:
    """One delivery account eligible for a lead, with its buyer's automation settings.

    weight: Weighted, a relative weight (1 or more); Percentage, the target share in percent.
    rr_position: the sequence number of the last lead the buyer got through the rotation
    (None = never). served_count: the buyer's leads in the current share window.
    """

    account_id: int
    client_id: int
    client_created: int
    automation: Automation
    secondary: Automation
    price: Decimal
    priority: int
    weight: int
    rr_position: int | None
    served_count: int
    use_tiers: bool


def order_candidates(candidates: Sequence[Candidate], total_served: int) -> list[Candidate]:
    """The accounts in waterfall order (module rules 1-4); `total_served` is the leads
    distributed through the share window across these buyers (for Percentage)."""
    total = max(total_served, 1)
    best_priority: dict[int, int] = {}
    for candidate in candidates:
        best = best_priority.get(candidate.automation)
        if best is None or candidate.priority < best:
            best_priority[candidate.automation] = candidate.priority
    keys = [_account_key(c, best_priority, total) for c in candidates]
    # Rules 1-3 in one sort; rule 4 then lists each buyer's accounts from its best one.
    by_buyer: dict[int, list[Candidate]] = {}
    for index in sorted(range(len(candidates)), key=keys.__getitem__):
        candidate = candidates[index]
        by_buyer.setdefault(candidate.client_id, []).append(candidate)
    return [candidate for accounts in by_buyer.values() for candidate in accounts]


def _account_key(candidate: Candidate, best_priority: Mapping[int, int], total: int) -> _Key:
    automation, secondary = candidate.automation, candidate.secondary
    rank, value, exact = _automation_key(automation, candidate, total)
    second_rank, second_value, second_exact = _automation_key(secondary, candidate, total)
    return (
        best_priority[automation],
        int(automation),
        rank,
        value,
        exact,
        int(secondary),
        second_rank,
        second_value,
        second_exact,
        candidate.client_created,
        -candidate.price,
        candidate.account_id,
    )


def tie_break_key(
    candidate: Candidate, total_served: int
) -> tuple[int, int, _Value, _Value, int, Decimal, int]:
    """Rule 3 alone: what orders candidates that tie on their primary key (the secondary
    automation's key, then the client's creation order, price and account id). The auction
    (server/domain/sales/auction.py) breaks ties between equal net prices with it."""
    total = max(total_served, 1)
    rank, value, exact = _automation_key(candidate.secondary, candidate, total)
    return (
        int(candidate.secondary),
        rank,
        value,
        exact,
        candidate.client_created,
        -candidate.price,
        candidate.account_id,
    )


def _automation_key(automation: Automation, candidate: Candidate, total: int) -> _Part:
    if automation is Automation.Price:
        return (0, -candidate.price, 0)
    if automation is Automation.Priority:
        return (0, candidate.priority, 0)
    if automation is Automation.RoundRobin:
        position = candidate.rr_position
        return _NO_KEY if position is None else (1, position, 0)
    if automation is Automation.Weighted:
        if candidate.weight <= 0:
            return _LAST
        # Integer division is correctly rounded, so the float never puts two shares out of
        # order; it only makes most comparisons cheap. Where floats tie, the Fraction decides.
        served, weight = candidate.served_count, candidate.weight
        return (0, served / weight, Fraction(served, weight))
    if automation is Automation.Percentage:
        if candidate.weight <= 0:
            return _LAST
        # served/total - weight/100, scaled by the common denominator 100 * total.
        return (0, 100 * candidate.served_count - candidate.weight * total, 0)
    return _NO_KEY


def plan_waterfall(
    ordered: Sequence[Candidate], max_sells: int, already_sold_clients: Collection[int]
) -> list[Candidate]:
    """Every account the waterfall may try, in order, before knowing which will sell: the
    already-sold buyers' accounts are left out, and nothing is left once they fill max_sells."""
    sold = frozenset(already_sold_clients)
    if len(sold) >= max(max_sells, 1):
        return []
    return [candidate for candidate in ordered if candidate.client_id not in sold]


class Waterfall:
    """The accounts to try for one lead, one at a time, following the module's waterfall rules.

    Call `next()` for the account to try (it does not advance), then `record()` its outcome.
    """

    def __init__(
        self, ordered: Sequence[Candidate], max_sells: int, sold_clients: Collection[int] = ()
    ) -> None:
        self._ordered = tuple(ordered)
        self._accounts = frozenset(candidate.account_id for candidate in self._ordered)
        self._max_sells = max(max_sells, 1)
        self._sold_before = frozenset(sold_clients)
        self._sold_now: set[int] = set()
        self._tried: set[int] = set()
        self._sold: list[Candidate] = []
        self._cursor = 0

    @property
    def sold_count(self) -> int:
        """Sales of this lead: one per buyer sold before, plus every sale recorded here."""
        return len(self._sold_before) + len(self._sold)

    @property
    def sold(self) -> tuple[Candidate, ...]:
        """The accounts recorded as sold here, in order."""
        return tuple(self._sold)

    @property
    def done(self) -> bool:
        """Whether the max sell count is reached or no account is left to try."""
        return self.next() is None

    def next(self) -> Candidate | None:
        """The next account to try given the outcomes so far, or None when done."""
        if self.sold_count >= self._max_sells:
            return None
        # Skipping is permanent: an account never becomes eligible again.
        while self._cursor < len(self._ordered):
            candidate = self._ordered[self._cursor]
            if self._eligible(candidate):
                return candidate
            self._cursor += 1
        return None

    def record(self, candidate: Candidate, sold: bool) -> None:
        """The outcome of trying an account; only an account the waterfall would still try."""
        if (
            candidate.account_id not in self._accounts
            or self.sold_count >= self._max_sells
            or not self._eligible(candidate)
        ):
            raise ValueError(f"account {candidate.account_id} is not waiting to be tried")
        self._tried.add(candidate.account_id)
        if sold:
            self._sold.append(candidate)
            self._sold_now.add(candidate.client_id)

    def _eligible(self, candidate: Candidate) -> bool:
        return (
            candidate.account_id not in self._tried
            and candidate.client_id not in self._sold_before
            and (candidate.use_tiers or candidate.client_id not in self._sold_now)
        )


def explain_order(
    ordered: Sequence[Candidate],
    names: Mapping[int, str] | None = None,
    total_served: int | None = None,
) -> list[str]:
    """One line per account for the scan log, e.g. `#2 client 7, account 12: RoundRobin, last
    served #37; price 20.00`; `names` maps client ids to names."""
    lines = []
    for rank, candidate in enumerate(ordered, start=1):
        name = (names or {}).get(candidate.client_id)
        where = f"client {candidate.client_id}, account {candidate.account_id}"
        who = f"{name} ({where})" if name else where
        reason = _describe(candidate.automation, candidate, total_served)
        secondary = candidate.secondary
        if secondary is not Automation.Unspecified and secondary != candidate.automation:
            reason += f"; then {_describe(secondary, candidate, total_served)}"
        if Automation.Price not in (candidate.automation, secondary):
            reason += f"; price {candidate.price:.2f}"
        lines.append(f"#{rank} {who}: {reason}")
    return lines


def _describe(automation: Automation, candidate: Candidate, total_served: int | None) -> str:
    served = candidate.served_count
    if automation is Automation.Price:
        return f"Price {candidate.price:.2f}"
    if automation is Automation.Priority:
        return f"Priority {candidate.priority}"
    if automation is Automation.RoundRobin:
        if candidate.rr_position is None:
            return "RoundRobin, never served"
        return f"RoundRobin, last served #{candidate.rr_position}"
    if automation is Automation.Weighted:
        return f"Weighted, {served} served, weight {candidate.weight}"
    if automation is Automation.Percentage:
        of = "" if total_served is None else f" of {total_served}"
        return f"Percentage, {served}{of} served, target {candidate.weight}%"
    return "no automation"
