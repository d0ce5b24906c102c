"""The post log read and bounded: ListPosts pages near and far from the newest entry, and the
removal of bodies past an account's post_body_days, over a log of a million entries.

Usage: .venv/bin/python bench/post_log.py [--posts N] [--days D] [--runs R]

Against `leadrouter serve --demo` in its own process on a throwaway embedded PostgreSQL:
N synthetic post log entries of the demo account (a body of about 700 bytes each, one in
five refused) spread over D days, written in bulk with generate_series, then ANALYZE. Then:

1. R timed ListPosts calls through gRPC for each of: the first page (100 entries), a page
   halfway down the log (its token built as ListPosts builds it), the first page of refusals
   only, and the first page of a time range a week long in the middle: median and spread.
   Pages go by position, so the far page should cost about what the first does.
2. post_body_days set so that a quarter of the log is due, then one sweep of
   PostBodyRetention in this process (as serve runs it): entries passed a second; then a
   second sweep, which has nothing due and should read nothing.
Nothing here asserts a time: the figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "protos")]

from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402
from leadrouter.v1 import callbacks_pb2, post_log_pb2  # noqa: E402

from bench.distribution import postgres_handle, start_serve  # noqa: E402
from clients.client import admin, post_log  # noqa: E402
from server.services.intake.post_log import PostBodyRetention  # noqa: E402
from server.storage.database import open_pool  # noqa: E402

BODY = (
    "vid=1&lid=1&aid=1&password=REMOVED&FirstName=Ann&LastName=Lee&Email=ann{i}%40example.com"
    "&Phone=702555{i}&Address=123+Main+St&City=Las+Vegas&State=NV&Zip=89101&Age=30"
    "&Comments=" + "x" * 480
)


def spread(times: list[float]) -> str:
    return (
        f"median {statistics.median(times) * 1000:.1f} ms "
        f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, {len(times)} runs)"
    )


def token(at: datetime, post_id: str) -> str:
    """A page token as ListPosts builds it (services/intake/post_log_reads.py)."""
    micros = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}/{post_id}".encode()).decode()


async def fill(conn: Any, posts: int, days: int) -> tuple[int, datetime]:
    """The demo account's id, and the time of the newest entry written."""
    cursor = await conn.execute("SELECT max(account_id) FROM accounts")
    (account,) = await cursor.fetchone()
    cursor = await conn.execute("SELECT id FROM sources WHERE account_id = %s LIMIT 1", [account])
    (source,) = await cursor.fetchone()
    newest = datetime.now(UTC) - timedelta(minutes=1)
    started = time.perf_counter()
    await conn.execute(
        "INSERT INTO posts (account_id, id, source_id, received_at, request_format,"
        " request_body, is_valid, response_type, response_details, steps)"
        " SELECT %(account)s, gen_random_uuid(), %(source)s,"
        " %(newest)s - make_interval(secs => (i::float8 / %(n)s) * %(span)s), 'urlencoded',"
        " convert_to(replace(%(body)s, '{i}', i::text), 'UTF8'), i %% 5 <> 0,"
        " CASE WHEN i %% 5 = 0 THEN 9 ELSE 0 END, '', '[]'"
        " FROM generate_series(0, %(n)s - 1) i",
        {
            "account": account,
            "source": source,
            "newest": newest,
            "n": posts,
            "span": days * 86400,
            "body": BODY,
        },
    )
    await conn.commit()
    await conn.execute("ANALYZE posts")
    await conn.commit()
    print(f"  {posts:,} entries over {days} days written in {time.perf_counter() - started:.1f} s")
    return account, newest


def bench_pages(serving: Any, middle: tuple[datetime, str], newest: datetime, runs: int) -> None:
    week_end = Timestamp()
    week_end.FromDatetime(middle[0])
    week_start = Timestamp()
    week_start.FromDatetime(middle[0] - timedelta(days=7))
    requests = {
        "first page (100)": post_log_pb2.ListPostsRequest(),
        "a page halfway down": post_log_pb2.ListPostsRequest(page_token=token(*middle)),
        "first page of refusals": post_log_pb2.ListPostsRequest(
            outcome=post_log_pb2.POST_OUTCOME_FILTER_REFUSED
        ),
        "first page of a week mid-log": post_log_pb2.ListPostsRequest(
            received_after=week_start, received_before=week_end
        ),
    }
    with post_log(serving.grpc, serving.key) as stub:
        for name, request in requests.items():
            answer = stub.ListPosts(request, timeout=60)
            assert len(answer.posts) == 100, (name, len(answer.posts))
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                stub.ListPosts(request, timeout=60)
                times.append(time.perf_counter() - started)
            print(f"  ListPosts, {name}: {spread(times)}")


async def bench_removal(serving: Any, uri: str, posts: int, days: int) -> None:
    keep = days * 3 // 4  # a quarter of the log is older
    with admin(serving.grpc, serving.key) as stub:
        stub.UpdateAccountSettings(
            callbacks_pb2.UpdateAccountSettingsRequest(
                settings=callbacks_pb2.AccountSettings(post_body_days=keep)
            ),
            timeout=30,
        )
    pool = await open_pool(uri, 4)
    try:
        retention = PostBodyRetention(pool)
        started = time.perf_counter()
        passed = await retention.sweep()
        took = time.perf_counter() - started
        print(
            f"  post_body_days {keep}: one sweep passed {passed:,} entries in {took:.1f} s"
            f" ({passed / took:,.0f} a second, a batch of 1,000 per transaction)"
        )
        started = time.perf_counter()
        again = await retention.sweep()
        print(
            f"  the next sweep, nothing due: {again} entries in"
            f" {(time.perf_counter() - started) * 1000:.1f} ms"
        )
    finally:
        await pool.close()


async def run(args: argparse.Namespace) -> None:
    import psycopg

    with tempfile.TemporaryDirectory(prefix="lrpostlog") as name:
        folder = Path(name)
        serving = start_serve(folder, None)
        postgres = None
        try:
            postgres = postgres_handle(folder)
            uri = postgres.get_uri()
            async with await psycopg.AsyncConnection.connect(uri) as conn:
                _, newest = await fill(conn, args.posts, args.days)
                cursor = await conn.execute(
                    "SELECT received_at, id::text FROM posts WHERE account_id <> 0"
                    " ORDER BY received_at DESC, id DESC OFFSET %s LIMIT 1",
                    [args.posts // 2],
                )
                middle = await cursor.fetchone()
            print("ListPosts through gRPC:")
            bench_pages(serving, middle, newest, args.runs)
            print("Removing bodies past post_body_days:")
            await bench_removal(serving, uri, args.posts, args.days)
        finally:
            serving.process.send_signal(signal.SIGTERM)
            serving.process.wait(timeout=60)
            if postgres is not None:
                postgres.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000, help="synthetic entries")
    parser.add_argument("--days", type=int, default=120, help="the days they span")
    parser.add_argument("--runs", type=int, default=9, help="timed calls of each kind")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
