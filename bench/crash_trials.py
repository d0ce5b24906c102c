"""Crash trials: `kill -9` during load, restart, settle, and account for every lead.

Usage: .venv/bin/python bench/crash_trials.py [--trials N] [--leads-per-trial L]
           [--processes 1|2] [--connections C] [--buyer-delay-ms D] [--lease-seconds S]
           [--settle-seconds T] [--seed X] [--quick]

Starts `leadrouter serve` in its own process group on a throwaway data folder (embedded
PostgreSQL), with two local HTTP buyers run by this process that record every delivery with
its `Idempotency-Key` header and answer "accepted" after D ms. The example campaign sells
each lead to both buyers (max_sell 2, no caps, no criteria), so every stored lead must reach
both. Then N trials, each:

1. post up to L distinct valid leads to the legacy insert URL over C keep-alive connections;
2. at a random moment of that load (after a random number of answered posts), SIGKILL every
   serve process (with --processes 2, the main one and its worker) at once;
3. start serve again on the same data folder and wait until every lead stored in the trial
   has its job done and no send scheduled or in flight (the settle time, from the restarted
   serve being ready);
4. account, from the posts' answers, the buyers' records and the database:
   - accepted: posts answered No_Error with a lead id;
   - lost: accepted, but the lead is not in the database;
   - undelivered: a stored lead that a buyer never received (both buyers take every lead);
   - sold twice: a lead with more than one sold send to one buyer in the database;
   - re-sent, same key / new key: a buyer received a lead more than once, every time with
     the same Idempotency-Key / with different keys;
   - stored but never answered: the post's connection died with serve, yet the lead was
     committed (expected after kill -9; it is delivered like any other);
   - stored but answered as an error: work committed and reported failed.

After the last trial serve is stopped cleanly (SIGTERM), and the PostgreSQL processes still
running on the bench's data folder are counted and printed; the bench then stops them itself.
serve's memory (RSS of its processes) is printed at start, after warm-up and at the end.

Exits 1 when any lead was lost, left undelivered, sold twice, re-sent with a new key, or
stored while answered as an error, when PostgreSQL was left running or serve's final stop
was not clean (exit status 0); otherwise 0. The lease (LEADROUTER_LEASE_SECONDS) is
shortened to S seconds so a trial settles in seconds rather than the default 30.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from bench.receiver import Connection, read_ready, serve_rss  # noqa: E402

EXAMPLE = json.loads((ROOT / "examples" / "acme.json").read_text())
BUYERS = ("one", "two")
INSERT_PATH = "/processor/insert/general/json"
ANSWER = b"accepted"
SOLD = 3
OPEN_SENDS = (1, 2)  # scheduled, in flight


# -- the buyers ------------------------------------------------------------------------------


@dataclass
class Buyer:
    """A local HTTP buyer: records (lead id, Idempotency-Key) for every request it reads in
    full, then answers "accepted" after the delay."""

    name: str
    delay: float
    received: list[tuple[int, str]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        buyer = self

        class Protocol(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                assert isinstance(transport, asyncio.Transport)
                self.transport = transport
                self.buffer = b""

            def data_received(self, data: bytes) -> None:
                self.buffer += data
                while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
                    head = self.buffer[:end].decode("latin-1")
                    length = int(_header(head, "content-length") or 0)
                    if len(self.buffer) < end + 4 + length:
                        return
                    body = self.buffer[end + 4 : end + 4 + length].decode()
                    self.buffer = self.buffer[end + 4 + length :]
                    lead = int(dict(parse_qsl(body))["lead_id"])
                    buyer.received.append((lead, _header(head, "idempotency-key")))
                    asyncio.get_running_loop().call_later(buyer.delay, self.answer)

            def answer(self) -> None:
                if not self.transport.is_closing():
                    self.transport.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER)
                    )

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(Protocol, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


def _header(head: str, name: str) -> str:
    found = re.search(rf"^{name}:[ \t]*(.*?)[ \t]*$", head, re.IGNORECASE | re.MULTILINE)
    return found[1] if found else ""


def document(buyers: list[Buyer]) -> dict[str, Any]:
    """The example config, its campaign uncapped and selling each lead to both buyers."""
    config: dict[str, Any] = json.loads(json.dumps(EXAMPLE))
    campaign = config["sources"][0]["campaigns"][0]
    campaign.update(day_max=-1, hour_max=-1, month_max=-1, max_sell=len(buyers))
    config["clients"] = [
        {
            "key": buyer.name,
            "name": f"Buyer {buyer.name}",
            "automation": "Price",
            "deliveries": [
                {
                    "key": "post",
                    "type": "http_post",
                    "lead_type": "auto-insurance",
                    "address": f"http://127.0.0.1:{buyer.port}/buy",
                    "response_search": "accepted",
                    "timeout_seconds": 5,
                    "mappings": [
                        {"field": "lead_id", "param": "lead_id"},
                        {"field": "Email", "param": "email"},
                    ],
                }
            ],
            "accounts": [{"key": "all", "delivery": "post", "price": str(10 * (index + 1))}],
        }
        for index, buyer in enumerate(buyers)
    ]
    return config


# -- serve -----------------------------------------------------------------------------------


class Serve:
    """`leadrouter serve` on the bench's data folder; its output drained on a thread."""

    def __init__(self, folder: Path, processes: int, lease_seconds: int, demo: bool) -> None:
        command = [sys.executable, "-m", "clients.cli", "serve", "--data-dir", str(folder)]
        command += ["--grpc", "127.0.0.1:0", "--receiver", "127.0.0.1:0", "--soap", "127.0.0.1:0"]
        command += ["--processes", str(processes)]
        # the trial's own buyer only: no demo buyer
        command += ["--demo", "--no-demo-buyer"] if demo else []
        env = {**os.environ, "LEADROUTER_LEASE_SECONDS": str(lease_seconds)}
        env["LEADROUTER_ALLOW_PRIVATE_DELIVERIES"] = "1"  # the trial's buyers are on loopback
        started = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=env,
            start_new_session=True,  # a Ctrl-C of the bench reaches serve only through us
        )
        try:
            self._wait_ready(demo)
        except BaseException:
            self.process.kill()  # never left behind, even when it did not come up
            self.process.wait()
            raise
        self.ready_seconds = time.perf_counter() - started

    def _wait_ready(self, demo: bool) -> None:
        assert self.process.stdout is not None
        self.log: list[str] = []
        lines = self._lines(self.process.stdout)
        if demo:
            self.grpc, self.key, self.receiver, self.form = read_ready(lines)
        else:
            self.grpc = self.receiver = self.key = ""
            self.form: dict[str, str] = {}
            for line in lines:
                if found := re.search(r"gRPC API listening on (\S+)", line):
                    self.grpc = found[1]
                if found := re.search(r"lead receiver listening on http://(\S+)", line):
                    self.receiver = found[1]
                if line.startswith("Stop with"):
                    break
            else:
                raise SystemExit(f"serve stopped before it was ready:\n{''.join(self.log)}")
        threading.Thread(target=lambda: [None for _ in lines], daemon=True).start()

    def _lines(self, stream: Any) -> Any:
        for line in stream:
            self.log.append(line)
            del self.log[:-200]
            yield line

    def processes(self) -> list[Any]:
        """This serve process and its workers (never PostgreSQL, which pgserver starts apart)."""
        try:
            main = psutil.Process(self.process.pid)
            workers = [c for c in main.children(recursive=True) if "--worker" in c.cmdline()]
        except psutil.NoSuchProcess:
            return []
        return [main, *workers]

    def kill(self) -> None:
        """SIGKILL every serve process at once, as a crash would."""
        for process in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> int | None:
        """SIGTERM, as an operator stops it; the exit status, or None if it had to be killed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.kill()
            return None


def apply(serve: Serve, folder: Path, config: dict[str, Any]) -> None:
    path = folder / "crash.json"
    path.write_text(json.dumps(config))
    command = [sys.executable, "-m", "clients.cli", "apply", str(path)]
    done = subprocess.run(
        [*command, "--grpc", serve.grpc, "--key", serve.key],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode:
        raise SystemExit(f"apply failed: {done.stdout}{done.stderr}")


def postgres_uri(folder: Path) -> str:
    """The embedded PostgreSQL's address, read from its pid file: the bench takes no pgserver
    handle, so it never counts as one of the server's users."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(folder.resolve() / "pg")
    if info is None:
        raise SystemExit("the embedded PostgreSQL is not running")
    return str(info.get_uri())


