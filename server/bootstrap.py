"""The composition root: builds the process from one Settings. The database (migrated) and
its pool, the distribution engine, every use case and the servicers that serve them, and
the front doors (gRPC, the legacy HTTP receiver), started and stopped in order. Nothing
else in the server constructs a service.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import grpc
import uvicorn
from leadrouter.v1 import leads_pb2_grpc, visits_pb2_grpc

from gateways.receiver.app import ReceiverSettings, create_app, written_answer, written_ping
from gateways.receiver.http_server import ReceiverProtocol
from gateways.soap.app import SoapSettings
from gateways.soap.app import create_app as create_soap_app
from gateways.soap.backend import Backend as SoapBackend
from server.adapters import us_places, zip_codes
from server.adapters.callbacks import CallbackClient
from server.adapters.delivery import Transports
from server.adapters.payments.gateway import PaymentGateway
from server.adapters.payments.test_gateway import TestGateway
from server.config import ConfigError, Settings
from server.rpc.admin import AdminServicer
from server.rpc.app import Servicers, create_server
from server.rpc.billing import BillingServicer
from server.rpc.distribution import DistributionServicer
from server.rpc.geo import GeoServicer
from server.rpc.in_process import InProcessServer
from server.rpc.leads import LeadServicer, ping_message, response_message
from server.rpc.marketplace import MarketplaceServicer
from server.rpc.portal import PortalServicer
from server.rpc.post_log import PostLogServicer
from server.rpc.quality import QualityServicer
from server.rpc.reports import ReportServicer
from server.rpc.visits import VisitServicer
from server.services.accounts import Accounts
from server.services.billing.cards import Cards, ChargeSettings
from server.services.billing.ledger import Ledger
from server.services.buyers.edits import BuyerEdits
from server.services.buyers.groups import ClientGroups
from server.services.buyers.reads import BuyerReads
from server.services.callbacks import (
    CallbackReports,
    Callbacks,
    CallbackSettings,
    Sender,
    queue_callback,
)
from server.services.catalog import Catalog
from server.services.config_apply import ConfigApply
from server.services.distribution.auction_settings import CampaignAuctions
from server.services.distribution.engine import Distributor, EngineSettings
from server.services.geo import Geo
from server.services.intake.duplicates import CheckDuplicate
from server.services.intake.identify import Identifier
from server.services.intake.instructions import SourceInstructions
from server.services.intake.offers import EligibleOffers
from server.services.intake.ping import PingLead
from server.services.intake.ping_logs import PingLogs
from server.services.intake.post_log import (
    PostBodyRetention,
    UnattributedRetention,
    UnattributedSettings,
)
from server.services.intake.post_log_reads import PostLogReads
from server.services.intake.posting import PostAnswer, PostLeads
from server.services.intake.queue_worker import (
    ProcessedPost,
    QueueSettings,
    QueueWorker,
    WrittenAnswer,
)
from server.services.intake.queueing import AnswerForm, QueueLeads
from server.services.intake.requests import PingAnswer
from server.services.intake.submit import SubmitLeads
from server.services.intake.update import UpdateLead
from server.services.leads import Leads
from server.services.marketplace.aged import AgedLeads
from server.services.marketplace.catalog import MarketplaceCatalog
from server.services.marketplace.purchases import PackPurchases
from server.services.operations.confirmations import ConfirmSales
from server.services.operations.lookups import OperationLookups
from server.services.operations.manual_sends import ManualSends
from server.services.operations.redirects import RedirectNotices
from server.services.portal import Portal
from server.services.quality.returns import Returns
from server.services.quality.review import QcReview
from server.services.reports import ReportFolding, Reports
from server.services.signing_secrets import SigningSecrets
from server.services.source_keys import SourceKeys
from server.services.visits import (
    RecordVisit,
    Trackings,
    VisitReads,
    VisitRetention,
    VisitSettings,
)
from server.storage.database import Connection, Pool, database_url, open_pool
from server.storage.migrations import Migration, migrate

log = logging.getLogger(__name__)

# Called once serving: the addresses by front door, and the accounts' use cases when this
# process has a database.
OnReady = Callable[[dict[str, str], Accounts | None], Awaitable[None]]


@asynccontextmanager
async def distribution(
    pool: Pool, settings: EngineSettings | None = None, *, private_deliveries: bool = False
) -> AsyncIterator[Distributor]:
    """The distribution engine with its delivery transports and its worker running; on exit
    the worker finishes the deliveries under way and the transports close.
    `private_deliveries`: deliveries may go to private addresses (`Settings`).

    Delivery outcomes are written on a connection of their own, so buyers' answers never
    wait their turn behind posts (docs/decisions.md, "Measured choices")."""
    url = pool.conninfo
    if not isinstance(url, str):  # open_pool's pools are opened on a URL
        raise TypeError("the pool must be opened on a connection URL")
    outcomes = await open_pool(url, 1)
    try:
        async with Transports(allow_private=private_deliveries) as transports:
            distributor = Distributor(pool, transports, settings, outcomes_pool=outcomes)
            stop = asyncio.Event()
            worker = asyncio.create_task(distributor.run(stop))
            try:
                yield distributor
            finally:
                stop.set()
                await worker
    finally:
        await outcomes.close()


@asynccontextmanager
async def callbacks(
    pool: Pool, settings: CallbackSettings | None = None, client: Sender | None = None
) -> AsyncIterator[Callbacks]:
    """The sender of lead sources' callbacks, its runner running; on exit it finishes the
    callbacks under way. What queues a callback in this process (`queue_callback`, in the
    transaction that records the post) calls its `wake()` once that commits; `client`: the
    HTTP client, the real one (server/adapters/callbacks.py) unless a test gives another."""
    own = None  # the client made here, closed here
    if client is None:
        client = own = CallbackClient()
    sender = Callbacks(pool, client, settings)
    stop = asyncio.Event()
    worker = asyncio.create_task(sender.run(stop))
    try:
        yield sender
    finally:
        stop.set()
        await worker
        if own is not None:
            await own.aclose()


@asynccontextmanager
async def servicers(
    pool: Pool,
    engine: Distributor,
    receiver_url: str = "http://127.0.0.1:8080",
    queue: QueueSettings | None = None,
    callbacks: Callbacks | None = None,
    gateway: PaymentGateway | None = None,
    charges: ChargeSettings | None = None,
    visits: VisitSettings | None = None,
    unattributed: UnattributedSettings | None = None,
    *,
    private_callbacks: bool = True,
) -> AsyncIterator[Servicers]:
    """Every use case on `pool`, delivering through `engine`, behind its servicer, with the
    worker that processes the /async URLs' queued posts, the runner of buyers' auto-charges
    and the sweeps of site visits past their retention, of posts naming no lead source and
    of post log bodies past their account's days running until the block ends (they then
    finish the work under way). `receiver_url`: the receiver's address as posting
    instructions show it; `gateway`: the payment gateway cards are charged through (the
    built-in test gateway unless given); `unattributed`: the bounds on posts whose
    credentials did not hold; `private_callbacks`: an account may allow its callbacks
    private addresses (`Settings.private_callbacks_by_account`).

    Queued posts are processed on connections of their own (`QueueSettings.connections`),
    so that the receiver's answers never wait for a connection behind them
    (docs/decisions.md, "Measured choices")."""
    queue = queue or QueueSettings()
    url = pool.conninfo
    if not isinstance(url, str):  # open_pool's pools are opened on a URL
        raise TypeError("the pool must be opened on a connection URL")
    queue_pool = await open_pool(url, queue.connections)
    accounts = Accounts(pool, max_queued=queue.max_queued, private_callbacks=private_callbacks)
    states = us_places.load_states()
    catalog = Catalog(pool, states)
    leads = Leads(pool)
    unattributed = unattributed or UnattributedSettings()
    # what posts' identifiers resolve to, shared by the intake
    identifier = Identifier(unattributed.per_minute)
    offers = EligibleOffers(engine.cache)
    submit = SubmitLeads(pool, identifier, zip_codes.city_state, engine, offers)
    post = PostLeads(submit, engine)
    queued = PostLeads(
        SubmitLeads(queue_pool, identifier, zip_codes.city_state, engine, offers), engine
    )
    ping = PingLead(pool, identifier, zip_codes.city_state, engine.cache, engine.auctions)
    queued_ping = PingLead(
        queue_pool, identifier, zip_codes.city_state, engine.cache, engine.auctions
    )
    worker = QueueWorker(
        queue_pool,
        queued,
        receiver_answer,
        queue,
        ping=(queued_ping, receiver_ping_answer),
        # every process queues the callbacks of the posts it processes; the sender of any
        # process delivers them (one without a sender of its own leaves them to a poll)
        on_processed=_call_back,
        on_committed=(lambda: None) if callbacks is None else callbacks.wake,
    )
    cards = Cards(pool, gateway or TestGateway(), charges)
    built = Servicers(
        authenticate=accounts.authenticate,
        admin=AdminServicer(
            accounts=accounts,
            catalog=catalog,
            buyer_reads=BuyerReads(pool, states),
            buyer_edits=BuyerEdits(pool, states),
            client_groups=ClientGroups(pool),
            config=ConfigApply(pool),
            leads=leads,
            source_keys=SourceKeys(pool),
            signing_secrets=SigningSecrets(pool),
            callback_reports=CallbackReports(pool),
            receiver_url=receiver_url,
        ),
        leads=LeadServicer(
            post,
            QueueLeads(
                pool,
                identifier,
                worker.queued,
                max_queued=queue.max_queued,
                reserve_seconds=queue.lease_seconds,
            ),
            UpdateLead(pool, identifier, engine),
            CheckDuplicate(pool, identifier),
            SourceInstructions(pool, identifier, catalog),
            leads,
            ping,
        ),
        distribution=DistributionServicer(
            engine.views,
            OperationLookups(pool, engine.views),
            ManualSends(pool, engine),
            ConfirmSales(pool),
            RedirectNotices(pool),
            CampaignAuctions(pool),
            PingLogs(pool),
        ),
        quality=QualityServicer(QcReview(pool, on_approved=engine.wake), Returns(pool)),
        geo=GeoServicer(Geo(us_places.load)),
        portal=PortalServicer(Portal(pool, states)),
        billing=BillingServicer(Ledger(pool), cards),
        visits=VisitServicer(Trackings(pool), RecordVisit(pool, visits), VisitReads(pool)),
        reports=ReportServicer(Reports(pool)),
        marketplace=MarketplaceServicer(
            MarketplaceCatalog(pool), PackPurchases(pool), AgedLeads(pool)
        ),
        post_log=PostLogServicer(PostLogReads(pool)),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    charging = asyncio.create_task(cards.run(stop))
    sweeping = asyncio.create_task(VisitRetention(pool, visits).run(stop))
    pruning = asyncio.create_task(UnattributedRetention(pool, unattributed).run(stop))
    removing = asyncio.create_task(PostBodyRetention(pool).run(stop))
    folding = asyncio.create_task(ReportFolding(pool).run(stop))
    try:
        yield built
    finally:
        stop.set()
        await running
        await charging
        await sweeping
        await pruning
        await removing
        await folding
        await queue_pool.close()


async def _call_back(conn: Connection, processed: ProcessedPost) -> None:
    """A processed queued post's answer, queued for its `returnurl` in the transaction that
    records it."""
    await queue_callback(
        conn,
        processed.account_id,
        processed.source_id,
        processed.post_id,
        processed.return_url,
        processed.content_type,
        processed.body,
    )


def receiver_answer(
    answer: PostAnswer, form: AnswerForm, request_format: str, no_sell: Sequence[bool]
) -> WrittenAnswer:
    """A queued post's answer, written by the receiver's own writer as its synchronous URL
    would have written it."""
    media_type, body = written_answer(
        form.endpoint,
        form.response_format,
        request_format,
        form.receiver_url,
        response_message(answer),
        no_sell,
    )
    return WrittenAnswer(media_type, body)


def receiver_ping_answer(answer: PingAnswer, form: AnswerForm) -> WrittenAnswer:
    """A queued ping's answer, written by the receiver's own writer as its synchronous URL
    would have written it."""
    media_type, body = written_ping(form.endpoint, form.response_format, ping_message(answer))
    return WrittenAnswer(media_type, body)


@asynccontextmanager
async def storage(settings: Settings) -> AsyncIterator[Pool]:
    """A migrated database and an open pool on it, closed on exit."""
    url = await asyncio.to_thread(database_url, settings)
    await migrate(url)
    pool = await open_pool(url, settings.pool_max_size)
    try:
        yield pool
    finally:
        await pool.close()


async def migrate_database(settings: Settings) -> list[Migration]:
    """Apply the pending migrations to the configured database (the embedded one, started
    if need be); those applied now."""
    return await migrate(await asyncio.to_thread(database_url, settings))


@asynccontextmanager
async def accounts(settings: Settings) -> AsyncIterator[Accounts]:
    """The accounts' and keys' use cases on the migrated database, for operator commands."""
    async with storage(settings) as pool:
        yield Accounts(pool, private_callbacks=settings.private_callbacks_by_account)


@asynccontextmanager
async def source_keys(settings: Settings) -> AsyncIterator[SourceKeys]:
    """Lead sources' posting keys on the migrated database, for operator commands."""
    async with storage(settings) as pool:
        yield SourceKeys(pool)


