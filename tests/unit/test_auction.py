"""The auction's rules: margins, minimum margins, floors, fixed-price buyers, max sell N,
ties, timeouts and refusals (server/domain/sales/auction.py)."""

from __future__ import annotations

from decimal import Decimal

from server.domain.delivery.ping import Bid
from server.domain.matching.selection import Automation, Candidate
from server.domain.sales.auction import (
    AuctionSettings,
    Bidder,
    Heard,
    PingResult,
    margin_of,
    ping_timeout_ms,
    run_auction,
)

D = Decimal


def cand(
    account: int,
    client: int | None = None,
    *,
    price: str = "0",
    secondary: Automation = Automation.Unspecified,
    priority: int = 1,
    created: int | None = None,
    tiers: bool = False,
) -> Candidate:
    client = account if client is None else client
    return Candidate(
        account_id=account,
        client_id=client,
        client_created=client if created is None else created,
        automation=Automation.Price,
        secondary=secondary,
        price=D(price),
        priority=priority,
        weight=1,
        rr_position=None,
        served_count=0,
        use_tiers=tiers,
    )


def bidding(
    account: int, bid: str, *, client: int | None = None, ref: str = "", **kw: object
) -> Bidder:
    candidate_kw = {k: kw.pop(k) for k in ("secondary", "priority", "created", "tiers") if k in kw}
    return Bidder(
        cand(account, client, **candidate_kw),  # type: ignore[arg-type]
        f"buyer {account}",
        PingResult(Heard.ANSWERED, Bid(True, D(bid), ref)),
        **kw,  # type: ignore[arg-type]
    )


def fixed(account: int, price: str) -> Bidder:
    return Bidder(cand(account, price=price), f"fixed {account}")


def won(result: object) -> list[int]:
    return [lot.account_id for lot in result.winners]  # type: ignore[attr-defined]


def lot(result: object, account: int):  # type: ignore[no-untyped-def]
    return next(x for x in result.lots if x.account_id == account)  # type: ignore[attr-defined]


def test_margin_is_a_percentage_of_the_bid() -> None:
    assert margin_of(D("20"), D("10"), D("0")) == D("2.0000")


def test_margin_is_at_least_the_minimum() -> None:
    assert margin_of(D("5"), D("10"), D("1.50")) == D("1.5000")


def test_margin_rounds_half_up_to_four_places() -> None:
    assert margin_of(D("0.0005"), D("10"), D("0")) == D("0.0001")


def test_the_highest_net_wins() -> None:
    result = run_auction(
        [bidding(1, "10"), bidding(2, "30"), bidding(3, "20")], AuctionSettings(), 1
    )
    assert won(result) == [2]
    assert [x.account_id for x in result.ranked] == [2, 3, 1]


def test_nets_are_bids_less_margin() -> None:
    settings = AuctionSettings(margin_percent=D("10"), min_margin=D("1"))
    result = run_auction([bidding(1, "30"), bidding(2, "5")], settings, 2)
    assert (lot(result, 1).margin, lot(result, 1).net) == (D("3.0000"), D("27.0000"))
    assert (lot(result, 2).margin, lot(result, 2).net) == (D("1.0000"), D("4.0000"))


def test_a_buyers_own_margin_replaces_the_campaigns() -> None:
    settings = AuctionSettings(margin_percent=D("10"))
    # 30 - 50% = 15 against 20 - 10% = 18
    result = run_auction([bidding(1, "30", margin_percent=D("50")), bidding(2, "20")], settings, 1)
    assert won(result) == [2]
    assert lot(result, 1).net == D("15.0000")


def test_a_buyers_own_minimum_margin_replaces_the_campaigns() -> None:
    settings = AuctionSettings(min_margin=D("5"))
    result = run_auction([bidding(1, "6", min_margin=D("1")), bidding(2, "6")], settings, 2)
    assert lot(result, 1).net == D("5.0000")
    assert lot(result, 2).net == D("1.0000")


def test_nothing_left_after_the_margin_loses() -> None:
    result = run_auction([bidding(1, "2")], AuctionSettings(min_margin=D("2")), 1)
    assert won(result) == []
    assert "nothing left after the margin" in lot(result, 1).reason


def test_below_the_campaign_floor_loses() -> None:
    settings = AuctionSettings(margin_percent=D("10"), floor=D("10"))
    result = run_auction([bidding(1, "11"), bidding(2, "12")], settings, 2)
    # 11 - 1.10 = 9.90 < 10; 12 - 1.20 = 10.80
    assert won(result) == [2]
    assert lot(result, 1).reason == "lost: below the campaign's floor 10.00"


def test_a_net_equal_to_the_floor_wins() -> None:
    result = run_auction([bidding(1, "10")], AuctionSettings(floor=D("10")), 1)
    assert won(result) == [1]