def postgres_left(folder: Path) -> list[Any]:
    """PostgreSQL processes running on the bench's data folder: each postmaster started on it
    (found by its `-D` argument) and its children."""
    pgdata = str(folder.resolve() / "pg")
    found: list[Any] = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and pgdata in cmdline:
            with contextlib.suppress(psutil.NoSuchProcess):
                found += [process, *process.children(recursive=True)]
    return found


def stop_postgres(processes: list[Any]) -> None:
    """Fast shutdown (SIGINT) of each postmaster, SIGKILL if it lingers."""
    postmasters = [p for p in processes if "-D" in (_cmdline(p))]
    for process in postmasters:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGINT)
    _, alive = psutil.wait_procs(postmasters, timeout=30)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(processes, timeout=10)


def _cmdline(process: Any) -> list[str]:
    try:
        return list(process.cmdline())
    except psutil.NoSuchProcess:
        return []


# -- a trial ---------------------------------------------------------------------------------


@dataclass
class Posts:
    """What the posts of a trial were told: lead numbers by outcome."""

    accepted: dict[int, int] = field(default_factory=dict)  # number -> lead id
    refused: dict[int, str] = field(default_factory=dict)  # number -> ResponseType
    unanswered: set[int] = field(default_factory=set)


def lead_form(form: dict[str, str], number: int) -> str:
    return urlencode({**form, "Email": f"c{number}@example.com", "Phone": f"70{number:08d}"})


