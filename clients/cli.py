"""The `leadrouter` command: serve, migrate, accounts, keys, source-keys, signing-secrets,
apply, instructions, offers, lead, ping, report."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import grpc
import yaml
from google.protobuf.json_format import MessageToDict
from leadrouter.v1 import (
    admin_pb2,
    billing_pb2,
    distribution_pb2,
    leads_pb2,
    marketplace_pb2,
    post_log_pb2,
    reports_pb2,
)

from clients.charts import write_daily_chart
from clients.client import (
    admin,
    billing,
    distribution,
    document,
    marketplace,
    post_log,
    reports,
    struct,
    violations,
)
from server.config import DEFAULT_GRPC, DEFAULT_RECEIVER, DEFAULT_SOAP, ConfigError, Settings
from server.errors import LeadRouterError, NotFound

R = TypeVar("R")


class CommandError(Exception):
    """A command cannot go on; its message is printed and the exit status is 1."""


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    return settings.with_overrides(
        data_dir=args.data_dir,
        database_url=args.database_url,
        grpc_address=getattr(args, "grpc", None),
        receiver_address=getattr(args, "receiver", None),
        soap_address=getattr(args, "soap", None),
    )


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2, default=str))


# -- database commands --------------------------------------------------------------------


async def _with_accounts(args: argparse.Namespace, work: Callable[[Any], Awaitable[R]]) -> R:
    from server.bootstrap import accounts

    async with accounts(_settings(args)) as found:
        return await work(found)


def cmd_migrate(args: argparse.Namespace) -> None:
    from server.bootstrap import migrate_database

    applied = asyncio.run(migrate_database(_settings(args)))
    _print_json({"applied": [f"{m.version:04d}_{m.name}" for m in applied]})


def cmd_accounts_create(args: argparse.Namespace) -> None:
    created = asyncio.run(
        _with_accounts(args, lambda found: found.create_account(args.name, args.time_zone))
    )
    _print_json({"account_id": created.account_id, "api_key": created.api_key})


def cmd_accounts_list(args: argparse.Namespace) -> None:
    tenants = asyncio.run(_with_accounts(args, lambda found: found.list_accounts()))
    _print_json(
        [
            {
                "account_id": tenant.account_id,
                "name": tenant.name,
                "time_zone": tenant.time_zone,
                "created_at": tenant.created_at,
            }
            for tenant in tenants
        ]
    )


def _key_json(info: Any) -> dict[str, object]:
    return {
        "id": info.id,
        "name": info.name,
        "prefix": info.prefix,
        "created_at": info.created_at,
        "revoked_at": info.revoked_at,
        "last_used_at": info.last_used_at,
    }


def cmd_keys_create(args: argparse.Namespace) -> None:
    info, secret = asyncio.run(
        _with_accounts(args, lambda found: found.create_key(args.account, args.name))
    )
    _print_json({**_key_json(info), "api_key": secret})


def cmd_keys_list(args: argparse.Namespace) -> None:
    keys = asyncio.run(_with_accounts(args, lambda found: found.list_keys(args.account)))
    _print_json([_key_json(k) for k in keys])


def cmd_keys_revoke(args: argparse.Namespace) -> None:
    asyncio.run(_with_accounts(args, lambda found: found.revoke_key(args.account, args.key_id)))
    _print_json({"revoked": args.key_id})


async def _with_source_keys(args: argparse.Namespace, work: Callable[[Any], Awaitable[R]]) -> R:
    from server.bootstrap import source_keys

    try:
        async with source_keys(_settings(args)) as found:
            return await work(found)
    except NotFound as exc:
        raise CommandError(f"account {args.account}: {exc}") from None


def _receiver_url(args: argparse.Namespace) -> str:
    """The receiver's base URL as lead sources see it: --receiver-url, else as serve has it."""
    settings = _settings(args)
    url = args.public_url or settings.public_url or f"http://{settings.receiver_address}"
    return str(url).rstrip("/")


def cmd_source_keys_create(args: argparse.Namespace) -> None:
    issued = asyncio.run(
        _with_source_keys(args, lambda found: found.issue(args.account, args.source, args.name))
    )
    if args.json:
        _print_json(
            {"source_id": issued.source.id, **_key_json(issued.key), "api_key": issued.secret}
        )
        return
    print(source_key_guide(issued, args.account, _receiver_url(args)))


