"""What keeps the engine moving when it is busy: leads accepted while it has no room wait in
memory and are walked as room frees (no poll has to find them in the database again), and
buyers' answers are written on a connection of their own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from server.bootstrap import distribution
from server.services.distribution.engine import Distributor, EngineSettings
from tests.e2e.test_distribution import LEAD, client, market  # noqa: F401 (a fixture)
from tests.support.buyers import BuyerServer

# Two walks at a time, and a poll so rare that a lead left to it would outlast the test.
NARROW = EngineSettings(concurrency=2, poll_seconds=30)


@pytest.fixture
async def distributor(pool: Any) -> AsyncIterator[Distributor]:
    async with distribution(pool, NARROW, private_deliveries=True) as engine:
        yield engine


async def test_leads_beyond_the_engines_room_are_walked_as_room_frees(
    market: Any,  # noqa: F811 (the fixture imported above)
    buyers: BuyerServer,
    distributor: Distributor,
    monkeypatch: Any,
) -> None:
    found_by_polls: list[int] = []
    poll = distributor._poll

    async def counted(room: int) -> int:
        found_by_polls.append(await poll(room))
        return found_by_polls[-1]

    monkeypatch.setattr(distributor, "_poll", counted)
    m = await market([client("a", buyers, price="30"), client("b", buyers)], max_sell=2)
    leads = await asyncio.gather(
        *(
            m.post({**LEAD, "Email": f"h{i}@example.com", "Phone": f"702557{i:04d}"})
            for i in range(12)
        )
    )
    for lead in leads:
        sends = await m.settled(lead.lead_id, count=2)
        assert sorted(s.client_name for s in sends) == ["Buyer a", "Buyer b"]
    # Of the 10 leads beyond the 2 walks, the poll finds none that was handed over; it may
    # find a few committed a moment before their posts hand them over (the poll runs whenever
    # nothing waits in memory), and their own walks then skip them. Left to the poll, all 10
    # would be found by it.
    assert sum(found_by_polls) <= 4


async def test_a_buyers_answer_is_recorded_while_every_pool_connection_is_busy(
    market: Any,  # noqa: F811 (the fixture imported above)
    buyers: BuyerServer,
    pool: Any,
    database_url: str,
) -> None:
    """Outcomes have a connection of their own: answers never queue behind posts and steps."""
    m = await market([client("slow", buyers)])
    buyers.behave("slow", delay=1.0)
    lead = await m.post()
    for _ in range(200):  # until the send is reserved and on its way
        if buyers.of("slow"):
            break
        await asyncio.sleep(0.02)
    async with contextlib.AsyncExitStack() as held:
        for _ in range(pool.max_size):
            await held.enter_async_context(pool.connection())
        async with await psycopg.AsyncConnection.connect(database_url) as reader:
            for _ in range(100):
                cursor = await reader.execute(
                    "SELECT status FROM sends WHERE lead_id = %s", (lead.lead_id,)
                )
                if [row[0] for row in await cursor.fetchall()] == [3]:  # sold
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the answer was not recorded while the pool was busy")
