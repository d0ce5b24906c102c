"""Fuzzing the receiver at length: hostile requests to every URL of a real `leadrouter serve`.

Usage: .venv/bin/python bench/fuzz_receiver.py [--requests N] [--connections C] [--seeds S]

Starts `leadrouter serve --demo` in its own process on a throwaway data folder (loopback
ports only, its log in a file), adds a field of every data type to the example's lead type,
lifts its campaign's day cap and makes a source key.
Hypothesis draws S distinct requests from the strategies the tests use (tests/support/fuzz.py);
N requests (default 20,000) are then made from them, recombined and byte-mutated at random,
and sent C at a time over raw keep-alive connections, so that anything a client can put on
the wire is sent and a reset connection is seen as one.

Prints answers by status class, answers >= 500, reset connections, requests left unanswered,
tracebacks and errors in serve's log, serve's RSS at start, after warm-up and at the end,
whether a normal lead is accepted afterwards, and one small request for each kind of failure.
Stops serve with SIGTERM and checks that no process of its data folder (the embedded
PostgreSQL included) is left. Exits 1 on any answer >= 500, reset, unanswered request,
traceback, refused normal lead or process left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

import psutil

ROOT = Path(__file__).parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # the tests' strategies; bench/receiver.py

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import NonInteractiveExampleWarning  # noqa: E402
from leadrouter.v1 import admin_pb2  # noqa: E402
from receiver import EXAMPLE_FILE, read_ready  # noqa: E402

from clients.client import admin_async  # noqa: E402
from tests.support import fuzz  # noqa: E402

ANSWER_SECONDS = 60.0  # a request unanswered this long counts as unanswered
TRACEBACK = "Traceback (most recent call last)"


# -- serve ---------------------------------------------------------------------------------------


@dataclass
class Serve:
    process: subprocess.Popen[bytes]
    folder: Path
    log: Path
    address: str
    known: fuzz.Known


def log_lines(log: Path, process: subprocess.Popen[bytes]) -> Iterator[str]:
    """serve's log as it is written, until it stops."""
    with log.open(errors="replace") as reading:
        while True:
            line = reading.readline()
            if line:
                yield line
            elif process.poll() is not None:
                return
            else:
                time.sleep(0.05)