def source_key_guide(issued: Any, account_id: int, receiver_url: str) -> str:
    """What `source-keys create` prints: the secret, once, and how the source posts with it."""
    source, key, secret = issued.source, issued.key, issued.secret
    named = f' "{key.name}"' if key.name else ""
    lines = [
        f"Posting key {key.id}{named} of lead source {_source_label(source)}, account "
        f"{account_id}:",
        "",
        f"  {secret}",
        "",
        "It is shown this once: only its digest is stored. Revoke it with",
        f"  leadrouter source-keys revoke --account {account_id} {source.id} {key.id}",
        "",
        "The source sends it with every post, in one of these headers (when it sends several,",
        "the first of these wins):",
        f"  Authorization: Bearer {secret}",
        f"  access_token: {secret}",
        f"  api-key: {secret}",
        "With the key, vid may be left out: the key names the source.",
        "",
    ]
    if not issued.campaigns:
        lines.append("The source has no campaign yet; it can post once it has one.")
        return "\n".join(lines)
    lines.append("Its campaigns, and their posting instructions (every field, and examples):")
    for campaign in issued.campaigns:
        spec = campaign.spec
        query = urlencode({"lid": spec.lead_type_id, "aid": campaign.id, "key": secret})
        lines += [
            f"  {spec.name} ({spec.key or 'no key'}): lid {spec.lead_type_id}, aid "
            f"{campaign.id}; {_key_use(spec.require_api_key, campaign.password_hash is not None)}",
            f"    {receiver_url}/processor/instructions?{query}",
        ]
    return "\n".join(lines)


def _source_label(source: Any) -> str:
    key = f", key {source.spec.key}" if source.spec.key else ""
    return f"{source.id} ({source.spec.name}{key})"


def _key_use(required: bool, has_password: bool) -> str:
    if required and has_password:
        return "send the key and the campaign's password: it requires both"
    if required:
        return "the key is required"
    if has_password:
        return "the key replaces the campaign's password"
    return "the key is optional: the campaign has no password"


def cmd_source_keys_list(args: argparse.Namespace) -> None:
    source, keys = asyncio.run(
        _with_source_keys(args, lambda found: found.keys(args.account, args.source))
    )
    if args.json:
        _print_json({"source_id": source.id, "keys": [_key_json(k) for k in keys]})
        return
    print(f"Posting keys of lead source {_source_label(source)}, account {args.account}:")
    if not keys:
        print("  none")
    for k in keys:
        named = f' "{k.name}"' if k.name else ""
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "live"
        used = f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never"
        print(
            f"  {k.id}{named}: lr_{k.prefix}_..., created {k.created_at:%Y-%m-%d %H:%M}, "
            f"last used {used}, {state}"
        )


def cmd_source_keys_revoke(args: argparse.Namespace) -> None:
    source = asyncio.run(
        _with_source_keys(args, lambda found: found.revoke(args.account, args.source, args.key_id))
    )
    if args.json:
        _print_json({"source_id": source.id, "revoked": args.key_id})
        return
    print(f"Revoked posting key {args.key_id} of lead source {_source_label(source)}.")


async def _with_signing_secrets(args: argparse.Namespace, work: Callable[[Any], Awaitable[R]]) -> R:
    from server.bootstrap import signing_secrets

    async with signing_secrets(_settings(args)) as found:
        return await work(found)


def _signing_secret_json(made: Any) -> dict[str, object]:
    return {
        "source_id": made.source_id,
        "signing_secret": made.secret,
        "created_at": made.created_at,
    }


def cmd_signing_secrets_create(args: argparse.Namespace) -> None:
    made = asyncio.run(
        _with_signing_secrets(args, lambda found: found.create(args.account, args.source))
    )
    _print_json(_signing_secret_json(made))


def cmd_signing_secrets_rotate(args: argparse.Namespace) -> None:
    made = asyncio.run(
        _with_signing_secrets(args, lambda found: found.rotate(args.account, args.source))
    )
    _print_json(_signing_secret_json(made))


