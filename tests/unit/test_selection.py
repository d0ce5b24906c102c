"""Waterfall order by client automation, and the waterfall of tries, sales and rejections."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections import Counter
from decimal import Decimal
from fractions import Fraction

import pytest

from server.domain.matching.selection import (
    Automation,
    Candidate,
    Waterfall,
    explain_order,
    order_candidates,
    plan_waterfall,
)

PRICE, PRIORITY, RR = Automation.Price, Automation.Priority, Automation.RoundRobin
WEIGHTED, PERCENTAGE, NONE = Automation.Weighted, Automation.Percentage, Automation.Unspecified


def cand(
    account: int,
    client: int,
    *,
    created: int | None = None,
    automation: Automation = PRICE,
    secondary: Automation = NONE,
    price: str = "10.00",
    priority: int = 1,
    weight: int = 1,
    rr: int | None = None,
    served: int = 0,
    tiers: bool = False,
) -> Candidate:
    return Candidate(
        account_id=account,
        client_id=client,
        client_created=client if created is None else created,
        automation=automation,
        secondary=secondary,
        price=Decimal(price),
        priority=priority,
        weight=weight,
        rr_position=rr,
        served_count=served,
        use_tiers=tiers,
    )


def accounts(ordered: list[Candidate]) -> list[int]:
    return [c.account_id for c in ordered]


def order(*candidates: Candidate, total_served: int = 0) -> list[int]:
    return accounts(order_candidates(candidates, total_served))


# --- primary automation --------------------------------------------------------------------


def test_price_serves_the_highest_price_first() -> None:
    assert order(
        cand(1, 1, price="10.00"),
        cand(2, 2, price="25.00"),
        cand(3, 3, price="15.50"),
        cand(4, 4, price="20.00"),
    ) == [2, 4, 3, 1]


def test_priority_serves_the_smallest_priority_first() -> None:
    assert order(
        cand(1, 1, automation=PRIORITY, priority=3),
        cand(2, 2, automation=PRIORITY, priority=1),
        cand(3, 3, automation=PRIORITY, priority=2),
        cand(4, 4, automation=PRIORITY, priority=4),
    ) == [2, 3, 1, 4]


def test_round_robin_serves_the_buyer_served_longest_ago_first() -> None:
    assert order(
        cand(1, 1, automation=RR, rr=37),
        cand(2, 2, automation=RR, rr=12),
        cand(3, 3, automation=RR, rr=50),
        cand(4, 4, automation=RR, rr=None),
    ) == [4, 2, 1, 3]


def test_weighted_serves_the_buyer_furthest_below_its_share_first() -> None:
    assert order(
        cand(1, 1, automation=WEIGHTED, weight=5, served=3),  # 0.6
        cand(2, 2, automation=WEIGHTED, weight=1, served=1),  # 1
        cand(3, 3, automation=WEIGHTED, weight=10, served=2),  # 0.2
        cand(4, 4, automation=WEIGHTED, weight=2, served=1),  # 0.5
    ) == [3, 4, 1, 2]


def test_weighted_buyer_without_weight_goes_last() -> None:
    assert order(
        cand(1, 1, automation=WEIGHTED, weight=0, served=0),
        cand(2, 2, automation=WEIGHTED, weight=1, served=50),
        cand(3, 3, automation=WEIGHTED, weight=-1, served=0),
    ) == [2, 1, 3]


def test_percentage_serves_the_buyer_furthest_below_its_target_first() -> None:
    assert order(
        cand(1, 1, automation=PERCENTAGE, weight=50, served=40),  # -0.10
        cand(2, 2, automation=PERCENTAGE, weight=30, served=10),  # -0.20
        cand(3, 3, automation=PERCENTAGE, weight=20, served=25),  # +0.05
        cand(4, 4, automation=PERCENTAGE, weight=0, served=0),  # 0% target: last
        total_served=100,
    ) == [2, 1, 3, 4]


def test_percentage_before_any_lead_serves_the_highest_target_first() -> None:
    assert order(
        cand(1, 1, automation=PERCENTAGE, weight=20),
        cand(2, 2, automation=PERCENTAGE, weight=50),
        cand(3, 3, automation=PERCENTAGE, weight=30),
        total_served=0,
    ) == [2, 3, 1]


def test_percentage_compares_shares_exactly() -> None:
    # 3/10 - 20/100 and 2/10 - 10/100 are both exactly 1/10 (in floats they differ), so
    # creation order decides.
    assert order(
        cand(1, 1, created=2, automation=PERCENTAGE, weight=20, served=3),
        cand(2, 2, created=1, automation=PERCENTAGE, weight=10, served=2),
        total_served=10,
    ) == [2, 1]


def test_weighted_equal_shares_tie() -> None:
    assert order(
        cand(1, 1, created=2, automation=WEIGHTED, weight=3, served=1),
        cand(2, 2, created=1, automation=WEIGHTED, weight=6, served=2),
    ) == [2, 1]


def test_weighted_shares_that_floats_cannot_tell_apart_are_ordered_exactly() -> None:
    big = 10**17
    assert float(Fraction(big + 1, big)) == float(Fraction(big, big - 1))
    assert order(
        cand(1, 1, automation=WEIGHTED, weight=big - 1, served=big),  # 1 + 1/(big-1)
        cand(2, 2, automation=WEIGHTED, weight=big, served=big + 1),  # 1 + 1/big
    ) == [2, 1]


def test_unspecified_automation_keeps_creation_order() -> None:
    assert order(
        cand(1, 1, created=30, automation=NONE, price="99"),
        cand(2, 2, created=10, automation=NONE, price="1"),
        cand(3, 3, created=20, automation=NONE, price="50"),
    ) == [2, 3, 1]


# --- ties ----------------------------------------------------------------------------------


def test_tie_broken_by_secondary_price() -> None:
    assert order(
        cand(1, 1, automation=PRIORITY, secondary=PRICE, priority=1, price="10"),
        cand(2, 2, automation=PRIORITY, secondary=PRICE, priority=1, price="30"),
        cand(3, 3, automation=PRIORITY, secondary=PRICE, priority=2, price="99"),
        cand(4, 4, automation=PRIORITY, secondary=PRICE, priority=1, price="20"),
    ) == [2, 4, 1, 3]


def test_tie_broken_by_secondary_round_robin() -> None:
    assert order(
        cand(1, 1, automation=PRICE, secondary=RR, price="25", rr=9),
        cand(2, 2, automation=PRICE, secondary=RR, price="25", rr=4),
        cand(3, 3, automation=PRICE, secondary=RR, price="25", rr=None),
        cand(4, 4, automation=PRICE, secondary=RR, price="30", rr=99),
    ) == [4, 3, 2, 1]


def test_tie_without_secondary_goes_to_the_earlier_created_buyer() -> None:
    assert order(
        cand(1, 7, created=3, automation=PRIORITY),
        cand(2, 8, created=1, automation=PRIORITY),
        cand(3, 9, created=2, automation=PRIORITY),
    ) == [2, 3, 1]


def test_secondary_tie_falls_through_to_creation_order() -> None:
    assert order(
        cand(1, 1, created=2, automation=PRIORITY, secondary=PRICE, price="20"),
        cand(2, 2, created=1, automation=PRIORITY, secondary=PRICE, price="20"),
    ) == [2, 1]


def test_different_secondary_automations_are_ordered_by_automation_value() -> None:
    assert order(
        cand(1, 1, created=1, automation=PRIORITY, secondary=RR, rr=None),
        cand(2, 2, created=2, automation=PRIORITY, secondary=PRICE, price="5"),
        cand(3, 3, created=3, automation=PRIORITY, secondary=NONE),
    ) == [3, 2, 1]


# --- mixed automations and a buyer's several accounts --------------------------------------


def test_groups_are_ordered_by_their_best_priority() -> None:
    assert order(
        cand(1, 1, automation=PRICE, priority=2, price="90"),
        cand(2, 2, automation=PRICE, priority=3, price="95"),
        cand(3, 3, automation=RR, priority=1, rr=5),
        cand(4, 4, automation=RR, priority=4, rr=None),
    ) == [4, 3, 2, 1]


def test_groups_with_the_same_best_priority_follow_the_automation_value() -> None:
    assert order(
        cand(1, 1, automation=WEIGHTED, priority=1),
        cand(2, 2, automation=RR, priority=1),
        cand(3, 3, automation=PRICE, priority=1),
    ) == [3, 2, 1]


def test_buyer_accounts_stay_together_from_its_best_account() -> None:
    assert order(
        cand(1, 1, price="30"),
        cand(2, 1, price="5"),
        cand(3, 2, price="20"),
        cand(4, 3, price="10"),
    ) == [1, 2, 3, 4]


def test_buyer_accounts_are_ordered_by_price_then_account_id() -> None:
    assert order(
        cand(5, 1, automation=PRIORITY, price="10"),
        cand(3, 1, automation=PRIORITY, price="20"),
        cand(4, 1, automation=PRIORITY, price="10"),
        cand(9, 2, automation=PRIORITY, priority=2, price="50"),
    ) == [3, 4, 5, 9]


def test_order_keeps_every_candidate_of_a_large_set() -> None:
    rng = random.Random(7)
    candidates = [
        cand(
            i,
            i // 3,
            automation=rng.choice(list(Automation)),
            secondary=rng.choice(list(Automation)),
            price=str(Decimal(rng.randrange(10_000)) / 100),
            priority=rng.randrange(1, 5),
            weight=rng.randrange(0, 60),
            rr=rng.choice([None, rng.randrange(1000)]),
            served=rng.randrange(100),
        )
        for i in range(10_000)
    ]
    ordered = order_candidates(candidates, 5_000)
    assert sorted(accounts(ordered)) == list(range(10_000))
    runs = [buyer for buyer, _ in itertools.groupby(c.client_id for c in ordered)]
    assert len(runs) == len(set(runs))  # each buyer's accounts are together


# --- fairness over a sequence of leads -----------------------------------------------------


def simulate(buyers: list[Candidate], leads: int) -> Counter[int]:
    """Gives each lead to the first buyer in order, updating counts and rotation positions."""
    served: Counter[int] = Counter()
    for sequence in range(1, leads + 1):
        winner = order_candidates(buyers, sum(served.values()))[0]
        served[winner.client_id] += 1
        buyers = [
            dataclasses.replace(
                b,
                served_count=served[b.client_id],
                rr_position=sequence if b is winner else b.rr_position,
            )
            for b in buyers
        ]
    return served


def test_percentage_shares_converge_to_targets() -> None:
    buyers = [
        cand(1, 1, automation=PERCENTAGE, weight=50),
        cand(2, 2, automation=PERCENTAGE, weight=30),
        cand(3, 3, automation=PERCENTAGE, weight=20),
        cand(4, 4, automation=PERCENTAGE, weight=0),
    ]
    served = simulate(buyers, 1000)
    shares = {client: served[client] / 1000 for client in (1, 2, 3, 4)}
    targets = {1: 0.50, 2: 0.30, 3: 0.20, 4: 0.0}
    assert all(abs(shares[c] - targets[c]) <= 0.01 for c in targets)


def test_weighted_shares_converge_to_weights() -> None:
    buyers = [
        cand(1, 1, automation=WEIGHTED, weight=5),
        cand(2, 2, automation=WEIGHTED, weight=3),
        cand(3, 3, automation=WEIGHTED, weight=1),
        cand(4, 4, automation=WEIGHTED, weight=1),
    ]
    served = simulate(buyers, 1000)
    targets = {1: 0.5, 2: 0.3, 3: 0.1, 4: 0.1}
    assert all(abs(served[c] / 1000 - targets[c]) <= 0.01 for c in targets)


def test_round_robin_serves_each_buyer_in_turn() -> None:
    buyers = [cand(i, i, created=10 - i, automation=RR) for i in (1, 2, 3, 4)]
    winners = []
    for sequence in range(1, 13):
        winner = order_candidates(buyers, 0)[0]
        winners.append(winner.client_id)
        buyers = [
            dataclasses.replace(b, rr_position=sequence) if b is winner else b for b in buyers
        ]
    assert winners == [4, 3, 2, 1] * 3


def test_round_robin_serves_a_new_buyer_next() -> None:
    assert order(
        cand(1, 1, automation=RR, rr=10),
        cand(2, 2, automation=RR, rr=11),
        cand(3, 3, automation=RR, rr=None),
    ) == [3, 1, 2]


# --- plan_waterfall ------------------------------------------------------------------------

ORDERED = [
    cand(10, 1, price="30"),
    cand(11, 1, price="25"),
    cand(20, 2, price="20", tiers=True),
    cand(21, 2, price="15", tiers=True),
    cand(30, 3, price="10"),
]


def test_plan_lists_every_account_when_nothing_is_sold() -> None:
    assert accounts(plan_waterfall(ORDERED, 1, ())) == [10, 11, 20, 21, 30]


def test_plan_skips_buyers_already_sold_even_with_tiers() -> None:
    assert accounts(plan_waterfall(ORDERED, 3, {1, 2})) == [30]


def test_plan_is_empty_when_earlier_sales_fill_max_sells() -> None:
    assert plan_waterfall(ORDERED, 2, {1, 3}) == []


def test_plan_treats_max_sells_zero_as_one() -> None:
    assert plan_waterfall(ORDERED, 0, {3}) == []


# --- Waterfall -----------------------------------------------------------------------------


def run(waterfall: Waterfall, sells: set[int]) -> list[int]:
    """Tries accounts until done; the accounts in `sells` accept, the rest reject."""
    tried = []
    while (candidate := waterfall.next()) is not None:
        tried.append(candidate.account_id)
        waterfall.record(candidate, candidate.account_id in sells)
    return tried


def test_max_sells_one_stops_at_the_first_sale() -> None:
    waterfall = Waterfall(ORDERED, 1, ())
    assert run(waterfall, {10, 20, 30}) == [10]
    assert (waterfall.sold_count, waterfall.done) == (1, True)


def test_rejections_move_on_to_the_next_account() -> None:
    waterfall = Waterfall(ORDERED, 1, ())
    assert run(waterfall, {21}) == [10, 11, 20, 21]
    assert accounts(list(waterfall.sold)) == [21]


def test_rejection_keeps_the_buyers_other_accounts() -> None:
    assert run(Waterfall(ORDERED, 3, ()), {11}) == [10, 11, 20, 21, 30]


def test_sale_without_tiers_skips_the_buyers_other_accounts() -> None:
    assert run(Waterfall(ORDERED, 3, ()), {10}) == [10, 20, 21, 30]


def test_sale_with_tiers_keeps_the_buyers_other_accounts() -> None:
    waterfall = Waterfall(ORDERED, 3, ())
    assert run(waterfall, {20, 21}) == [10, 11, 20, 21, 30]
    assert accounts(list(waterfall.sold)) == [20, 21]


def test_max_sells_three_sells_to_three_buyers() -> None:
    waterfall = Waterfall(ORDERED, 3, ())
    assert run(waterfall, {10, 11, 20, 30}) == [10, 20, 21, 30]
    assert accounts(list(waterfall.sold)) == [10, 20, 30]
    assert (waterfall.sold_count, waterfall.done) == (3, True)


def test_max_sells_three_counts_tier_sales() -> None:
    waterfall = Waterfall(ORDERED, 3, ())
    assert run(waterfall, {10, 20, 21, 30}) == [10, 20, 21]
    assert waterfall.sold_count == 3


def test_max_sells_zero_is_treated_as_one() -> None:
    assert run(Waterfall(ORDERED, 0, ()), {10, 20}) == [10]


def test_already_sold_buyers_are_skipped_and_counted() -> None:
    waterfall = Waterfall(ORDERED, 2, {1})
    assert waterfall.sold_count == 1
    assert run(waterfall, {20, 30}) == [20]
    assert waterfall.sold_count == 2


def test_already_sold_buyers_are_skipped_even_with_tiers() -> None:
    assert run(Waterfall(ORDERED, 3, {2}), set()) == [10, 11, 30]


def test_waterfall_is_done_when_accounts_run_out() -> None:
    waterfall = Waterfall(ORDERED, 3, ())
    assert run(waterfall, {30}) == [10, 11, 20, 21, 30]
    assert (waterfall.done, waterfall.next(), waterfall.sold_count) == (True, None, 1)


def test_waterfall_without_accounts_is_done() -> None:
    assert Waterfall([], 1, ()).done


def test_next_does_not_advance_until_recorded() -> None:
    waterfall = Waterfall(ORDERED, 1, ())
    assert waterfall.next() == waterfall.next() == ORDERED[0]


def test_recording_an_account_twice_is_refused() -> None:
    waterfall = Waterfall(ORDERED, 3, ())
    waterfall.record(ORDERED[0], False)
    with pytest.raises(ValueError):
        waterfall.record(ORDERED[0], True)


def test_recording_an_unknown_account_is_refused() -> None:
    with pytest.raises(ValueError):
        Waterfall(ORDERED, 1, ()).record(cand(99, 9), True)


def test_recording_a_skipped_account_is_refused() -> None:
    waterfall = Waterfall(ORDERED, 3, ())
    waterfall.record(ORDERED[0], True)
    with pytest.raises(ValueError):
        waterfall.record(ORDERED[1], True)


def test_recording_after_max_sells_is_refused() -> None:
    waterfall = Waterfall(ORDERED, 1, ())
    waterfall.record(ORDERED[0], True)
    with pytest.raises(ValueError):
        waterfall.record(ORDERED[2], True)


# --- explain_order -------------------------------------------------------------------------


def test_explain_order_describes_each_automation() -> None:
    ordered = [
        cand(12, 7, price="25"),
        cand(13, 8, automation=RR, rr=37, price="20"),
        cand(14, 9, automation=RR, price="20"),
        cand(15, 10, automation=WEIGHTED, weight=5, served=3, price="18.5"),
        cand(16, 11, automation=PERCENTAGE, weight=40, served=12, price="9"),
        cand(17, 12, automation=PRIORITY, secondary=PRICE, priority=2, price="7"),
        cand(18, 13, automation=NONE, price="1"),
    ]
    assert explain_order(ordered, total_served=30) == [
        "#1 client 7, account 12: Price 25.00",
        "#2 client 8, account 13: RoundRobin, last served #37; price 20.00",
        "#3 client 9, account 14: RoundRobin, never served; price 20.00",
        "#4 client 10, account 15: Weighted, 3 served, weight 5; price 18.50",
        "#5 client 11, account 16: Percentage, 12 of 30 served, target 40%; price 9.00",
        "#6 client 12, account 17: Priority 2; then Price 7.00",
        "#7 client 13, account 18: no automation; price 1.00",
    ]


def test_explain_order_uses_client_names() -> None:
    assert explain_order([cand(12, 7, price="25")], {7: "Acme"}) == [
        "#1 Acme (client 7, account 12): Price 25.00"
    ]


def test_explain_percentage_without_total() -> None:
    assert explain_order([cand(1, 1, automation=PERCENTAGE, weight=40, served=2)]) == [
        "#1 client 1, account 1: Percentage, 2 served, target 40%; price 10.00"
    ]