async def post_load(
    address: str,
    form: dict[str, str],
    numbers: range,
    connections: int,
    kill_after: int | None,
    kill: asyncio.Event,
) -> Posts:
    """Post these leads over `connections` keep-alive connections; once `kill_after` posts are
    answered, set `kill`. A post whose connection dies is unanswered; posting then stops."""
    host, port = address.rsplit(":", 1)
    posts = Posts()
    queue = iter(numbers)
    answered = 0

    async def worker() -> None:
        nonlocal answered
        try:
            connection = await Connection.open(host, int(port))
        except OSError:
            return
        try:
            for number in queue:
                try:
                    answer = await connection.post(INSERT_PATH, lead_form(form, number))
                except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration):
                    posts.unanswered.add(number)
                    return
                kind = str(answer.get("ResponseType"))
                if kind == "No_Error" and answer.get("LeadIdentifier"):
                    posts.accepted[number] = int(answer["LeadIdentifier"])
                else:
                    posts.refused[number] = kind
                answered += 1
                if kill_after is not None and answered >= kill_after:
                    kill.set()
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return posts


async def max_lead_id(conn: Any) -> int:
    cursor = await conn.execute("SELECT coalesce(max(id), 0) FROM leads")
    row = await cursor.fetchone()
    return int(row[0])