# -- gRPC commands ------------------------------------------------------------------------


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CommandError(
            f"{path} is not valid {path.suffix.lstrip('.').upper()}: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise CommandError(f"{path}: the document must be an object")
    return data


def apply_result_json(response: admin_pb2.ApplyConfigResponse) -> dict[str, dict[str, int]]:
    """key -> id for each kind, in id order: protobuf maps have no order of their own."""

    def by_id(ids: Mapping[str, int]) -> dict[str, int]:
        return dict(sorted(ids.items(), key=lambda item: (item[1], item[0])))

    return {
        "lead_types": by_id(response.lead_types),
        "sources": by_id(response.sources),
        "campaigns": by_id(response.campaigns),
        "clients": by_id(response.clients),
        "deliveries": by_id(response.deliveries),
        "accounts": by_id(response.accounts),
        "orders": by_id(response.orders),
        "distribution_lists": by_id(response.distribution_lists),
    }


def _rpc_failure(error: grpc.RpcError) -> CommandError:
    found = violations(error)
    code = error.code().name
    if found:
        lines = "\n".join(f"  {path}: {reason}" for path, reason in found)
        return CommandError(f"rejected ({code}), nothing was changed:\n{lines}")
    return CommandError(f"{code}: {error.details()}")


def cmd_apply(args: argparse.Namespace) -> None:
    document = read_config_file(Path(args.file))
    if not args.key:
        raise CommandError("an admin API key is required: --key KEY or LEADROUTER_KEY")
    request = admin_pb2.ApplyConfigRequest(document=struct(document), dry_run=args.dry_run)
    try:
        with admin(args.grpc, args.key) as stub:
            response = stub.ApplyConfig(request, timeout=60)
    except grpc.RpcError as error:
        raise _rpc_failure(error) from None
    for change in response.changes:
        if change.action != "unchanged":
            print(f"{change.action}: {change.kind} {change.key}", file=sys.stderr)
    _print_json(apply_result_json(response))


def cmd_instructions(args: argparse.Namespace) -> None:
    if not args.key:
        raise CommandError("an admin API key is required: --key KEY or LEADROUTER_KEY")
    campaign = args.campaign
    by_id = campaign.isascii() and campaign.isdigit() and len(campaign) <= 18
    request = admin_pb2.GetPostingInstructionsRequest(
        campaign_id=int(campaign) if by_id else 0,
        campaign_key="" if by_id else campaign,
        receiver_url=args.receiver_url or "",
    )
    try:
        with admin(args.grpc, args.key) as stub:
            found = stub.GetPostingInstructions(request, timeout=30)
    except grpc.RpcError as error:
        raise _rpc_failure(error) from None
    if args.json:
        _print_json(document(found.document))
    else:
        print(found.markdown)


SEND_STATUS_NAMES = {
    distribution_pb2.SEND_STATUS_SCHEDULED: "scheduled",
    distribution_pb2.SEND_STATUS_IN_FLIGHT: "in flight",
    distribution_pb2.SEND_STATUS_SOLD: "sold",
    distribution_pb2.SEND_STATUS_REJECTED: "rejected",
    distribution_pb2.SEND_STATUS_FAILED: "failed",
}


def cmd_offers(args: argparse.Namespace) -> None:
    """The static offers of the account's delivery accounts (1-to-1 consent)."""
    if not args.key:
        raise CommandError("an admin API key is required: --key KEY or LEADROUTER_KEY")
    try:
        with admin(args.grpc, args.key) as stub:
            clients = stub.ListClients(admin_pb2.ListClientsRequest(), timeout=30).clients
    except grpc.RpcError as error:
        raise _rpc_failure(error) from None
    found = [
        (client, account)
        for client in clients
        for account in client.accounts
        if account.HasField("offer")
    ]
    if args.json:
        _print_json(
            [{"client": c.key, "account": a.key, **MessageToDict(a.offer)} for c, a in found]
        )
        return
    if not found:
        print("No delivery account has an offer.")
    for client, account in found:
        offer = account.offer
        print(
            f"offer {offer.id}: {client.name} / {account.key or account.id}: "
            f"{offer.company_name}, {offer.name or 'unnamed'} (${offer.amount}, "
            f"{offer.duration or 'no duration'})\n  consent text: {offer.tcpa_consent_text}"
        )


def cmd_lead(args: argparse.Namespace) -> None:
    """A lead's scan log and sends: where it went and why; its V2 properties and consent."""
    if not args.key:
        raise CommandError("an admin API key is required: --key KEY or LEADROUTER_KEY")
    try:
        with distribution(args.grpc, args.key) as stub:
            log = stub.GetLeadScanLog(
                distribution_pb2.GetLeadScanLogRequest(lead_id=args.lead_id), timeout=30
            )
            sends = stub.ListSends(
                distribution_pb2.ListSendsRequest(lead_id=args.lead_id), timeout=30
            )
        with admin(args.grpc, args.key) as admin_stub:
            consent = admin_stub.GetConsentEvidence(
                admin_pb2.GetConsentEvidenceRequest(lead_id=args.lead_id), timeout=30
            )
    except grpc.RpcError as error:
        raise _rpc_failure(error) from None
    if args.json:
        _print_json(
            {
                "scan_log": [MessageToDict(e) for e in log.entries],
                "sends": [MessageToDict(s) for s in sends.sends],
                "consent": MessageToDict(consent),
            }
        )
        return
    print(f"Lead {args.lead_id}")
    properties = [f"reference {consent.reference!r}"] if consent.reference else []
    properties += ["noSell"] if consent.no_sell else []
    properties += [f"tags {', '.join(consent.tags)}"] if consent.tags else []
    if properties:
        print("Properties: " + "; ".join(properties))
    if consent.one_to_one:
        print("1-to-1 consent:" if consent.records else "1-to-1: no offer chosen")
    for record in consent.records:
        evidence = [
            f"{name} {value}"
            for name, value in (
                ("IP", record.ip_address),
                ("user agent", record.user_agent),
                ("page", record.page_url),
                ("TrustedForm", record.trusted_form_cert),
                ("Jornaya", record.jornaya_lead_id),
            )
            if value
        ]
        print(
            f"  offer {record.offer_id} (account {record.delivery_account_id}): "
            f"{'consent given' if record.consent else 'no consent'} at "
            f"{record.consented_at.ToDatetime():%Y-%m-%d %H:%M:%S} UTC"
            + (f"; {', '.join(evidence)}" if evidence else "")
            + f"\n    text shown: {record.consent_text}"
        )
    for entry in log.entries:
        print(f"\n[{entry.scan_date.ToDatetime():%Y-%m-%d %H:%M:%S} UTC]\n{entry.log}")
    print("\nSends:" if sends.sends else "\nNo sends.")
    for send in sends.sends:
        status = SEND_STATUS_NAMES.get(send.status, str(send.status))
        reason = f" ({send.reason})" if send.reason else ""
        reference = f", ping reference {send.ping_reference}" if send.ping_reference else ""
        print(
            f"  #{send.id} {send.client_name} account {send.account_id}: {status} at "
            f"{send.price}{reference}, {send.attempts} attempt(s){reason}"
        )


LEDGER_KINDS = {
    billing_pb2.LEDGER_ENTRY_KIND_SALE: "sale",
    billing_pb2.LEDGER_ENTRY_KIND_RETURN: "return",
    billing_pb2.LEDGER_ENTRY_KIND_PAYMENT: "payment",
    billing_pb2.LEDGER_ENTRY_KIND_CARD: "card charge",
    billing_pb2.LEDGER_ENTRY_KIND_ADJUSTMENT: "adjustment",
    billing_pb2.LEDGER_ENTRY_KIND_PACK: "lead pack",
}


def cmd_ledger(args: argparse.Namespace) -> None:
    """A buyer's ledger: every entry, oldest first, with the balance it left, then the balance."""
    if not args.key:
        raise CommandError("an admin API key is required: --key KEY or LEADROUTER_KEY")
    entries: list[Any] = []
    try:
        with billing(args.grpc, args.key) as stub:
            after = 0
            while True:
                page = stub.ListLedgerEntries(
                    billing_pb2.ListLedgerEntriesRequest(
                        client_id=args.client_id, page_size=1000, after_entry_id=after
                    ),
                    timeout=30,
                )
                entries.extend(page.entries)
                after = page.next_after_entry_id
                if not after:
                    break
            balance = stub.GetBalance(
                billing_pb2.GetBalanceRequest(client_id=args.client_id), timeout=30
            )
    except grpc.RpcError as error:
        raise _rpc_failure(error) from None
    if args.json:
        _print_json(
            {"entries": [MessageToDict(e) for e in entries], "balance": MessageToDict(balance)}
        )
        return
    print(f"Buyer {args.client_id}")
    for e in entries:
        what = LEDGER_KINDS.get(e.kind, str(e.kind))
        about = [f"lead {e.lead_id}"] if e.lead_id else []
        about += [e.note] if e.note else []
        print(
            f"  {e.created_at.ToDatetime():%Y-%m-%d %H:%M:%S} UTC  {what:<11} "
            f"{e.amount:>12}  balance {e.balance:>12}"
            + (f"  ({'; '.join(about)})" if about else "")
        )
    settings = balance.settings
    notes = ["prepaid"] if settings.prepaid else []
    if settings.auto_charge_below:
        notes.append(
            f"auto-charge {settings.auto_charge_amount} below {settings.auto_charge_below}"
        )
    if balance.held:
        notes.append("held: its auto-charge was declined")
    print(
        f"Balance: {balance.balance} ({balance.reserved} in sends under way)"
        + (f"; {', '.join(notes)}" if notes else "")
    )


def cmd_pull_export(args: argparse.Namespace) -> None:
    """A data pull's leads as CSV, to a file or standard output."""
    if not args.key:
        raise CommandError("an admin API key is required: --key KEY or LEADROUTER_KEY")
    try:
        with marketplace(args.grpc, args.key) as stub:
            exported = stub.ExportDataPull(
                marketplace_pb2.ExportDataPullRequest(id=args.pull_id), timeout=60
            )
    except grpc.RpcError as error:
        raise _rpc_failure(error) from None
    if args.output:
        Path(args.output).write_text(exported.csv, encoding="utf-8", newline="")
        print(f"{exported.leads} leads written to {args.output}")
    else:
        sys.stdout.write(exported.csv)


def _print_steps(steps: Any) -> None:
    """A post's or ping's steps, a line each, with their time."""
    for step in steps:
        detail = step.detail.replace("\n", "\n      ")
        print(f"  {step.name}: {step.outcome} ({step.micros} µs){': ' + detail if detail else ''}")


def cmd_ping(args: argparse.Namespace) -> None:
    """A ping's log, by its RequestID or OrderID: the answer, each step and the order."""
    if not args.key:
        raise CommandError("an admin API key is required: --key KEY or LEADROUTER_KEY")
    try:
        with distribution(args.grpc, args.key) as stub:
            found = stub.GetPingLog(distribution_pb2.GetPingLogRequest(id=args.id), timeout=30)
    except grpc.RpcError as error:
        raise _rpc_failure(error) from None
    if args.json:
        _print_json(MessageToDict(found))
        return
    when = found.received_at.ToDatetime()
    accepted = "will accept" if found.will_accept else "refused"
    print(f"Ping {found.request_id} at {when:%Y-%m-%d %H:%M:%S} UTC: {accepted}")
    print(f"  {found.response}")
    print(f"  request: {found.request.decode(errors='replace')}")
    _print_steps(found.steps)
    if found.order_id:
        expires = found.order_expires_on.ToDatetime()
        used = (
            f"used by lead {found.lead_id}"
            if found.HasField("order_used_at")
            else f"expires {expires:%Y-%m-%d %H:%M:%S} UTC unless used"
        )
        print(f"Order {found.order_id}, estimated price {found.estimated_price}: {used}")
        for buyer in found.reserved:
            ref = f", ping reference {buyer.ping_reference}" if buyer.ping_reference else ""
            print(f"  {buyer.client_name} account {buyer.account_id} at {buyer.price}{ref}")


POST_OUTCOMES = {
    "any": post_log_pb2.POST_OUTCOME_FILTER_ANY,
    "accepted": post_log_pb2.POST_OUTCOME_FILTER_ACCEPTED,
    "refused": post_log_pb2.POST_OUTCOME_FILTER_REFUSED,
}


def cmd_posts(args: argparse.Namespace) -> None:
    """The account's post log, newest first, a line per entry: when, the source and campaign,
    the lead stored, and the answer."""
    if not args.key:
        raise CommandError("an admin API key is required: --key KEY or LEADROUTER_KEY")
    request = post_log_pb2.ListPostsRequest(
        source_id=args.source,
        campaign_id=args.campaign,
        outcome=POST_OUTCOMES[args.outcome],
        page_size=args.limit,
        page_token=args.page or "",
    )
    try:
        with post_log(args.grpc, args.key) as stub:
            found = stub.ListPosts(request, timeout=30)
    except grpc.RpcError as error:
        raise _rpc_failure(error) from None
    if args.json:
        _print_json(MessageToDict(found))
        return
    for entry in found.posts:
        when = entry.received_at.ToDatetime()
        answer = leads_pb2.ResponseType.Name(entry.response_type)
        lead = f"lead {entry.lead_id}" if entry.lead_id else "no lead"
        kind = " ping" if entry.ping else ""
        print(
            f"{when:%Y-%m-%d %H:%M:%S} {entry.post_id}{kind} source {entry.source_id} "
            f"campaign {entry.campaign_id}: {lead}, {answer} {entry.response}".rstrip()
        )
    if found.next_page_token:
        print(f"more: --page {found.next_page_token}")


def cmd_post(args: argparse.Namespace) -> None:
    """One post log entry, by its PostID: the request as it came, the answer, each step."""
    if not args.key:
        raise CommandError("an admin API key is required: --key KEY or LEADROUTER_KEY")
    try:
        with post_log(args.grpc, args.key) as stub:
            entry = stub.GetPost(post_log_pb2.GetPostRequest(post_id=args.id), timeout=30)
    except grpc.RpcError as error:
        raise _rpc_failure(error) from None
    if args.json:
        _print_json(MessageToDict(entry))
        return
    when = entry.received_at.ToDatetime()
    verdict = "accepted" if entry.is_valid else "refused"
    print(f"Post {entry.post_id} at {when:%Y-%m-%d %H:%M:%S} UTC from {entry.remote_ip}: {verdict}")
    answer = leads_pb2.ResponseType.Name(entry.response_type)
    print(f"  {answer}: {entry.response}" if entry.response else f"  {answer}")
    print(f"  source {entry.source_id}, campaign {entry.campaign_id}, lead {entry.lead_id or '-'}")
    print(f"  price {entry.price}, lead {entry.lead_index + 1} of its request")
    if entry.HasField("request_removed_at"):
        removed = entry.request_removed_at.ToDatetime()
        print(f"  request ({entry.request_format}): removed {removed:%Y-%m-%d} UTC")
    else:
        cut = " (cut at 64 KiB)" if entry.request_truncated else ""
        print(f"  request ({entry.request_format}){cut}: {entry.request.decode(errors='replace')}")
    _print_steps(entry.steps)


# -- serve --------------------------------------------------------------------------------


REPORT_BY = {
    "day": reports_pb2.REPORT_DIMENSION_DAY,
    "source": reports_pb2.REPORT_DIMENSION_SOURCE,
    "campaign": reports_pb2.REPORT_DIMENSION_CAMPAIGN,
    "buyer": reports_pb2.REPORT_DIMENSION_BUYER,
    "lead-type": reports_pb2.REPORT_DIMENSION_LEAD_TYPE,
}
_REPORT_COLUMNS = (
    ("received", "received"),
    ("accepted", "accepted"),
    ("refused", "refused"),
    ("sold", "sold"),
    ("sends", "sends"),
    ("revenue", "revenue"),
    ("source_cost", "cost"),
    ("returns", "returns"),
    ("credits", "credits"),
    ("source_credits", "src credits"),
    ("margin", "margin"),
)


def _report_label(row: Any, by: str) -> str:
    if by == "day":
        return str(row.day)
    ident, name = {
        "source": (row.source_id, row.source_name),
        "campaign": (row.campaign_id, row.campaign_name),
        "buyer": (row.buyer_id, row.buyer_name),
        "lead-type": (row.lead_type_id, row.lead_type_name),
    }[by]
    if by == "buyer" and not ident:
        return "(leads, no buyer)"
    return f"{name} ({ident})" if name else str(ident)


def report_table(rows: Sequence[Any], total: Any, by: str) -> str:
    """The report as a plain text table, a total line last."""
    header = [by, *(title for _, title in _REPORT_COLUMNS)]
    lines = [
        [_report_label(r, by), *(str(getattr(r, f)) for f, _ in _REPORT_COLUMNS)] for r in rows
    ]
    lines.append(["total", *(str(getattr(total, f)) for f, _ in _REPORT_COLUMNS)])
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    rule = "-" * len(line(header))
    refusals = ", ".join(f"{r.reason} {r.count}" for r in total.refusals)
    footer = [f"refused by reason: {refusals}"] if refusals else []
    return "\n".join(
        [line(header), rule, *(line(c) for c in lines[:-1]), rule, line(lines[-1]), *footer]
    )


def cmd_report(args: argparse.Namespace) -> None:
    """Profit and loss over a range of UTC days, as a table (and a chart of it by day)."""
    if not args.key:
        raise CommandError("an admin API key is required: --key KEY or LEADROUTER_KEY")
    until = args.to or datetime.now(UTC).date()
    since = args.since or until - timedelta(days=29)
    request = reports_pb2.GetProfitAndLossRequest(
        from_day=since.isoformat(), to_day=until.isoformat(), group_by=[REPORT_BY[args.by]]
    )
    try:
        with reports(args.grpc, args.key) as stub:
            answer = stub.GetProfitAndLoss(request, timeout=60)
            daily = answer
            if args.chart and args.by != "day":
                by_day = reports_pb2.GetProfitAndLossRequest(
                    from_day=request.from_day, to_day=request.to_day
                )
                daily = stub.GetProfitAndLoss(by_day, timeout=60)
    except grpc.RpcError as error:
        raise _rpc_failure(error) from None
    if args.json:
        _print_json(MessageToDict(answer))
    else:
        print(f"Profit and loss, {since} to {until} (UTC days), by {args.by}")
        print(report_table(answer.rows, answer.total, args.by))
    if args.chart:
        rows = daily.rows
        try:
            write_daily_chart(
                args.chart,
                [date.fromisoformat(r.day) for r in rows],
                [Decimal(r.revenue) - Decimal(r.credits) for r in rows],
                [Decimal(r.source_cost) - Decimal(r.source_credits) for r in rows],
                [Decimal(r.margin) for r in rows],
                f"Profit and loss, {since} to {until} (UTC)",
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        if not args.json:
            print(f"chart written to {args.chart}")


def cmd_serve(args: argparse.Namespace) -> None:
    from server.bootstrap import serve

    settings = _settings(args)
    if args.demo:  # its buyer listens on this machine's loopback
        settings = replace(settings, private_deliveries=True)

    async def ready(addresses: dict[str, str], accounts: Any) -> None:
        if args.worker:
            print(f"worker ready {os.getpid()} {addresses.get('soap', '')}".rstrip(), flush=True)
            return
        if args.processes > 1:
            print(f"{args.processes} processes share these ports:", flush=True)
        if "grpc" in addresses:
            print(f"leadrouter gRPC API listening on {addresses['grpc']}", flush=True)
        if "receiver" in addresses:
            print(f"lead receiver listening on http://{addresses['receiver']}", flush=True)
        if "soap" in addresses:
            print(
                f"service.asmx (SOAP) listening on http://{addresses['soap']}/service.asmx",
                flush=True,
            )
        if accounts is None:
            print(f"  calling the gRPC services at {args.grpc_target}", flush=True)
            print("Stop with Ctrl-C.", flush=True)
            return
        print(
            f"  data folder: {settings.data_dir.resolve()}"
            if not settings.database_url
            else "  database: the configured LEADROUTER_DATABASE_URL",
            flush=True,
        )
        if args.demo and "receiver" in addresses:
            from clients import demo

            started = await demo.start(
                settings, accounts, addresses["grpc"], extras, buyer=not args.no_demo_buyer
            )
            print(demo.instructions(started, addresses), flush=True)
        print("Stop with Ctrl-C.", flush=True)

    async def serving() -> None:
        async with extras:  # the demo buyer, open until serve has stopped
            await serve(
                settings,
                ready,
                only=args.only,
                grpc_target=args.grpc_target,
                processes=args.processes,
                worker=args.worker,
            )

    extras = AsyncExitStack()
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        runner.run(serving())


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop for serve: the same asyncio API at less CPU per I/O event
    (docs/decisions.md). LEADROUTER_EVENT_LOOP=asyncio keeps the standard library's loop."""
    if os.environ.get("LEADROUTER_EVENT_LOOP", "uvloop") == "asyncio":
        return None
    import uvloop

    return uvloop.new_event_loop


# -- argument parsing ---------------------------------------------------------------------


def _database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="data folder for the embedded PostgreSQL (default ./var, or LEADROUTER_DATA_DIR)",
    )
    parser.add_argument(
        "--database-url",
        help="use this PostgreSQL instead of the embedded one (or LEADROUTER_DATABASE_URL)",
    )


def _server_options(parser: argparse.ArgumentParser) -> None:
    """--grpc and --key, for the commands that call a running server."""
    parser.add_argument(
        "--grpc",
        default=os.environ.get("LEADROUTER_GRPC", DEFAULT_GRPC),
        help="server HOST:PORT (or LEADROUTER_GRPC)",
    )
    parser.add_argument(
        "--key", default=os.environ.get("LEADROUTER_KEY"), help="admin API key (or LEADROUTER_KEY)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadrouter", description="leadrouter: lead distribution platform"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the gRPC API and the lead receiver")
    _database_options(serve)
    serve.add_argument(
        "--grpc", help=f"gRPC HOST:PORT (default {DEFAULT_GRPC}, or LEADROUTER_GRPC)"
    )
    serve.add_argument(
        "--only",
        choices=["grpc", "receiver", "soap"],
        help="serve one front door alone (to scale it out); default: all three",
    )
    serve.add_argument(
        "--grpc-target",
        help="with --only receiver or --only soap: the gRPC server HOST:PORT to call",
    )
    serve.add_argument(
        "--receiver",
        help=f"lead receiver HOST:PORT (default {DEFAULT_RECEIVER}, or LEADROUTER_RECEIVER)",
    )
    serve.add_argument(
        "--soap",
        help=f"service.asmx HOST:PORT (default {DEFAULT_SOAP}, or LEADROUTER_SOAP)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="create a demo account on first start, apply examples/acme.json, and serve a "
        "demo buyer that buys the lead it prints",
    )
    serve.add_argument(
        "--no-demo-buyer",
        action="store_true",
        help="with --demo: no demo buyer (the benchmarks, which bring their own buyers)",
    )
    serve.add_argument(
        "--processes",
        type=int,
        default=int(os.environ.get("LEADROUTER_PROCESSES", "1")),
        metavar="N",
        help="serve from N processes sharing the ports, one core each "
        "(default 1, or LEADROUTER_PROCESSES)",
    )
    serve.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(run=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations and exit")
    _database_options(migrate)
    migrate.set_defaults(run=cmd_migrate)

    accounts = commands.add_parser("accounts", help="manage accounts (tenants)")
    account_commands = accounts.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = account_commands.add_parser("create", help="create an account and its first key")
    create.add_argument("name")
    create.add_argument(
        "--time-zone",
        default="America/Los_Angeles",
        help="the account's time zone for caps and reports",
    )
    _database_options(create)
    create.set_defaults(run=cmd_accounts_create)
    listing = account_commands.add_parser("list", help="list accounts")
    _database_options(listing)
    listing.set_defaults(run=cmd_accounts_list)

    keys = commands.add_parser("keys", help="manage an account's admin API keys")
    key_commands = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    key_create = key_commands.add_parser("create", help="issue a key (shown once)")
    key_create.add_argument("--account", type=int, required=True)
    key_create.add_argument("--name", default="")
    _database_options(key_create)
    key_create.set_defaults(run=cmd_keys_create)
    key_list = key_commands.add_parser("list", help="list keys (never their secrets)")
    key_list.add_argument("--account", type=int, required=True)
    _database_options(key_list)
    key_list.set_defaults(run=cmd_keys_list)
    key_revoke = key_commands.add_parser("revoke", help="revoke a key")
    key_revoke.add_argument("--account", type=int, required=True)
    key_revoke.add_argument("key_id", type=int)
    _database_options(key_revoke)
    key_revoke.set_defaults(run=cmd_keys_revoke)

    source_keys = commands.add_parser(
        "source-keys", help="manage a lead source's posting keys (its API keys)"
    )
    source_key_commands = source_keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    source_help = "the lead source: its id or its key in the account's config"
    made = source_key_commands.add_parser(
        "create", help="issue a posting key (shown once) and say how the source uses it"
    )
    made.add_argument("--account", type=int, required=True)
    made.add_argument("source", help=source_help)
    made.add_argument("--name", default="", help="a name to tell the key apart")
    made.add_argument("--json", action="store_true", help="print the key as JSON")
    made.add_argument(
        "--receiver-url",
        dest="public_url",
        help="the receiver's public base URL to show (default LEADROUTER_PUBLIC_URL, or "
        "http://LEADROUTER_RECEIVER)",
    )
    _database_options(made)
    made.set_defaults(run=cmd_source_keys_create)
    listed = source_key_commands.add_parser("list", help="list a source's keys (never secrets)")
    listed.add_argument("--account", type=int, required=True)
    listed.add_argument("source", help=source_help)
    listed.add_argument("--json", action="store_true", help="print them as JSON")
    _database_options(listed)
    listed.set_defaults(run=cmd_source_keys_list)
    revoked = source_key_commands.add_parser("revoke", help="revoke a source's key")
    revoked.add_argument("--account", type=int, required=True)
    revoked.add_argument("source", help=source_help)
    revoked.add_argument("key_id", type=int)
    revoked.add_argument("--json", action="store_true", help="print the outcome as JSON")
    _database_options(revoked)
    revoked.set_defaults(run=cmd_source_keys_revoke)

    signing = commands.add_parser(
        "signing-secrets", help="make or replace a lead source's secret for signing callbacks"
    )
    signing_commands = signing.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, purpose, run in (
        ("create", "make a source's signing secret (shown once)", cmd_signing_secrets_create),
        (
            "rotate",
            "replace a source's signing secret at once (shown once)",
            cmd_signing_secrets_rotate,
        ),
    ):
        secret_command = signing_commands.add_parser(action, help=purpose)
        secret_command.add_argument("--account", type=int, required=True)
        secret_command.add_argument("--source", type=int, required=True, help="lead source id")
        _database_options(secret_command)
        secret_command.set_defaults(run=run)

    apply = commands.add_parser("apply", help="apply a config document (JSON or YAML)")
    apply.add_argument("file")
    apply.add_argument("--dry-run", action="store_true", help="validate and report only")
    _server_options(apply)
    apply.set_defaults(run=cmd_apply)

    guide = commands.add_parser(
        "instructions", help="print a campaign's posting instructions (Markdown or JSON)"
    )
    guide.add_argument("campaign", help="the campaign's key or numeric id")
    guide.add_argument("--json", action="store_true", help="print the document as JSON")
    guide.add_argument("--receiver-url", help="the receiver's public base URL to show")
    _server_options(guide)
    guide.set_defaults(run=cmd_instructions)

    offers = commands.add_parser(
        "offers", help="list the static offers of the account's delivery accounts"
    )
    offers.add_argument("--json", action="store_true", help="print them as JSON")
    _server_options(offers)
    offers.set_defaults(run=cmd_offers)

    lead = commands.add_parser(
        "lead", help="show a lead's scan log, sends, properties and consent evidence"
    )
    lead.add_argument("lead_id", type=int)
    lead.add_argument("--json", action="store_true", help="print them as JSON")
    _server_options(lead)
    lead.set_defaults(run=cmd_lead)

    ledger = commands.add_parser("ledger", help="show a buyer's ledger entries and balance")
    ledger.add_argument("client_id", type=int)
    ledger.add_argument("--json", action="store_true", help="print them as JSON")
    _server_options(ledger)
    ledger.set_defaults(run=cmd_ledger)
    pull = commands.add_parser("pull", help="a client's data pulls of aged leads")
    pull_commands = pull.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = pull_commands.add_parser("export", help="write a data pull's leads as CSV")
    export.add_argument("pull_id", type=int)
    export.add_argument("--output", "-o", help="the file to write (default: standard output)")
    _server_options(export)
    export.set_defaults(run=cmd_pull_export)

    posts = commands.add_parser("posts", help="list the post log, newest first")
    posts.add_argument("--source", type=int, default=0, help="only this lead source's")
    posts.add_argument("--campaign", type=int, default=0, help="only this campaign's")
    posts.add_argument("--outcome", choices=sorted(POST_OUTCOMES), default="any")
    posts.add_argument("--limit", type=int, default=20, help="how many (at most 1000)")
    posts.add_argument("--page", help="the page a previous listing named after 'more:'")
    posts.add_argument("--json", action="store_true", help="print them as JSON")
    _server_options(posts)
    posts.set_defaults(run=cmd_posts)
    post = commands.add_parser("post", help="show a post log entry, with its request")
    post.add_argument("id", help="the PostID")
    post.add_argument("--json", action="store_true", help="print it as JSON")
    _server_options(post)
    post.set_defaults(run=cmd_post)

    ping = commands.add_parser("ping", help="show a ping's log and its order")
    ping.add_argument("id", help="the ping's RequestID or OrderID")
    ping.add_argument("--json", action="store_true", help="print it as JSON")
    _server_options(ping)
    ping.set_defaults(run=cmd_ping)

    report = commands.add_parser(
        "report", help="print the profit and loss by day, source, campaign, buyer or lead type"
    )
    report.add_argument("--by", choices=sorted(REPORT_BY), default="day", help="group by")
    report.add_argument(
        "--from", dest="since", type=date.fromisoformat, help="first UTC day (default: 30 days)"
    )
    report.add_argument("--to", type=date.fromisoformat, help="last UTC day (default: today)")
    report.add_argument(
        "--chart", type=Path, help="write revenue, cost and margin per day (.svg/.png)"
    )
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    _server_options(report)
    report.set_defaults(run=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        args.run(args)
    except (CommandError, ConfigError, LeadRouterError) as exc:
        print(f"leadrouter: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
