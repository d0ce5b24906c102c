"""Two real `leadrouter serve` processes on one database keep the distribution exact: leads
posted at once, alternately to each process, never overrun a day cap, an order, the
campaign's maximum sell count, nor skew round robin. Buyers are a real HTTP server on
loopback; the outcome is read back through DistributionService once every lead settled."""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from leadrouter.v1 import admin_pb2

from clients.client import admin_async, struct
from tests.e2e.test_cli import Serve, leadrouter, succeeded
from tests.e2e.test_distribution import EXAMPLE, Market, S, client, post_across
from tests.e2e.test_orders_lists import order, ordered, stored_order
from tests.support.buyers import BuyerServer

pytestmark = pytest.mark.slow  # starts server processes


@dataclass(frozen=True)
class Pair:
    """Two serve processes sharing one data folder (and so one embedded PostgreSQL)."""

    first: str  # gRPC address of each
    second: str
    data_dir: Path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    data_dir = tmp_path_factory.mktemp("two")
    first = Serve(data_dir)
    second: Serve | None = None
    try:
        first_address = first.wait_ready()
        second = Serve(data_dir)  # shares the first one's database
        second_address = second.wait_ready()
        assert first_address != second_address
        yield Pair(first_address, second_address, data_dir)
    finally:
        statuses = [second.terminate() if second else 0, first.terminate()]
    assert statuses == [0, 0], f"serve exit statuses {statuses}:\n{first.text()}"


async def market(pair: Pair, clients: list[dict[str, Any]], max_sell: int = 1) -> Market:
    """A fresh tenant (made by `accounts create`) with the example source and these buyers,
    applied over gRPC to the first process; posting through `post_across` alternates."""
    account = succeeded(leadrouter("accounts", "create", "Two", "--data-dir", pair.data_dir))
    document = copy.deepcopy(EXAMPLE)
    document["sources"][0]["campaigns"][0]["max_sell"] = max_sell
    document["clients"] = clients
    async with admin_async(pair.first, account["api_key"]) as stub:
        ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
    return Market(pair.first, account["api_key"], ids)


async def first_buyers(m: Market, leads: list[int]) -> Counter[str]:
    """Who bought each lead, once every lead has a finished send."""
    return Counter([(await m.settled(lead))[0].client_name for lead in leads])


async def test_a_day_cap_holds_across_two_processes(pair: Pair, buyers: BuyerServer) -> None:
    m = await market(
        pair, [client("capped", buyers, price="90", day_max=5), client("rest", buyers)]
    )
    leads = await post_across(m, pair.second, 30)
    assert len(set(leads)) == 30
    assert await first_buyers(m, leads) == {"Buyer capped": 5, "Buyer rest": 25}
    assert (len(buyers.of("capped")), len(buyers.of("rest"))) == (5, 25)


async def test_an_order_holds_across_two_processes(pair: Pair, buyers: BuyerServer) -> None:
    m = await market(
        pair, [ordered("o", buyers, [order("n", 5)]), client("rest", buyers, price="10")]
    )
    leads = await post_across(m, pair.second, 30)
    assert len(set(leads)) == 30
    assert await first_buyers(m, leads) == {"Buyer o": 5, "Buyer rest": 25}
    found = await stored_order(m, "o")
    assert (found.quantity, found.sent) == (5, 5)
    assert (len(buyers.of("o")), len(buyers.of("rest"))) == (5, 25)


async def test_the_max_sell_count_holds_across_two_processes(
    pair: Pair, buyers: BuyerServer
) -> None:
    m = await market(
        pair, [client(k, buyers, price=str(i)) for i, k in enumerate("abcd", start=1)], max_sell=2
    )
    leads = await post_across(m, pair.second, 20)
    assert len(set(leads)) == 20
    for lead in leads:
        await m.settled(lead, 2)
    await asyncio.sleep(0.5)  # room for a third send, were one to be made
    counts: Counter[str] = Counter()
    for lead in leads:
        sends = await m.sends(lead)
        assert [s.status for s in sends] == [S.SEND_STATUS_SOLD] * 2, (lead, sends)
        counts.update(s.client_name for s in sends)
    assert counts == {"Buyer d": 20, "Buyer c": 20}
    delivered = Counter(r.buyer for r in buyers.received)
    assert delivered == {"d": 20, "c": 20}


async def test_round_robin_holds_across_two_processes(pair: Pair, buyers: BuyerServer) -> None:
    m = await market(pair, [client(k, buyers, automation="RoundRobin") for k in ("a", "b", "c")])
    leads = await post_across(m, pair.second, 30)
    assert len(set(leads)) == 30
    assert await first_buyers(m, leads) == {"Buyer a": 10, "Buyer b": 10, "Buyer c": 10}
    assert Counter(r.buyer for r in buyers.received) == {"a": 10, "b": 10, "c": 10}
