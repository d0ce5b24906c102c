"""The auction of a lead among its eligible buyers: who wins, at what price, and why each
buyer won or lost (`run_auction`).

Rules:

1. A buyer whose delivery method pings bids by its ping answer (server/domain/delivery/ping.py).
   No answer within its timeout (the ping's own, cut to what is left of the campaign's
   deadline), a transport failure, a refusal or an answer without a price is no bid: it loses.
2. A bid's margin is `percent` of the bid, at least `minimum`: the campaign's margins, each
   replaced by the buyer's own when its ping sets one. Its net price is the bid less the
   margin; a bid with nothing left (net 0 or less) loses.
3. A buyer without a ping (a fixed-price buyer) competes by its account's price, with no
   margin taken: its price is what it pays, as on any sale.
4. A net price below the campaign's floor, or below the buyer's own floor (a ping setting),
   loses. Floors are inclusive: a net equal to the floor may win.
5. The remaining offers are ranked by net price, highest first; equal nets are ordered by
   the waterfall's tie-break (server/domain/matching/selection.py, rule 3: the secondary
   automation, then the client's creation order, price and account id).
6. Walking down that ranking, an offer wins while the lead's max sell count is not reached,
   one account per buyer unless the buyer uses delivery tiers (as in the waterfall). The
   offers left below the winners stand by, in order: if a winner's post fails, the next one
   takes its place while the auction is fresh.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from server.domain.buyers.offers import StaticOffer
from server.domain.delivery.ping import Bid
from server.domain.matching.selection import Candidate, tie_break_key
from server.errors import Violation

MAX_DEADLINE_MS = 30_000
MAX_FRESH_SECONDS = 86_400
CENT = Decimal("0.0001")
HUNDRED = Decimal(100)
DEFAULT_DEADLINE_MS = 1000
DEFAULT_FRESH_SECONDS = 60


@dataclass(frozen=True)
class AuctionSettings:
    """A campaign's auction settings."""

    deadline_ms: int = DEFAULT_DEADLINE_MS  # every ping answered or given up on by then
    margin_percent: Decimal = Decimal(0)  # of each bid
    min_margin: Decimal = Decimal(0)  # per bid, whatever its percentage gives
    floor: Decimal = Decimal(0)  # the least net price that sells
    fresh_seconds: int = DEFAULT_FRESH_SECONDS  # how long standby bids may replace a winner


def validate_auction(settings: AuctionSettings, where: str) -> list[Violation]:
    """Every problem with a campaign's auction settings."""
    problems = []
    if not 0 < settings.deadline_ms <= MAX_DEADLINE_MS:
        problems.append(
            Violation(f"{where}.deadline_ms", f"must be 1 to {MAX_DEADLINE_MS} milliseconds")
        )
    if not 0 <= settings.margin_percent < HUNDRED:
        problems.append(Violation(f"{where}.margin_percent", "must be 0 or more and below 100"))
    for name in ("min_margin", "floor"):
        if getattr(settings, name) < 0:
            problems.append(Violation(f"{where}.{name}", "must be 0 or more"))
    if not 0 < settings.fresh_seconds <= MAX_FRESH_SECONDS:
        problems.append(
            Violation(f"{where}.fresh_seconds", f"must be 1 to {MAX_FRESH_SECONDS} seconds")
        )
    return problems


class Heard(enum.Enum):
    """What came of one ping."""

    ANSWERED = "answered"  # the buyer answered in time (a bid, or not: see the Bid)
    TIMED_OUT = "timed out"  # no answer within its timeout; a later one is ignored
    FAILED = "failed"  # a transport failure: refused, DNS, TLS


@dataclass(frozen=True)
class PingResult:
    """One ping's outcome as the auction reads it."""

    heard: Heard
    bid: Bid | None = None  # when ANSWERED
    elapsed_ms: float = 0.0
    timeout_ms: int = 0
    error: str = ""  # when FAILED
    offer: StaticOffer | None = None  # a dynamic offer in a bidding answer (1-to-1 consent)


@dataclass(frozen=True)
class Bidder:
    """One eligible delivery account in the auction: a pinging one with its ping's result, or
    a fixed-price one (`ping` None). Margins and floor: the buyer's own, None for the
    campaign's."""

    candidate: Candidate
    label: str
    ping: PingResult | None = None
    margin_percent: Decimal | None = None
    min_margin: Decimal | None = None
    floor: Decimal | None = None


@dataclass(frozen=True)
class Lot:
    """One bidder as the auction left it."""

    bidder: Bidder
    rank: int  # 1.. among winners then standbys; 0 = lost
    won: bool
    bid: Decimal | None  # the bid, or the fixed price
    margin: Decimal | None
    net: Decimal | None  # what the lead sells at to this buyer
    reference: str
    reason: str  # why it won, stands by or lost

    @property
    def account_id(self) -> int:
        return self.bidder.candidate.account_id

    @property
    def offer(self) -> StaticOffer | None:
        """The offer the buyer's bidding answer carried (its method's offer paths), which
        stands for the account's static offer; None: none, or the buyer did not ping."""
        return self.bidder.ping.offer if self.bidder.ping is not None else None

    def line(self) -> str:
        """The bidder's line of the scan log."""
        if self.bid is None:
            return f"- {self.bidder.label}: no bid: {self.reason}"
        kind = "bid" if self.bidder.ping is not None else "fixed price"
        text = f"- {self.bidder.label}: {kind} {self.bid:.2f}"
        if self.margin is not None:
            text += f", margin {self.margin:.2f}"
        if self.net is not None:
            text += f", net {self.net:.2f}"
        return f"{text}: {self.reason}"


