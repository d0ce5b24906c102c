"""Profit and loss end to end: a history made through the real intake, engine and returns
(leads posted over gRPC, buyers as real HTTP servers on loopback, a return through
QualityService), read through ReportService, and the aggregates kept as it was written
compared, row for row, with a rebuild from the rows themselves."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import grpc
import pytest
from leadrouter.v1 import leads_pb2, leads_pb2_grpc, quality_pb2, reports_pb2

from clients.client import reports_async
from server.storage import reports as store
from server.storage.reports import Cell
from tests.e2e.test_cli import COMMAND, ENV, ROOT
from tests.e2e.test_distribution import client
from tests.e2e.test_quality import Shop, ShopFactory, another, shop  # noqa: F401
from tests.support.buyers import BuyerServer
from tests.support.soap import fault, soap

P = reports_pb2
D = P.ReportDimension


async def report(s: Shop, method: str, request: Any) -> Any:
    async with reports_async(s.address, s.key) as stub:
        return await getattr(stub, method)(request)


async def refused_post(s: Shop, fields: dict[str, str]) -> Any:
    """Post a lead the campaign refuses; its answer."""
    request = leads_pb2.SubmitLeadsRequest(
        credentials=leads_pb2.Credentials(
            vid=str(s.ids.sources["acme-media"]),
            lid=str(s.ids.lead_types["auto-insurance"]),
            aid=str(s.ids.campaigns["acme-auto-web"]),
            password="acme-secret",
        ),
        leads=[
            leads_pb2.LeadInput(
                fields=[leads_pb2.FieldValue(name=k, value=v) for k, v in fields.items()]
            )
        ],
    )
    async with grpc.aio.insecure_channel(s.address) as channel:
        answer = await leads_pb2_grpc.LeadServiceStub(channel).SubmitLeads(request)
    result = answer.results[0]
    assert result.response_type != leads_pb2.ResponseType.NO_ERROR
    return result


async def account_of(s: Shop, lead_id: int) -> int:
    async with s.pool.connection() as conn:
        cursor = await conn.execute("SELECT account_id FROM leads WHERE id = %s", [lead_id])
        row = await cursor.fetchone()
    return int(row["account_id"])


async def stored_cells(s: Shop, account_id: int, since: date, until: date) -> list[Cell]:
    """The aggregates as they stand once every pending delta is folded in."""
    async with s.pool.connection() as conn, conn.transaction():
        await store.fold(conn, account_id)
        return await store.cells(conn, account_id, since, until)


def days_around_now() -> tuple[date, date]:
    """Yesterday to tomorrow (UTC): every day a lead posted now counts on."""
    today = datetime.now(UTC).date()
    return today - timedelta(days=1), today + timedelta(days=1)


async def history(s: Shop, buyers: BuyerServer) -> list[int]:
    """Five leads sold to up to two buyers (one buyer refuses everything), two refused posts,
    one sale returned; the leads' ids."""
    buyers.behave("no", answer="declined")
    leads = []
    for i in range(5):
        lead = await s.post(another(i))
        leads.append(lead.lead_id)
    for lead_id in leads:
        await s.settled(lead_id, 3)
    await refused_post(s, another(0))  # a duplicate
    await refused_post(s, {**another(9), "Email": ""})
    [first] = [x for x in await s.sends(leads[0]) if x.client_name == "Buyer x"]
    await s.call("ReturnSend", quality_pb2.ReturnSendRequest(send_id=first.id, reason="bad"))
    return leads


@pytest.fixture
async def market(shop: ShopFactory, buyers: BuyerServer) -> tuple[Shop, list[int]]:  # noqa: F811
    s = await shop(
        [
            client("x", buyers, price="20"),
            client("y", buyers, price="15"),
            client("no", buyers, price="30"),
        ],
        max_sell=2,
        return_days=30,
        count_returns=False,
    )
    return s, await history(s, buyers)


async def test_the_profit_and_loss_by_day_counts_what_was_written(
    market: tuple[Shop, list[int]],
) -> None:
    s, _ = market
    since, until = days_around_now()
    answer = await report(
        s, "GetProfitAndLoss", P.GetProfitAndLossRequest(from_day=str(since), to_day=str(until))
    )
    [row] = answer.rows
    assert row.day and row.accepted == 5 and row.refused == 2 and row.received == 7
    assert {r.reason: r.count for r in row.refusals} == {"Duplicate_Lead": 1, "Data_Errors": 1}
    assert row.sold == 10 and row.sends == 15
    assert Decimal(row.revenue) == 5 * Decimal("35")
    assert Decimal(row.source_cost) == 5 * Decimal("12.5")
    assert row.returns == 1 and Decimal(row.credits) == Decimal("20")
    assert Decimal(row.margin) == Decimal("175") - Decimal("20") - Decimal("62.5")
    assert answer.total.margin == row.margin and answer.total.day == ""


