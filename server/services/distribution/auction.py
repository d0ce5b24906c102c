"""The auction of a lead among candidate buyers, as one call (`Auctions.run`): the buyers
whose delivery methods ping are pinged at once (server/adapters/delivery/pings.py), each
within its timeout inside the campaign's deadline, and every candidate, pinging or at a fixed
price, is ranked by the auction's rules (server/domain/sales/auction.py).

It runs outside any transaction and writes nothing: the engine's step (step.py) auctions a
lead between the transaction that scans it and the one that reserves the winners' sends; an
inbound ping can price an order with the same call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from server.adapters.delivery.pings import PingCall, Pinger
from server.domain.buyers.offers import StaticOffer
from server.domain.catalog.fields import Value
from server.domain.delivery.ping import render_ping
from server.domain.matching.eligibility import DeliveryAccountView
from server.domain.matching.selection import Candidate
from server.domain.sales.auction import AuctionResult, AuctionSettings, Bidder, run_auction


@dataclass(frozen=True)
class Entrant:
    """A candidate buyer of the lead: its delivery account and its place in the ordering
    (whose tie-break settles equal nets)."""

    view: DeliveryAccountView
    candidate: Candidate


@dataclass(frozen=True)
class Auctioned:
    """An auction's result with the settings it ran under (for the scan log)."""

    result: AuctionResult
    settings: AuctionSettings

    def report(self) -> str:
        return self.result.report(self.settings)

    @property
    def offers(self) -> dict[int, StaticOffer]:
        """The dynamic offers of the ranked bidders, by delivery account id: each stands for
        that account's static offer where a caller answers offers (the V2 ping)."""
        return {lot.account_id: lot.offer for lot in self.result.ranked if lot.offer is not None}


class Auctions:
    """Runs lead auctions over one process's pinger."""

    def __init__(self, pinger: Pinger) -> None:
        self._pinger = pinger

    async def run(
        self,
        lead_id: int,
        values: Mapping[str, Value],
        entrants: Sequence[Entrant],
        settings: AuctionSettings,
        max_sells: int,
        total_served: int = 0,
    ) -> Auctioned:
        """Ping the entrants that ping, with the lead's `values` (contact fields left out),
        and rank them all; `total_served` feeds the Percentage tie-break."""
        texts = {name: _text(value) for name, value in values.items()}
        calls = []
        for entrant in entrants:
            view = entrant.view
            if view.delivery.ping is not None and view.ping_request is not None:
                request = render_ping(view.ping_request, lead_id, texts, view.contact_fields)
                calls.append(PingCall(view.id, view.label, request, view.delivery.ping))
        heard = await self._pinger.ping_all(lead_id, calls, settings.deadline_ms) if calls else {}
        bidders = []
        for entrant in entrants:
            ping = entrant.view.delivery.ping
            bidders.append(
                Bidder(
                    entrant.candidate,
                    entrant.view.label,
                    heard.get(entrant.view.id),
                    ping.margin_percent if ping else None,
                    ping.min_margin if ping else None,
                    ping.floor if ping else None,
                )
            )
        return Auctioned(run_auction(bidders, settings, max_sells, total_served), settings)


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
