"""Aged leads and data pulls: searching a lead type's older leads a client may buy, with the
delivery accounts' criteria engine, and recording a client's pull of them, each lead sold to
the client once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from server.adapters import zip_codes
from server.domain.catalog.fields import FieldSpec
from server.domain.intake.call_data import criteria_fields
from server.domain.matching.criteria import (
    Criterion,
    compile_criteria,
    criteria_by_name,
    validate_criteria,
)
from server.domain.sales.marketplace import (
    PulledRow,
    aged_problems,
    aged_window,
    pull_csv,
    pull_lead_ids,
    pull_prices,
)
from server.errors import FailedPrecondition, InvalidArgument, NotFound, Violation
from server.services.distribution.scan import context
from server.storage import buyers as buyer_store
from server.storage import catalog as catalog_store
from server.storage import data_pulls as store
from server.storage import marketplace as market_store
from server.storage.database import Connection, Pool, transaction

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
BATCH = 500
MAX_SCANNED = 100_000  # leads read per search, matching or not


@dataclass(frozen=True)
class AgedSearch:
    client_id: int
    lead_type_id: int
    start_day: int
    end_day: int = 0
    delivery_account_id: int = 0
    lead_category_id: int = 0
    use_over_max: bool = False
    criteria: tuple[Criterion, ...] = ()
    lead_price: Decimal = Decimal(0)
    limit: int = 0


@dataclass(frozen=True)
class AgedLead:
    lead_id: int
    received_at: datetime
    price: Decimal
    campaign_id: int
    sold: int


@dataclass(frozen=True)
class PullEdit:
    """A data pull as AddEditDataPullInfo gives it (id 0 or -1: a new one)."""

    id: int
    client_id: int
    delivery_account_id: int
    leads: str  # `|`-separated lead ids
    total_price: Decimal
    status: int = 0
    card_transaction_id: int = 0


@dataclass(frozen=True)
class PullSaved:
    pull: store.StoredPull
    sold: list[int]
    already_pulled: list[int]


async def _fields(conn: Connection, account_id: int, lead_type_id: int) -> list[FieldSpec]:
    return [f.spec for f in await catalog_store.list_fields(conn, account_id, lead_type_id)]


async def _client_account(
    conn: Connection, account_id: int, client_id: int, delivery_account_id: int
) -> market_store.BuyingAccount:
    found = await market_store.buying_account(conn, account_id, delivery_account_id)
    if found is None or found.client_id != client_id:
        raise NotFound(f"client {client_id} has no delivery account {delivery_account_id}")
    return found


class AgedLeads:
    """Aged lead searches and data pulls of one database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def search(self, account_id: int, search: AgedSearch) -> list[AgedLead]:
        """The leads of the search, oldest first: received in its day range, of its lead
        category, matching its criteria, never sent to the client, under their campaign's max
        sell unless use_over_max."""
        problems = aged_problems(search.start_day, search.end_day, search.lead_type_id)
        if search.client_id <= 0:
            problems.append(Violation("client_id", "a client is required"))
        if search.lead_price < 0:
            problems.append(Violation("lead_price", "must not be negative"))
        if not 0 <= search.limit <= MAX_LIMIT:
            problems.append(Violation("limit", f"between 0 and {MAX_LIMIT}"))
        if problems:
            raise InvalidArgument(problems)
        limit = search.limit or DEFAULT_LIMIT
        now = datetime.now(UTC)
        async with transaction(self._pool) as conn:
            if await buyer_store.buyer_for_send(conn, account_id, search.client_id) is None:
                raise NotFound(f"no client {search.client_id}")
            if search.delivery_account_id:
                found = await _client_account(
                    conn, account_id, search.client_id, search.delivery_account_id
                )
                if found.lead_type_id != search.lead_type_id:
                    raise FailedPrecondition(
                        f"delivery account {search.delivery_account_id} takes lead type "
                        f"{found.lead_type_id}, not {search.lead_type_id}"
                    )
            fields = await _fields(conn, account_id, search.lead_type_id)
            if not fields:
                raise NotFound(f"no lead type {search.lead_type_id} with fields")
            criteria, problems = criteria_by_name(search.criteria, fields, "criteria")
            by_name = criteria_fields(fields)
            if not problems:
                problems = validate_criteria(criteria, by_name, zip_codes.is_known)
            if problems:
                raise InvalidArgument(problems)
            compiled = compile_criteria(criteria, by_name)
            ctx = context(now)
            window = aged_window(search.start_day, search.end_day, now)
            matched: list[AgedLead] = []
            after: tuple[datetime, int] | None = None
            scanned = 0
            while len(matched) < limit and scanned < MAX_SCANNED:
                page = await store.aged_leads(
                    conn,
                    account_id,
                    client_id=search.client_id,
                    lead_type_id=search.lead_type_id,
                    window=window,
                    lead_category_id=search.lead_category_id,
                    over_max=search.use_over_max,
                    after=after,
                    limit=BATCH,
                )
                scanned += len(page)
                for lead in page:
                    values = {name.casefold(): value for name, value in lead.fields.items()}
                    if compiled.passes(values, ctx):
                        matched.append(
                            AgedLead(
                                lead.lead_id,
                                lead.received_at,
                                search.lead_price,
                                lead.campaign_id,
                                lead.sold,
                            )
                        )
                        if len(matched) == limit:
                            break
                if len(page) < BATCH:
                    break
                after = (page[-1].received_at, page[-1].lead_id)
        return matched

    async def save_pull(self, account_id: int, edit: PullEdit) -> PullSaved:
        """Record a client's pull of leads (new, or an edit adding leads and changing its
        price, status or card transaction). Each lead not pulled by the client before is sold
        to the pull's delivery account at its share of the total price, once."""
        ids, problems = pull_lead_ids(edit.leads)
        if edit.total_price < 0:
            problems.append(Violation("total_price", "must not be negative"))
        new = edit.id <= 0
        if new and edit.client_id <= 0:
            problems.append(Violation("client_id", "a client is required"))
        if new and edit.delivery_account_id <= 0:
            problems.append(Violation("delivery_account_id", "a delivery account is required"))
        if problems:
            raise InvalidArgument(problems)
        async with transaction(self._pool) as conn:
            current = None
            if not new:
                current = await store.lock_pull(conn, account_id, edit.id)
                if current is None:
                    raise NotFound(f"no data pull {edit.id}")
                for name, given, stored in (
                    ("client_id", edit.client_id, current.client_id),
                    ("delivery_account_id", edit.delivery_account_id, current.delivery_account_id),
                ):
                    if given > 0 and given != stored:
                        raise FailedPrecondition(
                            f"data pull {edit.id} is for {name} {stored}, not {given}"
                        )
            client_id = current.client_id if current else edit.client_id
            delivery_account_id = (
                current.delivery_account_id if current else edit.delivery_account_id
            )
            buyer = await _client_account(conn, account_id, client_id, delivery_account_id)
            await store.lock_client_pulls(conn, account_id, client_id)
            found = await store.leads_to_pull(conn, account_id, client_id, ids)
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFound(f"no leads {', '.join(map(str, missing[:20]))}")
            other = [i for i in ids if found[i].lead_type_id != buyer.lead_type_id]
            if other:
                raise FailedPrecondition(
                    f"leads {', '.join(map(str, other[:20]))} are not of lead type "
                    f"{buyer.lead_type_id}, which delivery account {delivery_account_id} takes"
                )
            before = current.lead_ids if current else ()
            all_ids = tuple(dict.fromkeys((*before, *ids)))
            if current is None:
                pull = await store.insert_pull(
                    conn,
                    account_id,
                    client_id=client_id,
                    delivery_account_id=delivery_account_id,
                    total_price=edit.total_price,
                    status=edit.status,
                    card_transaction_id=edit.card_transaction_id,
                    lead_ids=all_ids,
                )
            else:
                pull = await store.update_pull(
                    conn,
                    account_id,
                    current.id,
                    total_price=edit.total_price,
                    status=edit.status,
                    card_transaction_id=edit.card_transaction_id,
                    lead_ids=all_ids,
                )
            prices = pull_prices(edit.total_price, all_ids)
            to_sell = {i: prices[i] for i in ids if not found[i].pulled}
            # The one place a pull's sales are known: a client ledger records their charge here.
            sold = await store.sell_pulled(conn, account_id, pull, to_sell) if to_sell else []
        already = [i for i in ids if found[i].pulled]
        log.info(
            "data pull %s of client %s: %s leads sold, %s pulled before",
            pull.id,
            client_id,
            len(sold),
            len(already),
        )
        return PullSaved(pull, sold, already)

    async def export(self, account_id: int, pull_id: int) -> tuple[str, int]:
        """A pull's leads as CSV (see pull_csv) and how many there are."""
        async with transaction(self._pool) as conn:
            pull = await store.get_pull(conn, account_id, pull_id)
            if pull is None:
                raise NotFound(f"no data pull {pull_id}")
            buyer = await market_store.buying_account(conn, account_id, pull.delivery_account_id)
            assert buyer is not None  # a pull's delivery account is kept by its foreign key
            fields = await _fields(conn, account_id, buyer.lead_type_id)
            leads = await store.pulled_leads(conn, account_id, pull_id)
        rows = [PulledRow(r.lead_id, r.received_at, r.price, r.fields) for r in leads]
        return pull_csv([f.name for f in fields], rows), len(rows)