async def test_a_report_by_buyer_splits_the_sales_and_keeps_the_leads_apart(
    market: tuple[Shop, list[int]],
) -> None:
    s, _ = market
    since, until = days_around_now()
    answer = await report(
        s,
        "GetProfitAndLoss",
        P.GetProfitAndLossRequest(
            from_day=str(since), to_day=str(until), group_by=[D.REPORT_DIMENSION_BUYER]
        ),
    )
    by_name = {r.buyer_name: r for r in answer.rows}
    assert set(by_name) == {"", "Buyer x", "Buyer y", "Buyer no"}
    assert by_name[""].accepted == 5 and by_name[""].sends == 0
    assert by_name["Buyer x"].sold == 5 and by_name["Buyer x"].returns == 1
    assert Decimal(by_name["Buyer x"].margin) == Decimal("80")
    assert by_name["Buyer no"].sends == 5 and by_name["Buyer no"].sold == 0
    assert Decimal(answer.total.margin) == Decimal("92.5")
    only_y = await report(
        s,
        "GetProfitAndLoss",
        P.GetProfitAndLossRequest(
            from_day=str(since), to_day=str(until), buyer_id=by_name["Buyer y"].buyer_id
        ),
    )
    assert [r.sold for r in only_y.rows] == [5] and only_y.rows[0].accepted == 0


async def test_a_rebuild_from_the_rows_equals_the_aggregates_kept_as_they_were_written(
    market: tuple[Shop, list[int]],
) -> None:
    s, leads = market
    account_id = await account_of(s, leads[0])
    since, until = days_around_now()
    kept = await stored_cells(s, account_id, since, until)
    assert kept, "the writes kept aggregates"

    await report(
        s, "RebuildReports", P.RebuildReportsRequest(from_day=str(since), to_day=str(until))
    )

    assert await stored_cells(s, account_id, since, until) == kept
    async with s.pool.connection() as conn:
        await conn.execute("DELETE FROM report_cells WHERE account_id = %s", [account_id])
        await conn.commit()
    await report(
        s, "RebuildReports", P.RebuildReportsRequest(from_day=str(since), to_day=str(until))
    )
    assert await stored_cells(s, account_id, since, until) == kept


async def test_update_lead_report_cache_rebuilds_the_leads_day_and_campaign(
    market: tuple[Shop, list[int]],
) -> None:
    s, leads = market
    account_id = await account_of(s, leads[0])
    since, until = days_around_now()
    kept = await stored_cells(s, account_id, since, until)
    async with s.pool.connection() as conn:
        await conn.execute(
            "UPDATE report_cells SET revenue = 0, accepted = 0 WHERE account_id = %s", [account_id]
        )
        await conn.commit()

    answer = await report(
        s, "UpdateLeadReportCache", P.UpdateLeadReportCacheRequest(lead_id=leads[2])
    )

    assert date.fromisoformat(answer.day) in (since, since + timedelta(days=1), until)
    assert await stored_cells(s, account_id, since, until) == kept


async def test_reports_refuse_a_bad_range_and_an_unknown_lead(
    market: tuple[Shop, list[int]],
) -> None:
    s, _ = market
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await report(
            s,
            "GetProfitAndLoss",
            P.GetProfitAndLossRequest(from_day="2026-02-01", to_day="2026-01-01"),
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await report(
            s, "RebuildReports", P.RebuildReportsRequest(from_day="yesterday", to_day="2026-01-01")
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await report(s, "UpdateLeadReportCache", P.UpdateLeadReportCacheRequest(lead_id=10**12))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


# -- service.asmx ---------------------------------------------------------------------------


async def test_update_lead_report_cache_over_soap_rebuilds_what_the_lead_counts_in(
    soap_client: Any, market: tuple[Shop, list[int]]
) -> None:
    s, leads = market
    account_id = await account_of(s, leads[0])
    since, until = days_around_now()
    kept = await stored_cells(s, account_id, since, until)
    async with s.pool.connection() as conn:
        await conn.execute("DELETE FROM report_cells WHERE account_id = %s", [account_id])
        await conn.commit()

    assert await soap(soap_client, "UpdateLeadReportCache", key=s.key, leadUid=leads[1]) is None

    assert await stored_cells(s, account_id, since, until) == kept
    refused = await fault(soap_client, "UpdateLeadReportCache", key=s.key, leadUid=1 << 40)
    assert "no lead" in refused.message
    unknown = await fault(soap_client, "UpdateLeadReportCache", key="nope", leadUid=leads[1])
    assert unknown.message


# -- the command ----------------------------------------------------------------------------


async def leadrouter_report(s: Shop, *args: str) -> str:
    """`leadrouter report ARGS` against the test's server (run without blocking the event loop
    that serves it); its output."""
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "report",
        "--grpc",
        s.address,
        "--key",
        s.key,
        *args,
        cwd=ROOT,
        env=ENV,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_leadrouter_report_prints_a_table_and_writes_a_chart(
    market: tuple[Shop, list[int]], tmp_path: Path
) -> None:
    s, _ = market
    since, until = days_around_now()
    chart = tmp_path / "pnl.svg"
    span = ("--from", str(since), "--to", str(until))

    by_day = await leadrouter_report(s, *span, "--chart", str(chart))
    by_buyer = await leadrouter_report(s, *span, "--by", "buyer")

    lines = by_day.splitlines()
    assert lines[1].split()[:3] == ["day", "received", "accepted"]
    assert lines[1].split()[-1] == "margin"
    total = next(line for line in lines if line.startswith("total")).split()
    assert total[1:4] == ["7", "5", "2"] and total[-1] == "92.5"
    assert "Duplicate_Lead 1" in by_day and f"chart written to {chart}" in by_day
    svg = ElementTree.parse(chart).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert "margin" in chart.read_text()
    assert any(
        line.startswith("Buyer x (") and line.split()[-1] == "80" for line in by_buyer.splitlines()
    )
    assert "(leads, no buyer)" in by_buyer
