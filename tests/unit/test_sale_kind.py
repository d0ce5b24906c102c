"""What each insert endpoint's kind of sale allows and answers, and when a lead is
distributed again after an update."""

from __future__ import annotations

from decimal import Decimal

import pytest
from leadrouter.v1 import leads_pb2

from server.domain.buyers.specs import AccountType
from server.domain.intake.screening import (
    DeliveredSend,
    SaleKind,
    delivered,
    redistribution_refusal,
)


def send(
    client_id: int,
    *,
    sold: bool = True,
    account_type: AccountType = AccountType.Standard,
    redirect_url: str = "",
    agent: str = "",
) -> DeliveredSend:
    return DeliveredSend(
        client_id=client_id,
        client_name=f"Buyer {client_id}",
        sold=sold,
        price=Decimal("10"),
        redirect_url=redirect_url,
        account_type=account_type,
        agent_name=agent,
        agent_phone=f"70255500{client_id:02d}" if agent else "",
    )


def test_sale_kinds_share_the_protos_numbers() -> None:
    assert {k.name: int(k) for k in SaleKind} == {
        "General": leads_pb2.SALE_KIND_GENERAL,
        "LiveTransfer": leads_pb2.SALE_KIND_LIVE_TRANSFER,
        "Redirect": leads_pb2.SALE_KIND_REDIRECT,
        "Call": leads_pb2.SALE_KIND_CALL,
    }


@pytest.mark.parametrize(
    ("kind", "types"),
    [
        (SaleKind.General, None),
        (SaleKind.Call, None),
        (SaleKind.LiveTransfer, (AccountType.LiveTransfer,)),
        (SaleKind.Redirect, (AccountType.Redirect,)),
    ],
)
def test_each_kind_sells_to_its_account_types(
    kind: SaleKind, types: tuple[AccountType, ...] | None
) -> None:
    assert kind.account_types == types


def test_transfers_and_redirects_are_delivered_before_the_answer() -> None:
    assert [k for k in SaleKind if k.delivers_before_answer] == [
        SaleKind.LiveTransfer,
        SaleKind.Redirect,
    ]
    assert [k for k in SaleKind if k.takes_call_data] == [SaleKind.Call]


def test_a_transfer_lists_the_live_transfer_accounts_that_took_the_lead_in_order() -> None:
    sends = [
        send(1, sold=False, account_type=AccountType.LiveTransfer, agent="Rejecting Rita"),
        send(2, account_type=AccountType.LiveTransfer, agent="John Smith"),
        send(3, account_type=AccountType.Standard),
        send(4, account_type=AccountType.LiveTransfer, agent="Bob McCarthy"),
    ]
    found = delivered(SaleKind.LiveTransfer, sends)
    assert [(a.client_id, a.agent_name) for a in found.agents] == [
        (2, "John Smith"),
        (4, "Bob McCarthy"),
    ]


def test_only_a_transfer_lists_agents() -> None:
    sends = [send(1, account_type=AccountType.LiveTransfer, agent="John Smith")]
    assert delivered(SaleKind.General, sends).agents == ()


def test_the_redirect_is_the_first_buyer_that_took_the_lead_and_gave_one() -> None:
    sends = [
        send(1, sold=False, account_type=AccountType.Redirect, redirect_url="https://no.example"),
        send(2, account_type=AccountType.Redirect),
        send(3, account_type=AccountType.Redirect, redirect_url="https://yes.example/a"),
        send(4, account_type=AccountType.Redirect, redirect_url="https://later.example"),
    ]
    assert delivered(SaleKind.Redirect, sends).redirect_url == "https://yes.example/a"


def test_a_redirect_ignores_accounts_that_are_not_redirect_accounts() -> None:
    sends = [send(1, redirect_url="https://standard.example")]
    assert delivered(SaleKind.Redirect, sends).redirect_url == ""
    assert delivered(SaleKind.General, sends).redirect_url == "https://standard.example"


def test_no_buyer_means_no_redirect_and_no_agents() -> None:
    found = delivered(SaleKind.LiveTransfer, [])
    assert (found.redirect_url, found.agents) == ("", ())


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ({}, ""),
        ({"no_sell": True}, "the lead is noSell"),
        ({"pending_qc": True}, "the lead is pending QC review"),
        ({"pending_qc": True, "qc_reviewed": True}, ""),
        ({"pending_qc": True, "qc_reviewed": True, "qc_rejected": True}, "rejected in QC review"),
    ],
)
def test_a_lead_is_distributed_again_unless_it_may_not_be_sold(
    state: dict[str, bool], reason: str
) -> None:
    flags = {"no_sell": False, "pending_qc": False, "qc_reviewed": False, "qc_rejected": False}
    refusal = redistribution_refusal(**{**flags, **state})
    assert (refusal == "") if not reason else (reason in refusal)