@dataclass(frozen=True)
class AuctionResult:
    """The bidders in order: winners, then standbys, then the losers."""

    lots: tuple[Lot, ...]
    max_sells: int

    @property
    def winners(self) -> list[Lot]:
        return [lot for lot in self.lots if lot.won]

    @property
    def ranked(self) -> list[Lot]:
        """Winners then standbys: the order sends are tried in."""
        return [lot for lot in self.lots if lot.rank]

    def report(self, settings: AuctionSettings) -> str:
        """The auction's entry of the scan log: its settings and one line per bidder."""
        head = (
            f"Auction: {len(self.lots)} bidders, {len(self.winners)} won (max sells "
            f"{self.max_sells}); margin {settings.margin_percent:g}% (min "
            f"{settings.min_margin:.2f}), floor {settings.floor:.2f}, deadline "
            f"{settings.deadline_ms} ms"
        )
        return "\n".join([head, *(lot.line() for lot in self.lots)])


_Offer = tuple[Bidder, Decimal, Decimal | None, Decimal, str]  # bid, margin, net, reference


def margin_of(bid: Decimal, percent: Decimal, minimum: Decimal) -> Decimal:
    """The margin taken from `bid`: `percent` of it, at least `minimum`, to the cent's
    hundredth (half up)."""
    share = (bid * percent / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(share, minimum.quantize(CENT, rounding=ROUND_HALF_UP))


def ping_timeout_ms(own_ms: int, deadline_ms: int, elapsed_ms: float) -> float:
    """How long a ping may wait: its own timeout, cut to what is left of the deadline."""
    return max(0.0, min(float(own_ms), deadline_ms - elapsed_ms))


def run_auction(
    bidders: Sequence[Bidder],
    settings: AuctionSettings,
    max_sells: int,
    total_served: int = 0,
) -> AuctionResult:
    """The auction of one lead among `bidders` (module rules 1-6); `total_served` is what
    the waterfall's Percentage tie-break needs."""
    offers: list[_Offer] = []
    lost: list[Lot] = []
    for bidder in bidders:
        priced = _priced(bidder, settings)
        if isinstance(priced, Lot):
            lost.append(priced)
        else:
            offers.append((bidder, *priced))
    offers.sort(key=lambda o: (-o[3], tie_break_key(o[0].candidate, total_served)))
    need = max(max_sells, 1)
    won_clients: set[int] = set()
    placed: list[Lot] = []
    standby = 0
    for bidder, bid, margin, net, reference in offers:
        candidate = bidder.candidate
        takes = candidate.use_tiers or candidate.client_id not in won_clients
        if need > 0 and takes:
            need -= 1
            won_clients.add(candidate.client_id)
            rank = len(placed) + 1
            reason = f"won #{rank}" + _tie_note(offers, net)
            placed.append(Lot(bidder, rank, True, bid, margin, net, reference, reason))
        elif not takes:
            reason = "lost: its buyer won with another account"
            lost.append(Lot(bidder, 0, False, bid, margin, net, reference, reason))
        else:
            standby += 1
            reason = f"lost: outbid; stands by #{standby} if a winner's post fails"
            placed.append(Lot(bidder, len(placed) + 1, False, bid, margin, net, reference, reason))
    return AuctionResult((*placed, *lost), max(max_sells, 1))


def _tie_note(offers: Sequence[_Offer], net: Decimal) -> str:
    ties = sum(1 for offer in offers if offer[3] == net)
    return f" (tied with {ties - 1} at net {net:.2f}: secondary automation)" if ties > 1 else ""


def _priced(
    bidder: Bidder, settings: AuctionSettings
) -> tuple[Decimal, Decimal | None, Decimal, str] | Lot:
    """The bidder's (bid, margin, net, reference), or the Lot saying why it lost."""
    ping = bidder.ping
    floor = settings.floor
    if bidder.floor is not None and bidder.floor > floor:
        floor, whose = bidder.floor, "the buyer's"
    else:
        whose = "the campaign's"
    if ping is None:
        price = bidder.candidate.price
        if price < floor:
            return _lost(bidder, price, None, price, "", f"below {whose} floor {floor:.2f}")
        return price, None, price, ""
    if ping.heard is Heard.TIMED_OUT:
        return _no_bid(bidder, f"no answer within {ping.timeout_ms} ms")
    if ping.heard is Heard.FAILED:
        return _no_bid(bidder, f"ping failed: {ping.error}")
    bid = ping.bid
    if bid is None or not bid.accepted or bid.price is None:
        why = bid.reason if bid is not None and bid.reason else "declined"
        return _no_bid(bidder, f"declined: {why}" if not why.startswith("declined") else why)
    percent = settings.margin_percent if bidder.margin_percent is None else bidder.margin_percent
    minimum = settings.min_margin if bidder.min_margin is None else bidder.min_margin
    margin = margin_of(bid.price, percent, minimum)
    net = bid.price - margin
    if net <= 0:
        return _lost(bidder, bid.price, margin, net, bid.reference, "nothing left after the margin")
    if net < floor:
        why = f"below {whose} floor {floor:.2f}"
        return _lost(bidder, bid.price, margin, net, bid.reference, why)
    return bid.price, margin, net, bid.reference


def _lost(
    bidder: Bidder,
    bid: Decimal,
    margin: Decimal | None,
    net: Decimal,
    reference: str,
    reason: str,
) -> Lot:
    return Lot(bidder, 0, False, bid, margin, net, reference, f"lost: {reason}")


def _no_bid(bidder: Bidder, reason: str) -> Lot:
    return Lot(bidder, 0, False, None, None, None, "", f"lost: {reason}")