def test_below_the_buyers_own_floor_loses() -> None:
    settings = AuctionSettings(floor=D("5"))
    result = run_auction([bidding(1, "20", floor=D("25")), bidding(2, "8")], settings, 1)
    assert won(result) == [2]
    assert lot(result, 1).reason == "lost: below the buyer's floor 25.00"


def test_a_buyer_floor_below_the_campaigns_does_not_lower_it() -> None:
    result = run_auction([bidding(1, "8", floor=D("1"))], AuctionSettings(floor=D("10")), 1)
    assert won(result) == []
    assert lot(result, 1).reason == "lost: below the campaign's floor 10.00"


def test_fixed_price_buyers_compete_by_their_price_without_margin() -> None:
    settings = AuctionSettings(margin_percent=D("20"))
    # the bid of 30 nets 24: the fixed 25 wins
    result = run_auction([bidding(1, "30"), fixed(2, "25")], settings, 1)
    assert won(result) == [2]
    assert lot(result, 2).margin is None
    assert lot(result, 2).net == D("25")


def test_fixed_price_below_the_campaign_floor_loses() -> None:
    result = run_auction([fixed(1, "4")], AuctionSettings(floor=D("5")), 1)
    assert won(result) == []


def test_max_sell_takes_the_top_n_and_the_rest_stand_by() -> None:
    bidders = [bidding(n, str(n * 10)) for n in range(1, 6)]
    result = run_auction(bidders, AuctionSettings(), 3)
    assert won(result) == [5, 4, 3]
    assert [x.account_id for x in result.ranked] == [5, 4, 3, 2, 1]
    assert "stands by #1" in lot(result, 2).reason
    assert "stands by #2" in lot(result, 1).reason


def test_one_account_per_buyer_wins() -> None:
    bidders = [bidding(1, "30", client=7), bidding(2, "20", client=7), bidding(3, "10")]
    result = run_auction(bidders, AuctionSettings(), 2)
    assert won(result) == [1, 3]
    assert lot(result, 2).reason == "lost: its buyer won with another account"


def test_a_buyer_with_tiers_may_win_twice() -> None:
    bidders = [bidding(1, "30", client=7, tiers=True), bidding(2, "20", client=7, tiers=True)]
    assert won(run_auction(bidders, AuctionSettings(), 2)) == [1, 2]


def test_ties_are_broken_by_the_secondary_automation() -> None:
    bidders = [
        bidding(1, "20", secondary=Automation.Priority, priority=5),
        bidding(2, "20", secondary=Automation.Priority, priority=2),
    ]
    result = run_auction(bidders, AuctionSettings(), 1)
    assert won(result) == [2]
    assert "tied with 1" in lot(result, 2).reason


def test_ties_without_secondary_go_to_the_older_client() -> None:
    bidders = [bidding(1, "20", created=9), bidding(2, "20", created=3)]
    assert won(run_auction(bidders, AuctionSettings(), 1)) == [2]


def test_a_timed_out_ping_loses() -> None:
    late = Bidder(cand(1), "slow", PingResult(Heard.TIMED_OUT, timeout_ms=500))
    result = run_auction([late, bidding(2, "1")], AuctionSettings(), 1)
    assert won(result) == [2]
    assert lot(result, 1).reason == "lost: no answer within 500 ms"
    assert lot(result, 1).bid is None


def test_a_failed_ping_loses() -> None:
    failed = Bidder(cand(1), "down", PingResult(Heard.FAILED, error="connection refused"))
    result = run_auction([failed], AuctionSettings(), 1)
    assert lot(result, 1).reason == "lost: ping failed: connection refused"


def test_a_declined_ping_loses_with_its_reason() -> None:
    declined = Bidder(cand(1), "no", PingResult(Heard.ANSWERED, Bid(False, reason="not in area")))
    result = run_auction([declined], AuctionSettings(), 1)
    assert lot(result, 1).reason == "lost: declined: not in area"


def test_no_bids_no_winners() -> None:
    declined = Bidder(cand(1), "no", PingResult(Heard.ANSWERED, Bid(False)))
    result = run_auction([declined], AuctionSettings(), 1)
    assert result.winners == [] and result.ranked == []


def test_no_bidders_no_winners() -> None:
    assert run_auction([], AuctionSettings(), 1).lots == ()


def test_a_ping_waits_its_own_timeout_within_the_deadline() -> None:
    assert ping_timeout_ms(500, 1000, 0) == 500
    assert ping_timeout_ms(500, 1000, 700) == 300
    assert ping_timeout_ms(500, 1000, 1200) == 0


def test_the_report_names_bid_margin_net_and_why() -> None:
    settings = AuctionSettings(margin_percent=D("10"), floor=D("10"))
    result = run_auction([bidding(1, "30"), bidding(2, "11")], settings, 1)
    report = result.report(settings)
    assert "- buyer 1: bid 30.00, margin 3.00, net 27.00: won #1" in report
    assert "- buyer 2: bid 11.00, margin 1.10, net 9.90: lost: below the campaign's floor" in report