@asynccontextmanager
async def signing_secrets(settings: Settings) -> AsyncIterator[SigningSecrets]:
    """Lead sources' signing secrets on the migrated database, for operator commands."""
    async with storage(settings) as pool:
        yield SigningSecrets(pool)


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


@asynccontextmanager
async def http_server(app: Any, listener: socket.socket, **options: Any) -> AsyncIterator[None]:
    """uvicorn serving `app` on `listener` until the block ends. What Server.serve() does,
    minus taking over the process's signal handlers: serve() owns SIGTERM/SIGINT and stops
    the front doors and the gRPC server in order."""
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", timeout_keep_alive=5, **options
    )
    http = uvicorn.Server(config)
    config.load()
    http.lifespan = config.lifespan_class(config)
    await http.startup(sockets=[listener])
    loop = asyncio.create_task(http.main_loop())
    try:
        yield
    finally:
        http.should_exit = True
        await loop
        await http.shutdown(sockets=[listener])


@asynccontextmanager
async def receiver(
    settings: Settings, grpc_target: str | InProcessServer, *, shared: bool = False
) -> AsyncIterator[str]:
    """The legacy HTTP receiver on settings.receiver_address, calling the gRPC lead service
    at grpc_target (HOST:PORT), or in this process; `shared`: other processes listen on the
    same port (SO_REUSEPORT), the kernel spreads the connections."""
    host, port = _split(settings.receiver_address)
    listener = socket.create_server((host, port), reuse_port=shared)
    bound = listener.getsockname()[1]
    if isinstance(grpc_target, InProcessServer):
        channel: Any = grpc_target.channel()
    else:
        channel = grpc.aio.insecure_channel(grpc_target)
    async with channel:
        app = create_app(
            leads_pb2_grpc.LeadServiceStub(channel),
            ReceiverSettings(max_body=settings.max_body_bytes),
            visits=visits_pb2_grpc.VisitServiceStub(channel),
        )
        async with http_server(app, listener, http=ReceiverProtocol):
            yield f"{host}:{bound}"


