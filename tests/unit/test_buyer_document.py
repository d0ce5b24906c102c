"""Reading the `clients` section of a config document: every problem with its path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.buyers.specs import AccountType, ClientStatus, PortalSettings
from server.domain.catalog.rules import Operator
from server.domain.config.document import read_document
from server.domain.delivery.spec import DeliveryType
from server.domain.matching.criteria import CriterionType
from server.domain.matching.selection import Automation
from server.domain.sales.orders import OrderStatus, Renewal


def document(**client: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "key": "demo-co",
        "name": "Demo Company",
        "deliveries": [
            {
                "key": "post",
                "type": "http_post",
                "lead_type": "auto",
                "address": "http://127.0.0.1:9000/buy",
                "timeout_seconds": 5,
                "mappings": [{"field": "Email", "param": "email"}],
                "days": [{"weekday": "Mon", "start": "09:00", "end": "17:00"}],
            }
        ],
        "accounts": [
            {
                "key": "nv",
                "delivery": "post",
                "price": "25.00",
                "day_max": 100,
                "criteria": [{"field": "State", "operator": "In", "value": "NV,AZ"}],
            }
        ],
    }
    base.update(client)
    return {"clients": [base]}


def problems(data: dict[str, Any]) -> dict[str, str]:
    return {p.path: p.reason for p in read_document(data).problems}


def test_the_issue_example_reads_cleanly() -> None:
    doc = read_document(document(status="Active", automation="RoundRobin", weight=3))
    assert doc.problems == []
    [entry] = doc.clients
    assert (entry.spec.status, entry.spec.automation) == (
        ClientStatus.Active,
        Automation.RoundRobin,
    )
    [delivery] = entry.deliveries
    assert delivery.method.type is DeliveryType.HttpPost and delivery.lead_type_key == "auto"
    assert delivery.method.settings["days"] == [{"weekday": 0, "start": "09:00", "end": "17:00"}]
    [account] = entry.delivery_accounts
    assert str(account.spec.price) == "25.00" and account.spec.day_max == 100
    assert account.spec.account_type is AccountType.Standard
    [criterion] = account.spec.criteria
    assert (criterion.type, criterion.operator) == (CriterionType.FieldValue, Operator.In)


def test_an_account_must_name_a_delivery_of_its_buyer() -> None:
    data = document()
    data["clients"][0]["accounts"][0]["delivery"] = "nope"
    assert problems(data) == {
        "clients[0].accounts[0].delivery": "no delivery with key 'nope' in this client"
    }


def test_unknown_settings_and_bad_values_are_each_named() -> None:
    data = document(status="Sleeping", automation="Cheapest", time_zone="Mars/Base", colour=1)
    found = problems(data)
    assert set(found) == {
        "clients[0].status",
        "clients[0].automation",
        "clients[0].time_zone",
        "clients[0].colour",
    }


def test_portal_settings_read_as_set_and_are_off_when_absent() -> None:
    [on] = read_document(document(portal={"allow_calls": True, "show_campaign": False})).clients
    [absent] = read_document(document()).clients
    assert on.spec.portal == PortalSettings(allow_calls=True)
    assert absent.spec.portal == PortalSettings()


def test_bad_portal_settings_are_each_named() -> None:
    assert set(problems(document(portal={"allow_calls": "yes", "colour": True}))) == {
        "clients[0].portal.allow_calls",
        "clients[0].portal.colour",
    }
    assert problems(document(portal=["allow_calls"])) == {"clients[0].portal": "must be an object"}


def test_a_bad_schedule_is_refused() -> None:
    data = document()
    data["clients"][0]["deliveries"][0]["days"] = [{"weekday": 9, "start": "25:00", "end": "x"}]
    found = problems(data)
    assert set(found) >= {
        "clients[0].deliveries[0].days[0].weekday",
        "clients[0].deliveries[0].days[0].start",
        "clients[0].deliveries[0].days[0].end",
    }


def test_orders_read_with_their_items_in_the_buyers_time_zone() -> None:
    order = {
        "key": "nov",
        "start": "2026-11-01",
        "end": "2026-12-01T00:00:00+00:00",
        "renewal": "On_Qty_Fill",
        "items": [{"key": "a", "quantity": 10, "account": "nv"}, {"quantity": 5}],
    }
    doc = read_document(document(time_zone="America/New_York", orders=[order]))
    assert doc.problems == []
    [entry] = doc.clients[0].orders
    spec = entry.spec
    assert spec.start == datetime(2026, 11, 1, tzinfo=ZoneInfo("America/New_York"))
    assert spec.end == datetime(2026, 12, 1, tzinfo=UTC)
    assert (spec.status, spec.renewal, spec.quantity) == (
        OrderStatus.Open,
        Renewal.On_Qty_Fill,
        15,
    )
    assert [i.account_key for i in spec.items] == ["nv", ""]


def test_bad_orders_are_refused_with_their_paths() -> None:
    orders = [
        {"key": "x", "start": "soon", "end": "2026-01-01", "renewal": "weekly", "items": []},
        {
            "key": "y",
            "start": "2026-02-01",
            "end": "2026-01-01",
            "items": [{"quantity": 0, "account": "nope"}],
        },
    ]
    assert problems(document(orders=orders)) == {
        "clients[0].orders[0].start": "must be an ISO 8601 date or date-time",
        "clients[0].orders[0].renewal": (
            "must be one of: no_renewal, none, on_end_date, on_qty_fill"
        ),
        "clients[0].orders[0].items": "an order needs at least one item",
        "clients[0].orders[1].end": "must be after start",
        "clients[0].orders[1].items[0].quantity": "must be 1 or more",
        "clients[0].orders[1].items[0].account": "no delivery account with key 'nope' in this "
        "client",
    }


def test_distribution_lists_read_and_check_their_items() -> None:
    lists = [
        {
            "key": "zips",
            "lead_type": "auto",
            "field": "ZipCode",
            "default_client": "demo-co",
            "items": [{"value": "89101", "client": "demo-co"}, {"value": 89102}],
        },
        {"key": "bad", "lead_type": "auto", "depend_field": "State", "items": [{"client": "x"}]},
    ]
    doc = read_document({**document(), "distribution_lists": lists})
    assert {p.path: p.reason for p in doc.problems} == {
        "distribution_lists[1].field": "is required",
        "distribution_lists[1].depend_value": "is required with depend_field",
        "distribution_lists[1].items[0].value": "is required",
    }
    spec = doc.lists[0].spec
    assert [(i.value, i.client_key) for i in spec.items] == [("89101", "demo-co"), ("89102", "")]
