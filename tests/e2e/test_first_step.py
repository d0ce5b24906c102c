"""A lead's first distribution step is taken in the transaction that accepts it: its first
sends are reserved, its plan saved and its scan log written before the post is answered, and
delivered once it commits, with no walk. A step that fails is undone to its savepoint, the lead
kept, and the walk takes the step instead."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from leadrouter.v1 import distribution_pb2

from server.services.distribution.engine import Distributor
from tests.e2e.test_distribution import LEAD, client, market  # noqa: F401 (a fixture)
from tests.support.buyers import BuyerServer

SOLD, IN_FLIGHT = 3, 2  # sends.status
S = distribution_pb2.SendStatus


def walks_recorded(distributor: Distributor, monkeypatch: Any) -> list[int]:
    """Record walks of leads instead of taking them: only a first step can sell a lead."""
    walked: list[int] = []

    async def recorded(account_id: int, lead_id: int, *, leased: bool = True) -> None:
        walked.append(lead_id)

    monkeypatch.setattr(distributor, "_walk", recorded)
    return walked


async def two_buyers_compiled(create: Any, buyers: BuyerServer) -> Any:
    """A market whose lead goes to both of two buyers, with one lead sold already: that walk
    compiled the buyers, so the next lead's first step is taken when it is accepted."""
    m = await create([client("a", buyers, price="30"), client("b", buyers)], max_sell=2)
    first = await m.post()
    await m.settled(first.lead_id, count=2)
    return m


async def job_and_sends(pool: Any, lead_id: int) -> tuple[Any, list[int], int]:
    """The lead's job state and plan length, its sends' statuses, and its scan log entries."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT state, jsonb_array_length(plan) AS planned FROM distribution_jobs "
            "WHERE lead_id = %s",
            (lead_id,),
        )
        job = await cursor.fetchone()
        cursor = await conn.execute(
            "SELECT status FROM sends WHERE lead_id = %s ORDER BY id", (lead_id,)
        )
        statuses = [row["status"] for row in await cursor.fetchall()]
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM scan_logs WHERE lead_id = %s", (lead_id,)
        )
        logs = await cursor.fetchone()
    return job, statuses, logs["n"]


async def test_a_leads_first_sends_are_reserved_when_it_is_accepted(
    market: Any,  # noqa: F811 (the fixture imported above)
    buyers: BuyerServer,
    distributor: Distributor,
    pool: Any,
    monkeypatch: Any,
) -> None:
    m = await two_buyers_compiled(market, buyers)
    walked = walks_recorded(distributor, monkeypatch)
    buyers.behave("a", delay=0.5)
    buyers.behave("b", delay=0.5)
    lead = await m.post({**LEAD, "Email": "second@example.com", "Phone": "7025550199"})
    # answered before either buyer did: both sends were reserved with the lead
    job, statuses, logs = await job_and_sends(pool, lead.lead_id)
    assert (job["state"], job["planned"], statuses) == ("waiting", 2, [IN_FLIGHT, IN_FLIGHT])
    assert logs == 1  # the scan report
    sends = await m.settled(lead.lead_id, count=2)
    assert sorted(s.client_name for s in sends) == ["Buyer a", "Buyer b"]
    assert walked == []  # delivered from the first step, answers finishing the job
    job, statuses, _ = await job_and_sends(pool, lead.lead_id)
    assert (job["state"], statuses) == ("done", [SOLD, SOLD])


async def test_the_first_lead_after_a_buyer_change_is_walked(
    market: Any,  # noqa: F811 (the fixture imported above)
    buyers: BuyerServer,
    distributor: Distributor,
    pool: Any,
    monkeypatch: Any,
) -> None:
    """Compiling the buyers may take seconds: the post does not wait for it, the walk does."""
    m = await market([client("a", buyers)])
    walked = walks_recorded(distributor, monkeypatch)
    lead = await m.post()
    assert walked == [lead.lead_id]
    job, statuses, logs = await job_and_sends(pool, lead.lead_id)
    assert (job["state"], job["planned"], statuses, logs) == ("pending", None, [], 0)


@pytest.mark.parametrize(
    "failure",
    [psycopg.errors.DeadlockDetected("deadlock detected"), RuntimeError("a bug")],
    ids=["deadlock", "bug"],
)
async def test_a_failed_first_step_is_undone_and_the_lead_walked(
    market: Any,  # noqa: F811 (the fixture imported above)
    buyers: BuyerServer,
    distributor: Distributor,
    pool: Any,
    monkeypatch: Any,
    failure: Exception,
) -> None:
    m = await two_buyers_compiled(market, buyers)
    step = distributor.first_step
    failed: list[int] = []

    async def failing(conn: Any, job: Any) -> Any:
        await step(conn, job)  # everything written, then the failure
        failed.append(job.lead_id)
        raise failure

    monkeypatch.setattr(distributor, "first_step", failing)
    lead = await m.post({**LEAD, "Email": "second@example.com", "Phone": "7025550199"})
    assert failed == [lead.lead_id]
    sends = await m.settled(lead.lead_id, count=2)
    # the step's sends and scan report were undone; the walk's are the only ones
    assert sorted((s.client_name, s.status) for s in sends) == [
        ("Buyer a", S.SEND_STATUS_SOLD),
        ("Buyer b", S.SEND_STATUS_SOLD),
    ]
    _, _, logs = await job_and_sends(pool, lead.lead_id)
    assert logs == 3  # the walk's scan report and the two answers
    assert len(buyers.of("a")) == len(buyers.of("b")) == 2  # once each per lead