@asynccontextmanager
async def soap(settings: Settings, grpc_target: str, *, shared: bool = False) -> AsyncIterator[str]:
    """service.asmx on settings.soap_address, calling the gRPC services at grpc_target
    (HOST:PORT) from its own thread pool; `shared` as for the receiver."""
    host, port = _split(settings.soap_address)
    listener = socket.create_server((host, port), reuse_port=shared)
    bound = listener.getsockname()[1]
    channel = grpc.insecure_channel(grpc_target)
    app = create_soap_app(SoapBackend.on(channel), SoapSettings(max_body=settings.max_body_bytes))
    try:
        async with http_server(app, listener):
            yield f"{host}:{bound}"
    finally:
        app.state.gateway.close()
        channel.close()


FRONT_DOORS = ("grpc", "receiver", "soap")


async def serve(
    settings: Settings,
    on_ready: OnReady | None = None,
    *,
    only: str | None = None,
    grpc_target: str | None = None,
    processes: int = 1,
    worker: bool = False,
) -> None:
    """Serve until SIGTERM or SIGINT, then stop taking calls and finish those under way.

    Every front door by default. `only="grpc"` serves the gRPC services alone;
    `only="receiver"` or `only="soap"` serves that gateway alone, calling the gRPC server at
    grpc_target, and needs no database of its own: so each can be scaled out on its own.
    Served together, service.asmx runs in a child process of its own (a `worker`).

    `processes` > 1 starts that many processes in all, each serving the same front doors on
    the same ports (the kernel spreads connections between them) with its own distribution
    engine, on one database: one Python process uses at most one core. The extra processes
    are `worker`s: they stop when this one does, or when it dies.
    """
    if processes < 1:
        raise ConfigError(f"--processes must be at least 1, got {processes}")
    if only not in (None, *FRONT_DOORS):
        raise ConfigError(f"--only must be one of {', '.join(FRONT_DOORS)}")
    if only in ("receiver", "soap") and not grpc_target:
        raise ConfigError(f"--only {only} needs --grpc-target HOST:PORT")
    async with AsyncExitStack() as stack:
        addresses: dict[str, str] = {}
        pool: Pool | None = None
        target: str | InProcessServer = grpc_target or ""
        if only not in ("receiver", "soap"):
            pool = await stack.enter_async_context(storage(settings))
            receiver_url = settings.public_url or f"http://{settings.receiver_address}"
            lease = float(settings.lease_seconds)
            # callbacks of queued posts; the async queue wakes this sender once it commits one
            sender = await stack.enter_async_context(
                callbacks(
                    pool,
                    CallbackSettings(
                        lease_seconds=lease,
                        private_by_account=settings.private_callbacks_by_account,
                    ),
                )
            )
            engine = EngineSettings(lease_seconds=lease)
            distributor = await stack.enter_async_context(
                distribution(pool, engine, private_deliveries=settings.private_deliveries)
            )
            queue = QueueSettings(
                lease_seconds=float(settings.lease_seconds),
                max_queued=settings.queue_max_posts,
                batch=settings.queue_concurrency,
                concurrency=settings.queue_concurrency,
            )
            visits = VisitSettings(
                retention_days=settings.visit_retention_days,
                per_minute=settings.visits_per_minute,
            )
            unattributed = UnattributedSettings(
                per_minute=settings.unauthenticated_per_minute, kept=settings.unattributed_kept
            )
            built = await stack.enter_async_context(
                servicers(
                    pool,
                    distributor,
                    receiver_url,
                    queue,
                    sender,
                    charges=ChargeSettings(
                        decline_retry_seconds=settings.auto_charge_retry_seconds
                    ),
                    visits=visits,
                    unattributed=unattributed,
                    private_callbacks=settings.private_callbacks_by_account,
                )
            )
            served = await create_server(built, settings.grpc_address)
            stack.push_async_callback(served.server.stop, settings.shutdown_grace_seconds)
            host = settings.grpc_address.rpartition(":")[0]
            addresses["grpc"] = f"{host}:{served.port}"
            target = served.local  # the receiver beside it calls it without the network
        shared = processes > 1 or worker
        if only in (None, "receiver"):
            addresses["receiver"] = await stack.enter_async_context(
                receiver(settings, target, shared=shared)
            )
        if only == "soap":
            addresses["soap"] = await stack.enter_async_context(
                soap(settings, grpc_target or "", shared=shared)
            )
        elif only is None and not worker:
            # service.asmx in a process of its own: its XML work never takes the receiver's
            # core or interpreter lock (docs/decisions.md, "service.asmx in its own process")
            command = _soap_command(addresses["grpc"], settings.soap_address)
            ready = await stack.enter_async_context(_workers(1, command, settings))
            addresses["soap"] = ready[0].split()[-1]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
            stack.callback(loop.remove_signal_handler, signum)
        if worker:
            _stop_when_parent_goes(loop, stop)
        if processes > 1:
            command = _worker_command(addresses, only, grpc_target)
            await stack.enter_async_context(_workers(processes - 1, command, settings))
        if on_ready is not None:
            known = (
                None
                if pool is None
                else Accounts(pool, private_callbacks=settings.private_callbacks_by_account)
            )
            await on_ready(addresses, known)
        await stop.wait()
        log.info("stopping: finishing calls under way")