async def settle(conn: Any, after: int, deadline: float) -> int:
    """Wait until every lead stored after `after` has its job done and no open send; the
    number of leads still open when the deadline passed (0 when settled)."""
    while True:
        cursor = await conn.execute(
            "SELECT count(*) FROM leads l "
            "WHERE l.id > %(after)s AND ("
            "  EXISTS (SELECT 1 FROM distribution_jobs j WHERE j.account_id = l.account_id"
            "          AND j.lead_id = l.id AND j.state <> 'done')"
            "  OR EXISTS (SELECT 1 FROM sends s WHERE s.account_id = l.account_id"
            "             AND s.lead_id = l.id AND s.status = ANY(%(open)s)))",
            {"after": after, "open": list(OPEN_SENDS)},
        )
        row = await cursor.fetchone()
        if row[0] == 0 or time.perf_counter() > deadline:
            return int(row[0])
        await asyncio.sleep(0.1)


@dataclass
class Stored:
    """The trial's leads in the database: lead id -> number posted, and sold sends."""

    numbers: dict[int, int]
    sold: dict[tuple[int, str], list[int]]  # (lead id, buyer) -> sold send ids


async def stored_leads(conn: Any, after: int) -> Stored:
    cursor = await conn.execute(
        "SELECT id, fields->>'Email' FROM leads WHERE id > %(after)s", {"after": after}
    )
    numbers: dict[int, int] = {}
    for lead_id, email in await cursor.fetchall():
        found = re.fullmatch(r"c(\d+)@example\.com", email or "")
        numbers[int(lead_id)] = int(found[1]) if found else -1
    cursor = await conn.execute(
        "SELECT s.lead_id, c.key, s.id FROM sends s "
        "JOIN clients c ON c.account_id = s.account_id AND c.id = s.client_id "
        "WHERE s.lead_id > %(after)s AND s.status = %(sold)s",
        {"after": after, "sold": SOLD},
    )
    sold: dict[tuple[int, str], list[int]] = defaultdict(list)
    for lead_id, buyer, send_id in await cursor.fetchall():
        sold[int(lead_id), str(buyer)].append(int(send_id))
    return Stored(numbers, sold)


@dataclass
class Tally:
    posted: int = 0
    accepted: int = 0
    refused: int = 0
    unanswered: int = 0
    lost: int = 0
    undelivered: int = 0
    undelivered_unanswered: int = 0
    sold_twice: int = 0
    resent_same_key: int = 0
    resent_new_key: int = 0
    stored_unanswered: int = 0
    stored_refused: int = 0
    still_open: int = 0

    def add(self, other: Tally) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def failures(self) -> int:
        return (
            self.lost
            + self.undelivered
            + self.undelivered_unanswered
            + self.sold_twice
            + self.resent_new_key
            + self.stored_refused
        )


def account(posts: Posts, stored: Stored, buyers: list[Buyer], since: list[int]) -> Tally:
    """The trial's figures. `since` is where each buyer's record stood before the trial."""
    tally = Tally(
        posted=len(posts.accepted) + len(posts.refused) + len(posts.unanswered),
        accepted=len(posts.accepted),
        refused=len(posts.refused),
        unanswered=len(posts.unanswered),
    )
    tally.lost = sum(lead not in stored.numbers for lead in posts.accepted.values())
    tally.stored_unanswered = sum(n in posts.unanswered for n in stored.numbers.values())
    tally.stored_refused = sum(n in posts.refused for n in stored.numbers.values())
    keys: dict[tuple[int, str], list[str]] = defaultdict(list)
    for buyer, start in zip(buyers, since, strict=True):
        for lead, key in buyer.received[start:]:
            keys[lead, buyer.name].append(key)
    for lead, number in stored.numbers.items():
        missing = any((lead, b.name) not in keys for b in buyers)
        if missing and number in posts.unanswered:
            tally.undelivered_unanswered += 1
        elif missing:
            tally.undelivered += 1
        tally.sold_twice += any(len(stored.sold.get((lead, b.name), [])) > 1 for b in buyers)
    for received in keys.values():
        if len(received) > 1:
            if len(set(received)) == 1:
                tally.resent_same_key += 1
            else:
                tally.resent_new_key += 1
    return tally


