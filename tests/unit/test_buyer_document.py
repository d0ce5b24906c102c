"""Reading the `clients` section of a config document: every problem with its path."""

from __future__ import annotations

from typing import Any

from server.domain.buyers import AccountType, ClientStatus
from server.domain.config_document import read_document
from server.domain.criteria import CriterionType
from server.domain.delivery import DeliveryType
from server.domain.rules import Operator
from server.domain.selection import Automation


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
    [account] = entry.accounts
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


def test_a_bad_schedule_is_refused() -> None:
    data = document()
    data["clients"][0]["deliveries"][0]["days"] = [{"weekday": 9, "start": "25:00", "end": "x"}]
    found = problems(data)
    assert set(found) >= {
        "clients[0].deliveries[0].days[0].weekday",
        "clients[0].deliveries[0].days[0].start",
        "clients[0].deliveries[0].days[0].end",
    }


def test_orders_are_refused_until_they_exist() -> None:
    data = document()
    data["clients"][0]["accounts"][0]["use_order"] = True
    assert problems(data) == {"clients[0].accounts[0].use_order": "orders are not available yet"}


def test_keys_are_unique_per_buyer_and_across_buyers() -> None:
    data = document()
    data["clients"].append(dict(data["clients"][0]))
    data["clients"][0]["accounts"].append(dict(data["clients"][0]["accounts"][0]))
    found = problems(data)
    assert "clients[1].key" in found and "clients[0].accounts[1].key" in found
