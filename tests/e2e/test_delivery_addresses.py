"""A server with the default setting refuses deliveries to private addresses: a buyer whose
address is on loopback is not sent the lead, and its send fails at once, not after retries
(an address refused stays refused), with the reason in the send and the scan log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.bootstrap import distribution
from server.services.distribution.engine import Distributor
from tests.e2e.conftest import FAST
from tests.e2e.test_distribution import S, client, market  # noqa: F401 (a fixture)
from tests.support.buyers import BuyerServer


@pytest.fixture
async def distributor(pool: Any, engines: list[Distributor]) -> AsyncIterator[Distributor]:
    async with distribution(pool, FAST) as engine:  # as `serve` builds it by default
        engines.append(engine)
        yield engine


async def test_a_buyer_on_a_private_address_is_not_sent_the_lead_nor_retried(
    market: Any,  # noqa: F811 (the fixture imported above)
    buyers: BuyerServer,
    idle: Any,
) -> None:
    m = await market([client("inside", buyers, price="40"), client("also", buyers)])
    lead = await m.post()
    sends = await m.settled(lead.lead_id, 2)
    await idle()
    refused = "127.0.0.1 is in the loopback range; the server does not allow deliveries to"
    assert [(s.client_name, s.status) for s in sends] == [
        ("Buyer inside", S.SEND_STATUS_FAILED),
        ("Buyer also", S.SEND_STATUS_FAILED),
    ]
    for send in sends:
        assert send.reason.startswith(f"not sent: address refused: {refused}"), send.reason
        assert send.attempts == 1, send.attempts
    assert buyers.received == []
    log = await m.scan_log(lead.lead_id)
    assert f"Send {sends[0].id} to Buyer inside / main" in log
    assert f"failed at 40.0000: not sent: address refused: {refused}" in log
