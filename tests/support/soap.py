"""Calling service.asmx through a zeep client from async tests: zeep blocks, and the servers
answering it run on the test's event loop, so each call runs in a thread."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import zeep


async def soap(client: Any, method: str, **params: Any) -> Any:
    """The answer of `method` called through `client`."""
    return await asyncio.to_thread(getattr(client.service, method), **params)


async def fault(client: Any, method: str, **params: Any) -> Any:
    """The SOAP Fault `method` answers, which it must."""
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await soap(client, method, **params)
    return refused.value