@dataclass
class Trial:
    tally: Tally
    killed_after: float
    restart_seconds: float
    settle_seconds: float
    rss_at_kill: float


# -- the run ---------------------------------------------------------------------------------


def mib(processes: list[Any]) -> float:
    return serve_rss(processes) / 2**20


async def run(args: argparse.Namespace) -> int:
    import psycopg

    rng = random.Random(args.seed)
    buyers = [Buyer(name, args.buyer_delay_ms / 1000) for name in BUYERS]
    for buyer in buyers:
        await buyer.start()
    trials: list[Trial] = []
    total = Tally()
    number = 0
    left: list[Any] = []
    final_status: int | None = None
    with tempfile.TemporaryDirectory(prefix="lrcrash") as name:
        folder = Path(name)
        serve: Serve | None = None
        try:
            serve = Serve(folder, args.processes, args.lease_seconds, demo=True)
            key, form = serve.key, serve.form
            apply(serve, folder, document(buyers))
            rss_start = mib(serve.processes())
            conn = await psycopg.AsyncConnection.connect(postgres_uri(folder), autocommit=True)
            # warm up: the buyer cache, the connections to the buyers, the code paths
            warm = range(10**8, 10**8 + 50)
            before = await max_lead_id(conn)
            kill = asyncio.Event()
            await post_load(serve.receiver, form, warm, args.connections, None, kill)
            await settle(conn, before, time.perf_counter() + args.settle_seconds)
            rss_warm = mib(serve.processes())
            print(
                f"serve ({args.processes} process(es)) ready in {serve.ready_seconds:.1f} s; "
                f"RSS {rss_start:.0f} MiB at start, {rss_warm:.0f} MiB after warm-up",
                flush=True,
            )
            for index in range(args.trials):
                assert serve is not None
                since = [len(b.received) for b in buyers]
                before = await max_lead_id(conn)
                numbers = range(number, number + args.leads_per_trial)
                number += args.leads_per_trial
                kill_after = rng.randint(1, max(1, args.leads_per_trial - 2 * args.connections))
                kill = asyncio.Event()
                started = time.perf_counter()
                load = asyncio.create_task(
                    post_load(serve.receiver, form, numbers, args.connections, kill_after, kill)
                )
                waiter = asyncio.create_task(kill.wait())
                await asyncio.wait({load, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                await asyncio.sleep(rng.uniform(0, 0.02))  # not always on an answer's heels
                rss_at_kill = mib(serve.processes())
                killed_after = time.perf_counter() - started
                serve.kill()
                posts = await load
                serve = None
                serve = Serve(folder, args.processes, args.lease_seconds, demo=False)
                serve.key = key
                ready = time.perf_counter()
                open_leads = await settle(conn, before, ready + args.settle_seconds)
                settled = time.perf_counter() - ready
                await asyncio.sleep(args.buyer_delay_ms / 1000 + 0.05)  # last answers in
                tally = account(posts, await stored_leads(conn, before), buyers, since)
                tally.still_open = open_leads
                total.add(tally)
                trials.append(Trial(tally, killed_after, serve.ready_seconds, settled, rss_at_kill))
                print_trial(index + 1, trials[-1])
            rss_end = mib(serve.processes()) if serve else float("nan")
            await conn.close()
            final_status = serve.stop() if serve else None
            serve = None
        finally:
            if serve is not None:
                serve.kill()
            for buyer in buyers:
                buyer.close()
            await asyncio.sleep(1)  # a postmaster told to stop by serve's exit: let it finish
            left = postgres_left(folder)
            postmasters = sum("-D" in _cmdline(p) for p in left)
            stop_postgres(left)
    print_summary(args, trials, total, (rss_start, rss_warm, rss_end), final_status)
    print(
        f"PostgreSQL processes left running on the data folder after it: {len(left)}"
        + (f" ({postmasters} postmaster(s) and children; stopped by the bench)" if left else "")
    )
    failed = [
        name
        for name, bad in (
            (
                "leads lost, undelivered, sold twice, re-sent with a new key or misanswered",
                total.failures,
            ),
            ("PostgreSQL left running", left),
            ("serve's final stop not clean", final_status != 0),
        )
        if bad
    ]
    print("RESULT: " + (f"FAILED ({'; '.join(failed)})" if failed else "ok"))
    return 1 if failed else 0


def print_trial(index: int, trial: Trial) -> None:
    t = trial.tally
    print(
        f"trial {index:3}: posted {t.posted}, accepted {t.accepted}, unanswered {t.unanswered} "
        f"(stored {t.stored_unanswered}); killed after {trial.killed_after:.2f} s "
        f"({t.accepted / trial.killed_after:.0f} accepted/s); "
        f"restart {trial.restart_seconds:.1f} s, settle {trial.settle_seconds:.1f} s; "
        f"re-sent {t.resent_same_key} same key, {t.resent_new_key} new key"
        + (f"; FAILURES {t.failures}" if t.failures else "")
        + (f"; {t.still_open} leads still open" if t.still_open else ""),
        flush=True,
    )


def print_summary(
    args: argparse.Namespace,
    trials: list[Trial],
    total: Tally,
    rss: tuple[float, float, float],
    final_status: int | None,
) -> None:
    settles = [t.settle_seconds for t in trials]
    restarts = [t.restart_seconds for t in trials]
    print(
        f"\nCrash trials: {len(trials)} kill -9 of {args.processes} serve process(es) during "
        f"load ({args.connections} connections, up to {args.leads_per_trial} leads a trial), "
        f"two local buyers answering in {args.buyer_delay_ms:g} ms, "
        f"lease {args.lease_seconds} s"
    )
    print(f"posted:                               {total.posted}")
    print(f"accepted (answered No_Error):         {total.accepted}")
    print(f"answered otherwise:                   {total.refused}")
    print(f"unanswered (connection killed):       {total.unanswered}")
    print(f"lost (accepted, not in the database): {total.lost}")
    print(f"undelivered (accepted):               {total.undelivered}")
    print(f"undelivered (stored, never answered): {total.undelivered_unanswered}")
    print(f"sold twice to one buyer (database):   {total.sold_twice}")
    print(f"re-sent to a buyer, same key:         {total.resent_same_key}")
    print(f"re-sent to a buyer, new key:          {total.resent_new_key}")
    print(
        f"stored but never answered:            {total.stored_unanswered} (expected after kill -9)"
    )
    print(f"stored but answered as an error:      {total.stored_refused}")
    if total.still_open:
        print(f"leads still open when a settle timed out: {total.still_open}")
    if trials:
        print(
            f"restart to ready:                     median {statistics.median(restarts):.1f} s, "
            f"max {max(restarts):.1f} s"
        )
        print(
            f"settle (ready to every lead done):    median {statistics.median(settles):.1f} s, "
            f"max {max(settles):.1f} s"
        )
        print(
            f"serve RSS: {rss[0]:.0f} MiB at start, {rss[1]:.0f} MiB after warm-up, "
            f"{rss[2]:.0f} MiB at the end (the last restart, settled; at the kills: max "
            f"{max(t.rss_at_kill for t in trials):.0f} MiB)"
        )
    print(f"final clean stop (SIGTERM):           exit status {final_status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--leads-per-trial", type=int, default=300)
    parser.add_argument("--processes", type=int, choices=[1, 2], default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--buyer-delay-ms", type=float, default=20.0)
    parser.add_argument("--lease-seconds", type=int, default=3)
    parser.add_argument(
        "--settle-seconds", type=float, default=120.0, help="give up settling a trial after this"
    )
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--quick", action="store_true", help="3 trials of 100 leads")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.leads_per_trial = 3, 100
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