# -- several processes ---------------------------------------------------------------------


def _soap_command(grpc_target: str, soap_address: str) -> list[str]:
    """How to start the process that serves service.asmx beside this one."""
    return [
        *(sys.executable, "-m", "clients.cli", "serve", "--worker", "--only", "soap"),
        *("--grpc-target", grpc_target, "--soap", soap_address),
    ]


def _worker_command(
    addresses: dict[str, str], only: str | None, grpc_target: str | None
) -> list[str]:
    """How to start one more process serving these very addresses."""
    command = [sys.executable, "-m", "clients.cli", "serve", "--worker"]
    if "grpc" in addresses:
        command += ["--grpc", addresses["grpc"]]
    if "receiver" in addresses:
        command += ["--receiver", addresses["receiver"]]
    if "soap" in addresses:
        command += ["--soap", addresses["soap"]]
    if only is not None:
        command += ["--only", only]
    if grpc_target is not None:
        command += ["--grpc-target", grpc_target]
    return command


@asynccontextmanager
async def _workers(count: int, command: list[str], settings: Settings) -> AsyncIterator[list[str]]:
    """`count` worker processes, each ready (it printed `worker ready`, the line is yielded)
    before this returns; stopped (SIGTERM, then SIGKILL after the grace period) when the
    block ends. A worker's stdin is a pipe from this process: it stops by itself when that
    closes."""
    env = {**os.environ, "LEADROUTER_DATA_DIR": str(settings.data_dir.resolve())}
    if settings.database_url:
        env["LEADROUTER_DATABASE_URL"] = settings.database_url
    # as this process has it, whether from the environment or `serve --demo`
    env["LEADROUTER_ALLOW_PRIVATE_DELIVERIES"] = "1" if settings.private_deliveries else "0"
    started: list[asyncio.subprocess.Process] = []
    drains: list[asyncio.Task[None]] = []
    ready: list[str] = []
    try:
        for _ in range(count):
            process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env
            )
            started.append(process)
            ready.append(await _until_ready(process))
            drains.append(asyncio.create_task(_drain(process)))
        log.info("%d worker processes serving: %s", count, [p.pid for p in started])
        yield ready
    finally:
        for process in started:
            if process.returncode is None:
                process.terminate()
        for process in started:
            try:
                await asyncio.wait_for(process.wait(), settings.shutdown_grace_seconds + 5)
            except TimeoutError:
                log.warning("worker %d did not stop; killing it", process.pid)
                process.kill()
                await process.wait()
        for drain in drains:
            drain.cancel()


async def _until_ready(process: asyncio.subprocess.Process, seconds: float = 120.0) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(seconds):
        while line := await process.stdout.readline():
            if line.startswith(b"worker ready"):
                return line.decode().strip()
    raise ConfigError(f"worker process {process.pid} stopped before serving")


async def _drain(process: asyncio.subprocess.Process) -> None:
    """Read a worker's output so it never blocks on a full pipe; report its end."""
    assert process.stdout is not None
    while await process.stdout.readline():
        pass
    code = await process.wait()
    if code != 0:
        log.error("worker process %d exited with status %d", process.pid, code)


def _stop_when_parent_goes(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """A worker stops when its stdin (a pipe from the process that started it) closes: that
    process stopped, or died."""
    fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            more = os.read(fd, 4096)
        except OSError:
            more = b""
        if not more:
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)
