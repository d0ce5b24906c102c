"""Portal sign-in (PortalService.SignInClient's use case, in process) and what it costs the
rest of the server: while sign-ins run, a probe takes a connection from the same pool and
runs `SELECT 1` in a loop, as any other use case would; its latency is printed beside the
probe's alone.

Usage: .venv/bin/python bench/portal_sign_in.py [--pool N] [--seconds S] [--burst B]

1. alone: the probe on an idle pool.
2. burst: B concurrent wrong sign-ins on one new user name, again and again (the limit lets
   5 of each burst be checked against a hash; the rest are refused as locked).
3. spread: 8 workers signing in with wrong passwords, each on new user names, for S seconds.

A throwaway embedded PostgreSQL; the pool has N connections (default: the server's default
on this machine, `server/config.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(1, str(Path(__file__).parents[1] / "protos"))

from server.adapters.us_places import load_states
from server.config import default_pool_size
from server.errors import LeadRouterError
from server.services.accounts import Accounts
from server.services.portal import Portal
from server.storage.database import Pool, open_pool
from server.storage.migrations import migrate

_names = itertools.count()


class Probe:
    """Another use case's view of the pool: how long one short statement takes."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self.times: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            async with self._pool.connection() as conn:
                await conn.execute("SELECT 1")
                await conn.commit()
            self.times.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.005)

    def start(self) -> None:
        self.times = []
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> str:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        t = sorted(self.times)
        p99 = t[min(len(t) - 1, int(0.99 * len(t)))]
        return f"probe p50 {statistics.median(t):6.1f} ms  p99 {p99:6.1f} ms  max {t[-1]:6.1f} ms"


async def attempt(portal: Portal, account_id: int, name: str) -> None:
    with contextlib.suppress(LeadRouterError):
        await portal.sign_in(account_id, name, "a wrong password")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pool", type=int, default=default_pool_size(os.cpu_count()))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--burst", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import pgserver

        server = pgserver.get_server(Path(folder), cleanup_mode="delete")
        try:
            url = str(server.get_uri())
            await migrate(url)
            pool = await open_pool(url, args.pool)
            try:
                await run(pool, args)
            finally:
                await pool.close()
        finally:
            server.cleanup()


async def run(pool: Pool, args: argparse.Namespace) -> None:
    account = await Accounts(pool).create_account("Bench")
    portal = Portal(pool, load_states())
    probe = Probe(pool)
    print(f"pool of {args.pool} connections, {os.cpu_count()} cores")

    probe.start()
    await asyncio.sleep(args.seconds)
    print(f"alone:   {'':38}{await probe.stop()}")

    probe.start()
    bursts, started = 0, time.perf_counter()
    walls = []
    while time.perf_counter() - started < args.seconds:
        name = f"burst.{next(_names)}"
        began = time.perf_counter()
        await asyncio.gather(
            *(attempt(portal, account.account_id, name) for _ in range(args.burst))
        )
        walls.append((time.perf_counter() - began) * 1000)
        bursts += 1
    print(
        f"burst:   {bursts:4d} bursts of {args.burst}, "
        f"{statistics.median(walls):6.0f} ms each  {await probe.stop()}"
    )

    probe.start()
    done = 0

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() - started < args.seconds:
            await attempt(portal, account.account_id, f"spread.{next(_names)}")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(8)))
    rate = done / (time.perf_counter() - started)
    print(f"spread:  {rate:6.1f} sign-ins/s {'':20}{await probe.stop()}")


if __name__ == "__main__":
    asyncio.run(main())