def start(folder: Path) -> Serve:
    log = folder / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "clients.cli",
                "serve",
                "--demo",
                "--no-demo-buyer",
                "--data-dir",
                str(folder / "data"),
                "--grpc",
                "127.0.0.1:0",
                "--receiver",
                "127.0.0.1:0",
                "--soap",
                "127.0.0.1:0",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    grpc_address, key, address, form = read_ready(log_lines(log, process))
    document = fuzz.fuzzing_config(json.loads(EXAMPLE_FILE.read_text()))
    uncapped = folder / "uncapped.json"
    uncapped.write_text(json.dumps(document))
    command = ["apply", str(uncapped), "--grpc", grpc_address, "--key", key]
    subprocess.run(
        [sys.executable, "-m", "clients.cli", *command],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    source_key = asyncio.run(make_source_key(grpc_address, key, int(form["vid"])))
    known = fuzz.Known(
        vid=form["vid"],
        lid=form["lid"],
        aid=form.get("aid", ""),
        password=form.get("password", ""),
        source_key=source_key,
    )
    return Serve(process, folder, log, address, known)


async def make_source_key(grpc_address: str, key: str, source_id: int) -> str:
    async with admin_async(grpc_address, key) as stub:
        made = await stub.CreateSourceKey(admin_pb2.CreateSourceKeyRequest(source_id=source_id))
    return str(made.secret)


def stop(serve: Serve) -> list[str]:
    """Stop serve as an operator would; whatever of its data folder is still running after,
    described (and then stopped, so that the bench leaves nothing behind)."""
    serve.process.send_signal(signal.SIGTERM)
    try:
        serve.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        serve.process.kill()
        serve.process.wait()
    time.sleep(1.0)
    left = []
    for process in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            if str(serve.folder) in " ".join(process.info["cmdline"] or ()):
                left.append(process)
        except psutil.Error:
            continue
    described = [f"{p.info['pid']} {' '.join(p.info['cmdline'] or ())[:120]}" for p in left]
    for process in left:  # the postmaster first: it stops its children
        try:
            if process.info["name"] == "postgres" and process.parent() not in left:
                process.send_signal(signal.SIGINT)
        except psutil.Error:
            continue
    psutil.wait_procs(left, timeout=15)
    return described


def rss_mib(serve: Serve) -> float:
    return psutil.Process(serve.process.pid).memory_info().rss / 2**20


# -- the requests --------------------------------------------------------------------------------


def seeds(known: fuzz.Known, count: int) -> list[fuzz.Request]:
    """`count` requests drawn by hypothesis from the tests' strategies."""
    mixed = st.one_of(
        fuzz.requests(known),
        fuzz.requests(known),
        fuzz.posts(known),
        fuzz.id_posts(known),
        st.builds(
            lambda body, path: fuzz.Request("POST", path, (), body),
            st.one_of(fuzz.nested_bodies(), fuzz.many_bodies(known, max_leads=200)),
            st.sampled_from(fuzz.INSERT_PATHS),
        ),
    )
    found: list[fuzz.Request] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(mixed)
    def collect(request: fuzz.Request) -> None:
        found.append(request)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        collect()
    return found


def mutated(pool: list[fuzz.Request], chance: random.Random) -> fuzz.Request:
    """A seed as it is, or recombined with others and its bytes spoiled."""
    request = chance.choice(pool)
    if chance.random() < 0.4:
        return request
    other = chance.choice(pool)
    roll = chance.random()
    if roll < 0.25:  # another URL
        request = replace(request, target=other.target, method=other.method)
    elif roll < 0.5:  # another set of headers
        request = replace(request, headers=other.headers)
    elif roll < 0.75 and request.method not in ("GET", "HEAD"):  # another body
        request = replace(request, body=other.body)
    body = bytearray(request.body)
    for _ in range(chance.choice((0, 0, 1, 2, 4))):
        at = chance.randrange(len(body) + 1)
        action = chance.randrange(3)
        if action == 0:
            body[at:at] = chance.randbytes(chance.randint(1, 4))
        elif action == 1:
            del body[at : at + chance.randint(1, 8)]
        else:
            body[at : at + 1] = chance.choice(
                [b"\x00", b"\xff", b"\xc2\xb2", b"\xd9\xa1", b"<", b"{", b'"', b"&", b"%"]
            )
    request = replace(request, body=bytes(body), chunked=chance.random() < 0.05)
    if chance.random() < 0.003:  # over the 1 MiB cap, declared or streamed
        request = replace(request, body=request.body + b"&x=" + b"y" * (2**20 + 1))
    if chance.random() < 0.05:  # raw bytes on the request line or in a header
        junk = chance.choice(["%", "%C2%B2", "\xb2", " ", "\x00", "#", "?", "//", "/.."])
        request = replace(request, target=request.target + junk)
    if chance.random() < 0.05:
        request = replace(
            request,
            headers=(*request.headers, (chance.choice(RAW_HEADERS), chance.choice(RAW_VALUES))),
        )
    return request


RAW_HEADERS = ["host", "content-type", "authorization", "accept", "transfer-encoding", "expect"]
RAW_HEADERS += ["content-length", "connection"]
RAW_VALUES = ["", " ", "[", "a b", "\xb2", "\xff\xfe", "chunked", "100-continue", "Bearer \xb2"]
RAW_VALUES += ["-1", "\u0661", "1e3", "close", "keep-alive, upgrade"]


def wire(request: fuzz.Request, host: str) -> bytes:
    """The request as bytes on the wire: headers as given (Latin-1), a Content-Length."""
    lines = [f"{request.method} {request.target} HTTP/1.1", f"host: {host}"]
    names = {name.lower() for name, _ in request.headers}
    lines += [f"{name}: {value}" for name, value in request.headers if name.lower() != "host"]
    if "host" in names:
        lines[1] = f"host: {request.header('host')}"
    body = request.body
    if request.chunked:
        lines.append("transfer-encoding: chunked")
        pieces = [body[at : at + 4096] for at in range(0, len(body), 4096)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    elif "transfer-encoding" not in names:
        lines.append(f"content-length: {len(body)}")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("utf-8" if any(ord(c) > 255 for c in head) else "latin-1") + body


# -- the connections -----------------------------------------------------------------------------


@dataclass
class Tally:
    statuses: Counter[int]
    resets: int = 0
    unanswered: int = 0
    failures: dict[str, tuple[fuzz.Request, str]] | None = None

    def failed(self, kind: str, request: fuzz.Request, detail: str) -> None:
        assert self.failures is not None
        known = self.failures.get(kind)
        size = len(request.body) + len(request.target)
        if known is None or size < len(known[0].body) + len(known[0].target):
            self.failures[kind] = (request, detail)


class Connection:
    def __init__(self, address: str) -> None:
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, data: bytes, head_only: bool) -> tuple[int, bytes, bool]:
        """Status, body, and whether the server closes the connection after it."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(data)
        await self.writer.drain()
        status = 100
        while status == 100:  # an Expect: 100-continue is answered first
            head = await self.reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        closes = headers.get("connection", "").lower() == "close"
        body = b""
        if "content-length" in headers and not head_only:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked" and not head_only:
            body = await self._chunks()
        elif not head_only and status >= 200 and status not in (204, 304):
            body = await self.reader.read()
            closes = True
        if closes:
            self.close()
        return status, body, closes

    async def _chunks(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await self.reader.readexactly(size + 2))
            if size == 0:
                return b"".join(parts)


async def load(
    address: str,
    requests: Iterator[fuzz.Request],
    connections: int,
    tally: Tally,
    on_each: Callable[[], None],
) -> None:
    async def worker() -> None:
        connection = Connection(address)
        previous = "none (a new connection)"
        for request in requests:
            data = wire(request, "fuzz")
            try:
                status, body, closed = await asyncio.wait_for(
                    connection.send(data, request.method == "HEAD"), ANSWER_SECONDS
                )
            except TimeoutError:
                tally.unanswered += 1
                tally.failed("unanswered", request, f"no answer in {ANSWER_SECONDS:.0f} s")
                connection.close()
                continue
            except (ConnectionError, asyncio.IncompleteReadError, OSError) as error:
                tally.resets += 1
                detail = f"{error!r}; the request before it on this connection: {previous}"
                tally.failed(f"reset ({type(error).__name__})", request, detail)
                connection.close()
                previous = "none (a new connection)"
                continue
            except ValueError as error:  # an answer that is not HTTP
                tally.resets += 1
                tally.failed("garbled answer", request, repr(error))
                connection.close()
                continue
            tally.statuses[status] += 1
            previous = f"{status} to {show(request)}"
            if closed:
                previous = "none (a new connection)"
            if status >= 500:
                text = body.decode("utf-8", "replace")
                kind = f"{status} {re.sub(r'ref [0-9a-f]+', 'ref …', text)[:160]}"
                tally.failed(kind, request, text[:500])
            on_each()
        connection.close()

    await asyncio.gather(*(worker() for _ in range(connections)))


async def normal_lead(address: str, known: fuzz.Known) -> str:
    body = fuzz.valid_form(known, Email="after@example.com", Phone="7029990000")
    request = fuzz.Request(
        "POST",
        "/processor/insert/general/json",
        (("content-type", "application/x-www-form-urlencoded"),),
        body,
    )
    connection = Connection(address)
    try:
        status, answer, _ = await connection.send(wire(request, "fuzz"), False)
    finally:
        connection.close()
    if status != 200:
        return f"HTTP {status}"
    return str(json.loads(answer).get("ResponseType"))


# -- the log -------------------------------------------------------------------------------------


def log_problems(log: Path) -> tuple[int, int, Counter[str]]:
    """Tracebacks, records at ERROR or above, and the kinds of traceback (their last frame
    in the project and their exception line)."""
    lines = log.read_text(errors="replace").splitlines()
    tracebacks = sum(TRACEBACK in line for line in lines)
    errors = sum(bool(re.match(r"\S+ \S+ (ERROR|CRITICAL) |ERROR:", line)) for line in lines)
    kinds: Counter[str] = Counter()
    for index, line in enumerate(lines):
        if TRACEBACK not in line:
            continue
        frame, end = "", index + 1
        while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
            if str(ROOT) in lines[end] and "File" in lines[end]:
                frame = lines[end].strip().replace(str(ROOT) + "/", "")
            end += 1
        exception = lines[end].strip() if end < len(lines) else "?"
        kinds[f"{exception[:120]}  at {frame}"] += 1
    return tracebacks, errors, kinds


# -- the run -------------------------------------------------------------------------------------


def show(request: fuzz.Request) -> str:
    body = request.body if len(request.body) <= 300 else request.body[:300] + b"..."
    headers = "".join(f"\n      {name}: {value!r}" for name, value in request.headers)
    return (
        f"{request.method} {quote(request.target, safe='/?&=%:+,;@')}{headers}\n      body {body!r}"
    )


def run(total: int, connections: int, seed_count: int, seed: int) -> int:
    with tempfile.TemporaryDirectory(prefix="lrfuzz") as folder:
        serve = start(Path(folder))
        left: list[str] = []
        try:
            rss_start = rss_mib(serve)
            started = time.perf_counter()
            pool = seeds(serve.known, seed_count)
            drawn = time.perf_counter() - started
            chance = random.Random(seed)
            warm_up = min(2000, total // 10)
            tally = Tally(Counter(), failures={})
            samples: list[float] = []
            sent = 0

            def each() -> None:
                nonlocal sent
                sent += 1
                if sent % 500 == 0:
                    samples.append(rss_mib(serve))

            requests = (mutated(pool, chance) if i >= len(pool) else pool[i] for i in range(total))
            started = time.perf_counter()
            asyncio.run(load(serve.address, requests, connections, tally, each))
            elapsed = time.perf_counter() - started
            rss_warm = samples[max(0, warm_up // 500 - 1)] if samples else rss_mib(serve)
            rss_end = rss_mib(serve)
            accepted = asyncio.run(normal_lead(serve.address, serve.known))
        finally:
            left = stop(serve)
        tracebacks, errors, kinds = log_problems(serve.log)
    classes = Counter(f"{status // 100}xx" for status in tally.statuses.elements())
    over = sum(n for status, n in tally.statuses.items() if status >= 500)
    failures = tally.failures or {}
    print(f"requests:           {total} ({len(pool)} drawn by hypothesis in {drawn:.0f} s)")
    print(f"sent in:            {elapsed:.0f} s, {connections} keep-alive connections")
    print(f"answers by class:   {dict(sorted(classes.items()))}")
    print(f"answers by status:  {dict(sorted(tally.statuses.items()))}")
    print(f"answers >= 500:     {over}")
    print(f"reset connections:  {tally.resets}")
    print(f"unanswered:         {tally.unanswered}")
    print(f"tracebacks in log:  {tracebacks}")
    print(f"errors in log:      {errors}")
    print(
        f"serve RSS:          start {rss_start:.0f} MiB, after warm-up ({warm_up} requests) "
        f"{rss_warm:.0f} MiB, end {rss_end:.0f} MiB, "
        f"peak sampled {max(samples, default=rss_end):.0f} MiB"
    )
    tenths = [samples[len(samples) * i // 10] for i in range(1, 10)] if len(samples) >= 10 else []
    if tenths:
        print(f"serve RSS by tenth: {' '.join(f'{rss:.0f}' for rss in tenths)} MiB")
    print(f"normal lead after:  {accepted}")
    print(f"left running:       {len(left)}{''.join(chr(10) + '  ' + line for line in left)}")
    for kind, count in kinds.most_common():
        print(f"  traceback x{count}: {kind}")
    for kind, (request, detail) in sorted(failures.items()):
        print(f"  failure: {kind}\n    smallest request: {show(request)}")
        print(f"    answer: {detail[:600]!r}")
    bad = (
        over
        or tally.resets
        or tally.unanswered
        or tracebacks
        or errors
        or accepted != "No_Error"
        or left
    )
    return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=2000, help="requests drawn by hypothesis")
    parser.add_argument("--seed", type=int, default=0, help="for the recombining")
    args = parser.parse_args()
    sys.exit(run(args.requests, args.connections, args.seeds, args.seed))


if __name__ == "__main__":
    main()
