"""Leads accepted while the engine has no room wait in memory and are walked as room frees:
no poll has to find them in the database again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.bootstrap import distribution
from server.services.distribution import Distributor, EngineSettings
from tests.e2e.test_distribution import LEAD, client, market  # noqa: F401 (a fixture)
from tests.support.buyers import BuyerServer

# Two walks at a time, and a poll so rare that a lead left to it would outlast the test.
NARROW = EngineSettings(concurrency=2, poll_seconds=30)


@pytest.fixture
async def distributor(pool: Any) -> AsyncIterator[Distributor]:
    async with distribution(pool, NARROW) as engine:
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
    assert sum(found_by_polls) == 0
