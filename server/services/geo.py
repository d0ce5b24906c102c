"""GetStateList and the ZIP code lookups: reference data, loaded once per process when first
asked (about a second, off the event loop), then answered from memory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from server.domain.geo import Gazetteer, State


class Geo:
    """The US states and ZIP codes of `load`."""

    def __init__(self, load: Callable[[], Gazetteer]) -> None:
        self._load = load
        self._gazetteer: Gazetteer | None = None
        self._loading = asyncio.Lock()

    async def _data(self) -> Gazetteer:
        if self._gazetteer is None:
            async with self._loading:
                if self._gazetteer is None:
                    self._gazetteer = await asyncio.to_thread(self._load)
        return self._gazetteer

    async def states(self) -> list[State]:
        return list((await self._data()).states)

    async def zip_codes_of_state(self, state: str) -> list[str]:
        return (await self._data()).in_state(state)

    async def zip_codes_of_county(self, county: str, state: str) -> list[str]:
        return (await self._data()).in_county(county, state)

    async def zip_codes_of_fips(self, code: str) -> list[str]:
        return (await self._data()).with_fips(code)

    async def zip_codes_within(self, zip_code: str, miles: float, in_state: bool) -> list[str]:
        return (await self._data()).within(zip_code, miles, in_state)
