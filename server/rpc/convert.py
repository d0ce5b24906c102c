"""Between protobuf messages and domain specs; enums share their numbers, so convert by value."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from leadrouter.v1 import admin_pb2, buyers_pb2, callbacks_pb2, catalog_pb2, distribution_pb2

from server.domain.accounts import AccountSettings, KeyInfo
from server.domain.buyers.offers import OFFER_FIELDS, StaticOffer
from server.domain.buyers.records import (
    ClientGroup,
    StoredClient,
    StoredDelivery,
    StoredDeliveryAccount,
)
from server.domain.buyers.specs import (
    AUTH_TYPES,
    CONTACT_FIELDS,
    DEFAULT_TIME_ZONE,
    DEFAULT_TIMEOUT_SECONDS,
    DELIVERY_TYPE_NAMES,
    PORTAL_SETTINGS,
    AccountType,
    ClientSpec,
    ClientStatus,
    DeliveryAccountSpec,
    DeliveryMethod,
    PortalSettings,
    ping_spec,
    public_settings,
)
from server.domain.callbacks.records import CallbackReport
from server.domain.caps import NO_LIMIT
from server.domain.catalog.fields import DataType, FieldSpec, SpecialField
from server.domain.catalog.records import StoredCampaign, StoredField, StoredSource
from server.domain.catalog.rules import Operator, Rule
from server.domain.catalog.specs import (
    DEFAULT_DUP_DAYS,
    DEFAULT_MAX_SELL,
    DEFAULT_PING_ORDER_SECONDS,
    CampaignSpec,
    Channel,
    LeadTypeSpec,
    Pricing,
    PricingModel,
    SourceSpec,
    Status,
    pricing_field,
)
from server.domain.config.buyers_section import (
    DELIVERY_FLAGS,
    DELIVERY_TEXT,
    PING_AMOUNTS,
    PING_ANSWER,
)
from server.domain.delivery.spec import DEFAULT_PING_TIMEOUT_MS, AuthType, DeliveryType, PingSpec
from server.domain.intake.screening import Step
from server.domain.matching.criteria import Criterion, CriterionType
from server.domain.matching.lists import ListEdit, ListItemEdit, StoredDistributionList
from server.domain.matching.selection import Automation
from server.domain.sales.auction import DEFAULT_DEADLINE_MS, DEFAULT_FRESH_SECONDS, AuctionSettings
from server.domain.sales.orders import (
    OrderEdit,
    OrderItemEdit,
    OrderStatus,
    Renewal,
    StoredOrder,
)
from server.errors import InvalidArgument, Violation

E = TypeVar("E", bound=enum.IntEnum)


def _enum(kind: type[E], number: int, where: str) -> E:
    try:
        return kind(number)
    except ValueError:
        raise InvalidArgument([Violation(where, f"unknown value {number}")]) from None


def _status(number: int, where: str) -> Status:
    status = _enum(Status, number, where)
    return Status.Active if status is Status.Unspecified else status


def field_spec(message: catalog_pb2.LeadField, where: str = "field") -> FieldSpec:
    return FieldSpec(
        id=message.id,
        name=message.name,
        data_type=_enum(DataType, message.data_type, f"{where}.data_type"),
        required=message.required,
        validation=message.validation,
        invalid_chars=message.invalid_chars,
        enumerations=tuple(message.enumerations),
        format_string=message.format_string,
        special=_enum(SpecialField, message.special, f"{where}.special"),
        description=message.description,
        duplicate_check=message.duplicate_check,
        col_span=message.col_span,
        width=message.width,
        height=message.height,
        computed=message.computed.strip(),
    )


def field_message(lead_type_id: int, spec: FieldSpec, position: int) -> catalog_pb2.LeadField:
    return catalog_pb2.LeadField(
        id=spec.id,
        lead_type_id=lead_type_id,
        name=spec.name,
        data_type=int(spec.data_type),  # type: ignore[arg-type]
        required=spec.required,
        validation=spec.validation,
        invalid_chars=spec.invalid_chars,
        enumerations=list(spec.enumerations),
        format_string=spec.format_string,
        special=int(spec.special),  # type: ignore[arg-type]
        description=spec.description,
        duplicate_check=spec.duplicate_check,
        position=position,
        col_span=spec.col_span,
        width=spec.width,
        height=spec.height,
        computed=spec.computed,
    )


def stored_field_message(stored: StoredField) -> catalog_pb2.LeadField:
    return field_message(stored.lead_type_id, stored.spec, stored.position)


def lead_type_spec(message: catalog_pb2.LeadType) -> LeadTypeSpec:
    return LeadTypeSpec(
        key=message.key or None,
        name=message.name,
        description=message.description,
        industry_type=message.industry_type,
        fields=tuple(field_spec(f, f"lead_type.fields[{i}]") for i, f in enumerate(message.fields)),
    )


def lead_type_message(
    lead_type_id: int, spec: LeadTypeSpec, account_id: int
) -> catalog_pb2.LeadType:
    return catalog_pb2.LeadType(
        id=lead_type_id,
        account_id=account_id,
        key=spec.key or "",
        name=spec.name,
        description=spec.description,
        industry_type=spec.industry_type,
        fields=[field_message(lead_type_id, f, i) for i, f in enumerate(spec.fields)],
    )


def source_spec(message: catalog_pb2.Source) -> SourceSpec:
    return SourceSpec(
        key=message.key or None,
        name=message.name,
        email=message.email,
        address=message.address,
        address2=message.address2,
        city=message.city,
        state=message.state,
        zip=message.zip,
        phone=message.phone,
        fax=message.fax,
        status=_status(message.status, "source.status"),
        username=message.username or None,
        password=message.password if message.HasField("password") else None,
        default_return_days=message.default_return_days,
    )


def source_message(stored: StoredSource) -> catalog_pb2.Source:
    spec = stored.spec
    return catalog_pb2.Source(
        id=stored.id,
        key=spec.key or "",
        name=spec.name,
        email=spec.email,
        address=spec.address,
        address2=spec.address2,
        city=spec.city,
        state=spec.state,
        zip=spec.zip,
        phone=spec.phone,
        fax=spec.fax,
        status=int(spec.status),  # type: ignore[arg-type]
        username=spec.username or "",
        has_password=stored.password_hash is not None,
        default_return_days=spec.default_return_days,
        state_id=stored.state_id,
    )


def state_id(message: catalog_pb2.Source | buyers_pb2.Client, mask: FieldMask) -> int:
    """The state id a source or buyer save names: the message's, unless an update mask leaves
    it out."""
    return message.state_id if not mask.paths or "state_id" in mask.paths else 0


def _decimal(text: str, where: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidArgument([Violation(where, f"{text!r} is not a decimal number")]) from None


def _pricing(message: catalog_pb2.Campaign) -> Pricing:
    which = message.WhichOneof("pricing")
    if which is None:
        return Pricing()
    model = next(m for m in PricingModel if pricing_field(m) == which)
    return Pricing(model, _decimal(getattr(message, which), f"campaign.{which}"))


# A state by id is read into `state` by the use cases: a mask naming state_id sets `state`.
_STATE_BY_ID = {"state_id": "state"}
# Message fields that are written under another attribute name in the spec.
_SPEC_NAMES = {
    "price_per_lead": "pricing",
    "price_per_sale": "pricing",
    "revenue_share_percent": "pricing",
    **_STATE_BY_ID,
}
_READ_ONLY = {
    "id", "has_password", "account_id", "created_at", "group_id", "deliveries", "accounts",
    "orders", "delivery",
}  # fmt: skip


def _writable(message: Any, path: str) -> bool:
    """A field the message's update mask may name: a writable field, or a field of a writable
    message field ("portal.allow_calls")."""
    name, _, inner = path.partition(".")
    found = message.DESCRIPTOR.fields_by_name.get(name)
    if found is None or name in _READ_ONLY:
        return False
    if not inner:
        return True
    nested = found.message_type
    return nested is not None and not found.is_repeated and inner in nested.fields_by_name


def mask_paths(mask: FieldMask, message: Any, where: str) -> list[str]:
    """An update mask's paths, each a writable field of the message (else refused)."""
    unknown = [p for p in mask.paths if not _writable(message, p)]
    if unknown:
        raise InvalidArgument(
            [Violation(where, f"not a field that can be changed: {', '.join(unknown)}")]
        )
    return list(mask.paths)


def changed_fields(mask: FieldMask, message: Any, where: str) -> frozenset[str] | None:
    """The spec attributes an update mask names; None when the mask is empty (every field)."""
    if not mask.paths:
        return None
    paths = mask_paths(mask, message, where)
    nested = [p for p in paths if "." in p]
    if nested:  # the specs masked by attribute have no settings within settings
        raise InvalidArgument(
            [Violation(where, f"not a field that can be changed: {', '.join(nested)}")]
        )
    return frozenset(_SPEC_NAMES.get(p, p) for p in paths)


Stored = TypeVar("Stored")
Spec = TypeVar("Spec")


def merge_for(
    mask: FieldMask,
    posted: Any,
    to_message: Callable[[Stored], Any],
    to_spec: Callable[[Any], Spec],
) -> Callable[[Stored], Spec] | None:
    """For an edit with an update mask: what turns the entity as stored into the spec to
    save (the stored entity as a message, the masked fields taken from `posted`); None
    without a mask."""
    if not mask.paths:
        return None
    paths = mask_paths(mask, posted, "update_mask")
    paths += [_STATE_BY_ID[p] for p in paths if p in _STATE_BY_ID and _STATE_BY_ID[p] not in paths]
    return lambda current: to_spec(merged(to_message(current), posted, paths))


def merged(stored: Any, posted: Any, paths: list[str]) -> Any:
    """`stored` (a message) with the fields `paths` names taken from `posted`."""
    merged_message = type(stored)()
    merged_message.CopyFrom(stored)
    FieldMask(paths=paths).MergeMessage(
        posted, merged_message, replace_message_field=True, replace_repeated_field=True
    )
    return merged_message


def campaign_spec(message: catalog_pb2.Campaign) -> CampaignSpec:
    def number(present: bool, value: int, default: int) -> int:
        return value if present else default

    return CampaignSpec(
        key=message.key or None,
        source_id=message.source_id,
        lead_type_id=message.lead_type_id,
        name=message.name,
        channel=_enum(Channel, message.channel, "campaign.channel"),
        status=_status(message.status, "campaign.status"),
        password=message.password if message.HasField("password") else None,
        require_api_key=message.require_api_key,
        pricing=_pricing(message),
        hour_max=number(message.HasField("hour_max"), message.hour_max, NO_LIMIT),
        day_max=number(message.HasField("day_max"), message.day_max, NO_LIMIT),
        month_max=number(message.HasField("month_max"), message.month_max, NO_LIMIT),
        count_returns=message.count_returns,
        dup_day_max=number(message.HasField("dup_day_max"), message.dup_day_max, DEFAULT_DUP_DAYS),
        max_sell=number(message.HasField("max_sell"), message.max_sell, DEFAULT_MAX_SELL),
        use_qc_bin=message.use_qc_bin,
        return_days=message.return_days,
        email_verify=message.email_verify,
        append_city_state_from_zip=message.append_city_state_from_zip,
        return_client_offers=message.return_client_offers,
        ping_order_seconds=number(
            message.HasField("ping_order_seconds"),
            message.ping_order_seconds,
            DEFAULT_PING_ORDER_SECONDS,
        ),
        lead_category_id=(
            message.lead_category_id if message.HasField("lead_category_id") else None
        ),
        rules=tuple(
            Rule(
                r.field,
                _enum(Operator, r.operator, f"campaign.rules[{i}].operator"),
                r.value,
                r.field_id,
            )
            for i, r in enumerate(message.rules)
        ),
    )


def campaign_message(stored: StoredCampaign) -> catalog_pb2.Campaign:
    spec = stored.spec
    message = catalog_pb2.Campaign(
        id=stored.id,
        key=spec.key or "",
        source_id=spec.source_id,
        lead_type_id=spec.lead_type_id,
        name=spec.name,
        channel=int(spec.channel),  # type: ignore[arg-type]
        status=int(spec.status),  # type: ignore[arg-type]
        has_password=stored.password_hash is not None,
        require_api_key=spec.require_api_key,
        hour_max=spec.hour_max,
        day_max=spec.day_max,
        month_max=spec.month_max,
        count_returns=spec.count_returns,
        dup_day_max=spec.dup_day_max,
        max_sell=spec.max_sell,
        use_qc_bin=spec.use_qc_bin,
        return_days=spec.return_days,
        email_verify=spec.email_verify,
        append_city_state_from_zip=spec.append_city_state_from_zip,
        return_client_offers=spec.return_client_offers,
        ping_order_seconds=spec.ping_order_seconds,
        lead_category_id=spec.lead_category_id or 0,
        rules=[
            catalog_pb2.Rule(field=r.field, operator=int(r.operator), value=r.value)  # type: ignore[arg-type]
            for r in spec.rules
        ],
    )
    setattr(message, pricing_field(spec.pricing.model), str(spec.pricing.amount))
    return message


def decimal_text(value: Decimal) -> str:
    """A decimal as plain text without trailing zeros: 25, 12.5 (never 1E+1)."""
    return f"{value.normalize():f}"


def struct(document: dict[str, Any]) -> Struct:
    """A JSON-like document as a google.protobuf.Struct."""
    message = Struct()
    message.update(document)
    return message


def step_messages(steps: Sequence[Step]) -> list[distribution_pb2.PostStep]:
    """A post's or ping's steps, as its post log keeps them."""
    return [
        distribution_pb2.PostStep(name=s.name, outcome=s.outcome, detail=s.detail, micros=s.micros)
        for s in steps
    ]


def stamp(target: Timestamp, value: datetime | None) -> None:
    """Set a Timestamp field, or leave it unset for None."""
    if value is not None:
        target.FromDatetime(value)


def key_message(info: KeyInfo) -> admin_pb2.ApiKey:
    message = admin_pb2.ApiKey(id=info.id, name=info.name, prefix=info.prefix)
    stamp(message.created_at, info.created_at)
    stamp(message.revoked_at, info.revoked_at)
    stamp(message.last_used_at, info.last_used_at)
    return message


# -- callbacks ---------------------------------------------------------------------------------


def callback_message(report: CallbackReport) -> callbacks_pb2.Callback:
    """A post's callback and its attempts (ListCallbackAttempts, and a status report)."""
    message = callbacks_pb2.Callback(
        event_id=report.event_id,
        post_id=report.post_id,
        url=report.url,
        state=callbacks_pb2.CallbackState.Value(f"CALLBACK_STATE_{report.state.name}"),
        signed=report.signed,
    )
    stamp(message.created_at, report.created_at)
    stamp(message.next_attempt_at, report.next_attempt_at)
    stamp(message.finished_at, report.finished_at)
    for attempt in report.attempts:
        item = message.attempts.add(
            number=attempt.number,
            outcome=callbacks_pb2.CallbackOutcome.Value(f"CALLBACK_OUTCOME_{attempt.outcome.name}"),
            http_status=attempt.status or 0,
            error=attempt.error,
            elapsed_ms=attempt.elapsed_ms,
        )
        stamp(item.at, attempt.at)
    return message


def account_settings_message(settings: AccountSettings) -> callbacks_pb2.AccountSettings:
    return callbacks_pb2.AccountSettings(
        allow_private_callbacks=settings.allow_private_callbacks,
        max_queued_posts=settings.max_queued_posts or 0,
        queue_limit=settings.queue_limit,
        post_body_days=settings.post_body_days or 0,
    )


def account_settings(message: callbacks_pb2.AccountSettings) -> AccountSettings:
    """Settings as posted: a limit of 0 is the server's, 0 days keeps bodies for ever."""
    return AccountSettings(
        allow_private_callbacks=message.allow_private_callbacks,
        max_queued_posts=message.max_queued_posts or None,
        post_body_days=message.post_body_days or None,
    )


# -- buyers ------------------------------------------------------------------------------------


def client_message(stored: StoredClient, account_id: int) -> buyers_pb2.Client:
    spec = stored.spec
    contact: dict[str, Any] = {name: spec.contact.get(name, "") for name in CONTACT_FIELDS}
    message = buyers_pb2.Client(
        id=stored.id,
        account_id=account_id,
        key=spec.key or "",
        name=spec.name,
        status=int(spec.status),  # type: ignore[arg-type]
        group=spec.group,
        time_zone=spec.time_zone,
        username=spec.username,
        has_password=stored.has_password,
        automation=int(spec.automation),  # type: ignore[arg-type]
        secondary_automation=int(spec.secondary_automation),  # type: ignore[arg-type]
        priority=spec.priority,
        weight=spec.weight,
        delivery_group=spec.delivery_group,
        use_delivery_tiers=spec.use_delivery_tiers,
        notes=spec.notes,
        portal=buyers_pb2.PortalSettings(
            **{name: getattr(spec.portal, name) for name in PORTAL_SETTINGS}
        ),
        **contact,
    )
    message.created_at.FromDatetime(stored.created_at)
    message.group_id = stored.group_id
    message.state_id = stored.state_id
    message.deliveries.extend(delivery_message(d) for d in stored.deliveries)
    message.accounts.extend(delivery_account_message(a) for a in stored.delivery_accounts)
    message.orders.extend(order_message(o) for o in stored.orders)
    return message


def order_message(order: StoredOrder) -> buyers_pb2.Order:
    items = [
        buyers_pb2.OrderItem(
            id=i.id,
            key=i.key or "",
            description=i.description,
            quantity=i.quantity,
            account_id=i.delivery_account_id or 0,
            sent=i.sold,
            held=i.held,
        )
        for i in order.items
    ]
    message = buyers_pb2.Order(
        id=order.id,
        key=order.key or "",
        client_id=order.client_id,
        quantity=sum(i.quantity for i in items),
        sent=sum(i.sent for i in items),
        status=int(order.status),  # type: ignore[arg-type]
        renewal=int(order.renewal),  # type: ignore[arg-type]
        auto_charge=order.auto_charge,
        items=items,
        renewals=order.renewals,
    )
    stamp(message.start, order.start)
    stamp(message.end, order.end)
    stamp(message.period_start, order.period_start)
    stamp(message.period_end, order.period_end)
    return message


def list_message(stored: StoredDistributionList, account_id: int) -> buyers_pb2.DistributionList:
    items = [
        buyers_pb2.DistributionListItem(
            value=i.value, client_id=i.client_id or 0, id=i.id, client_name=i.client_name
        )
        for i in stored.items
    ]
    assigned = sum(1 for i in items if i.client_id)
    return buyers_pb2.DistributionList(
        id=stored.id,
        key=stored.key or "",
        lead_type_id=stored.lead_type_id,
        field=stored.field,
        description=stored.description,
        default_client_id=stored.default_client_id or 0,
        status=int(stored.status),  # type: ignore[arg-type]
        depend_field=stored.depend_field,
        depend_value=stored.depend_value,
        items=items,
        assigned=assigned,
        unassigned=len(items) - assigned,
        field_id=stored.field_id,
        depend_field_id=stored.depend_field_id,
        account_id=account_id,
        default_client_name=stored.default_client_name,
    )


# Delivery settings stored as the message holds them; the rest are converted one by one.
_PLAIN_SETTINGS = frozenset(buyers_pb2.Delivery.DESCRIPTOR.fields_by_name) - {
    "mappings",
    "headers",
    "days",
    "auth",
    "created_at",
    "ping",
}


def delivery_message(stored: StoredDelivery) -> buyers_pb2.Delivery:
    method = stored.method
    settings = method.settings
    shown = public_settings(settings)
    message = buyers_pb2.Delivery(
        id=stored.id,
        key=method.key or "",
        client_id=stored.client_id,
        name=method.name,
        type=int(method.type),  # type: ignore[arg-type]
        enabled=method.enabled,
        lead_type_id=method.lead_type_id,
        lead_category_id=method.lead_category_id or 0,
        auth=int(AUTH_TYPES.get(settings.get("auth", "none"), 0)),  # type: ignore[arg-type]
        **{name: value for name, value in shown.items() if name in _PLAIN_SETTINGS},
    )
    message.mappings.extend(
        buyers_pb2.FieldMapping(**m, field_id=stored.field_ids.get(m.get("field", "").lower(), 0))
        for m in settings.get("mappings", ())
    )
    message.headers.extend(
        buyers_pb2.Header(name=name, value=value) for name, value in settings.get("headers", ())
    )
    message.days.extend(buyers_pb2.DayWindow(**d) for d in settings.get("days", ()))
    message.created_at.FromDatetime(stored.created_at)
    ping = ping_spec(settings.get("ping"))
    if ping is not None:
        message.ping.CopyFrom(_ping_message(ping, stored.field_ids))
    return message


def _ping_message(ping: PingSpec, field_ids: Mapping[str, int]) -> buyers_pb2.PingRequest:
    """A delivery's ping as the API shows it."""
    answer = ping.answer
    message = buyers_pb2.PingRequest(
        type=int(ping.type),  # type: ignore[arg-type]
        address=ping.address,
        template=ping.template,
        timeout_ms=ping.timeout_ms,
        answer=buyers_pb2.PingAnswer(
            format=answer.format,
            accepted=answer.accepted,
            accepted_value=answer.accepted_value,
            price=answer.price,
            reference=answer.reference,
            reason=answer.reason,
            offer=buyers_pb2.OfferPaths(**dict(answer.offer)) if answer.offer else None,
        ),
        margin_percent=_amount_text(ping.margin_percent),
        min_margin=_amount_text(ping.min_margin),
        floor=_amount_text(ping.floor),
    )
    message.mappings.extend(
        buyers_pb2.FieldMapping(
            param=m.param,
            field=m.field,
            constant=m.constant,
            format=m.format,
            field_id=field_ids.get(m.field.lower(), 0),
        )
        for m in ping.mappings
    )
    message.headers.extend(buyers_pb2.Header(name=n, value=v) for n, v in ping.headers)
    return message


def _amount_text(amount: Decimal | None) -> str:
    """An amount as stored in the settings ("" when unset)."""
    return "" if amount is None else str(amount)


def _ping_settings(message: buyers_pb2.PingRequest, where: str) -> dict[str, Any]:
    """A delivery's ping in the canonical form its settings store (as config as code reads
    it: empty values left out, amounts as decimal strings)."""
    kind = _enum(DeliveryType, message.type, f"{where}.type")
    if kind is DeliveryType.Unspecified:
        kind = DeliveryType.JsonPost
    ping: dict[str, Any] = {
        "type": DELIVERY_TYPE_NAMES[kind],
        "address": message.address,
        "timeout_ms": message.timeout_ms or DEFAULT_PING_TIMEOUT_MS,
    }
    if message.template:
        ping["template"] = message.template
    mappings = [
        {
            "param": m.param,
            **{k: getattr(m, k) for k in ("field", "constant", "format") if getattr(m, k)},
        }
        for m in message.mappings
    ]
    if mappings:
        ping["mappings"] = mappings
    if message.headers:
        ping["headers"] = [[h.name, h.value] for h in message.headers]
    answer = {
        name: getattr(message.answer, name) for name in PING_ANSWER if getattr(message.answer, name)
    }
    answer["format"] = message.answer.format or "json"
    offer = {name: getattr(message.answer.offer, name) for name in OFFER_FIELDS}
    if any(offer.values()):
        answer["offer"] = {name: path for name, path in offer.items() if path}
    ping["answer"] = answer
    for name in PING_AMOUNTS:
        text = getattr(message, name)
        if text:
            ping[name] = str(_decimal(text, f"{where}.{name}"))
    return ping


def delivery_account_message(
    stored: StoredDeliveryAccount, delivery: StoredDelivery | None = None
) -> buyers_pb2.DeliveryAccount:
    spec = stored.spec
    message = buyers_pb2.DeliveryAccount(
        id=stored.id,
        key=spec.key or "",
        client_id=stored.client_id,
        delivery_id=spec.delivery_id,
        description=spec.description,
        price=decimal_text(spec.price),
        hour_max=spec.hour_max,
        day_max=spec.day_max,
        month_max=spec.month_max,
        use_order=spec.use_order,
        status=int(spec.status),  # type: ignore[arg-type]
        delivery_delay_seconds=spec.delivery_delay_seconds,
        redirect_url=spec.redirect_url,
        automation_enabled=spec.automation_enabled,
        account_type=int(spec.account_type),  # type: ignore[arg-type]
        agent_name=spec.agent_name,
        agent_phone=spec.agent_phone,
        criteria=[
            buyers_pb2.Criterion(
                type=int(c.type),  # type: ignore[arg-type]
                field=c.field,
                operator=int(c.operator),  # type: ignore[arg-type]
                value=c.value,
                expression=c.expression,
                field_id=stored.field_ids.get(c.field.lower(), 0),
                id=c.id,
            )
            for c in spec.criteria
        ],
    )
    if spec.offer is not None:
        message.offer.CopyFrom(offer_message(spec.offer, stored.offer_id))
        message.offer.delivery_account_id = stored.id
        message.offer.client_id = stored.client_id
    if delivery is not None:
        message.delivery.CopyFrom(delivery_message(delivery))
    return message


def offer_fields(offer: StaticOffer) -> dict[str, str]:
    """An offer's fields as both messages that carry one name them (buyers' StaticOffer and
    the leads' Offer)."""
    return {
        "company_name": offer.company_name,
        "company_phone": offer.company_phone,
        "name": offer.name,
        "description": offer.description,
        "url": offer.url,
        "image_url": offer.image_url,
        "privacy_url": offer.privacy_url,
        "terms_url": offer.terms_url,
        "duration": offer.duration,
        "amount": decimal_text(offer.amount),
        "tcpa_consent_text": offer.tcpa_consent_text,
    }


def offer_message(offer: StaticOffer, offer_id: int) -> buyers_pb2.StaticOffer:
    message = buyers_pb2.StaticOffer(id=offer_id)
    for name, value in offer_fields(offer).items():
        setattr(message, name, value)
    return message


def static_offer(message: buyers_pb2.StaticOffer, where: str) -> StaticOffer:
    return StaticOffer(
        company_name=message.company_name,
        company_phone=message.company_phone,
        name=message.name,
        description=message.description,
        url=message.url,
        image_url=message.image_url,
        privacy_url=message.privacy_url,
        terms_url=message.terms_url,
        duration=message.duration,
        amount=_decimal(message.amount, f"{where}.amount") if message.amount else Decimal("0"),
        tcpa_consent_text=message.tcpa_consent_text,
    )


# -- buyers, as saved by id --------------------------------------------------------------------


def client_spec(message: buyers_pb2.Client, where: str = "client") -> ClientSpec:
    """A buyer as config as code reads it; unspecified status and automation take their
    defaults (Active, Price), an unset priority and weight theirs (1)."""
    status = _enum(ClientStatus, message.status, f"{where}.status")
    automation = _enum(Automation, message.automation, f"{where}.automation")
    return ClientSpec(
        key=message.key or None,
        name=message.name,
        status=ClientStatus.Active if status is ClientStatus.Unspecified else status,
        group=message.group,
        time_zone=message.time_zone or DEFAULT_TIME_ZONE,
        contact={n: getattr(message, n) for n in CONTACT_FIELDS if getattr(message, n)},
        username=message.username,
        password=message.password if message.HasField("password") else None,
        automation=Automation.Price if automation is Automation.Unspecified else automation,
        secondary_automation=_enum(
            Automation, message.secondary_automation, f"{where}.secondary_automation"
        ),
        priority=message.priority if message.HasField("priority") else 1,
        weight=message.weight if message.HasField("weight") else 1,
        delivery_group=message.delivery_group,
        use_delivery_tiers=message.use_delivery_tiers,
        notes=message.notes,
        portal=PortalSettings(**{name: getattr(message.portal, name) for name in PORTAL_SETTINGS}),
    )


_AUTH_NAMES = {kind: name for name, kind in AUTH_TYPES.items()}
_SECRETS: tuple[Literal["password", "smtp_password", "ftp_password"], ...] = (
    "password",
    "smtp_password",
    "ftp_password",
)


def delivery_method(message: buyers_pb2.Delivery, where: str = "delivery") -> DeliveryMethod:
    """A delivery method with its settings in the canonical form config as code stores:
    empty values left out, a write-only secret left unset read as None (keep the stored one)."""
    settings: dict[str, Any] = {
        name: getattr(message, name)
        for name in DELIVERY_TEXT
        if name != "name" and getattr(message, name)
    }
    for name in DELIVERY_FLAGS:
        if getattr(message, name):
            settings[name] = True
    settings["timeout_seconds"] = float(message.timeout_seconds or DEFAULT_TIMEOUT_SECONDS)
    if message.smtp_port:
        settings["smtp_port"] = message.smtp_port
    auth = _enum(AuthType, message.auth, f"{where}.auth")
    if auth is not AuthType.None_:
        settings["auth"] = _AUTH_NAMES[auth]
    for name in _SECRETS:
        settings[name] = getattr(message, name) if message.HasField(name) else None
    if message.ftp_file_format:
        settings["ftp_file_format"] = message.ftp_file_format.casefold()
    settings["mappings"] = [
        {
            "param": m.param,
            **{
                k: getattr(m, k)
                for k in ("field", "constant", "format", "field_id")
                if getattr(m, k)
            },
        }
        for m in message.mappings
    ]
    settings["headers"] = [[h.name, h.value] for h in message.headers]
    settings["days"] = [
        {"weekday": d.weekday, "start": d.start, "end": d.end} for d in message.days
    ]
    if message.HasField("ping"):
        settings["ping"] = _ping_settings(message.ping, f"{where}.ping")
    return DeliveryMethod(
        type=_enum(DeliveryType, message.type, f"{where}.type"),
        lead_type_id=message.lead_type_id,
        settings={k: v for k, v in settings.items() if v not in ([], "")},
        name=message.name,
        key=message.key or None,
        enabled=message.enabled,
        lead_category_id=message.lead_category_id,
    )


def delivery_account_spec(
    message: buyers_pb2.DeliveryAccount, where: str = "account"
) -> DeliveryAccountSpec:
    def cap(name: Literal["hour_max", "day_max", "month_max"]) -> int:
        return int(getattr(message, name)) if message.HasField(name) else NO_LIMIT

    criteria = []
    for index, c in enumerate(message.criteria):
        path = f"{where}.criteria[{index}]"
        kind = _enum(CriterionType, c.type, f"{path}.type")
        criteria.append(
            Criterion(
                CriterionType.FieldValue if kind is CriterionType.Unspecified else kind,
                c.field,
                _enum(Operator, c.operator, f"{path}.operator"),
                c.value,
                c.expression,
                c.field_id,
                c.id,
            )
        )
    return DeliveryAccountSpec(
        delivery_id=message.delivery_id,
        key=message.key or None,
        description=message.description,
        price=_decimal(message.price, f"{where}.price") if message.price else Decimal("0"),
        hour_max=cap("hour_max"),
        day_max=cap("day_max"),
        month_max=cap("month_max"),
        use_order=message.use_order,
        status=_status(message.status, f"{where}.status"),
        delivery_delay_seconds=message.delivery_delay_seconds,
        redirect_url=message.redirect_url,
        automation_enabled=(
            message.automation_enabled if message.HasField("automation_enabled") else True
        ),
        account_type=_enum(AccountType, message.account_type, f"{where}.account_type"),
        agent_name=message.agent_name,
        agent_phone=message.agent_phone,
        criteria=tuple(criteria),
        offer=static_offer(message.offer, f"{where}.offer") if message.HasField("offer") else None,
    )


def moment(message: Any, name: str, where: str = "") -> datetime | None:
    """A Timestamp field as a UTC datetime, None when unset; InvalidArgument (at `where`, else
    the field's name) for one outside the years 1 to 9999 that protobuf's Timestamp allows."""
    if not message.HasField(name):
        return None
    try:
        found: datetime = getattr(message, name).ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as error:
        raise InvalidArgument([Violation(where or name, str(error))]) from None
    return found


def order_edit(message: buyers_pb2.Order, where: str = "order") -> OrderEdit:
    status = _enum(OrderStatus, message.status, f"{where}.status")
    return OrderEdit(
        id=message.id,
        client_id=message.client_id,
        key=message.key or None,
        start=moment(message, "start", f"{where}.start"),
        end=moment(message, "end", f"{where}.end"),
        status=OrderStatus.Open if status is OrderStatus.Unspecified else status,
        renewal=_enum(Renewal, message.renewal, f"{where}.renewal"),
        auto_charge=message.auto_charge,
        items=tuple(
            OrderItemEdit(
                id=max(i.id, 0),
                key=i.key or None,
                description=i.description,
                quantity=i.quantity,
                delivery_account_id=i.account_id,
            )
            for i in message.items
        ),
    )


def list_edit(message: buyers_pb2.DistributionList, where: str = "distribution_list") -> ListEdit:
    return ListEdit(
        id=message.id,
        key=message.key or None,
        lead_type_id=message.lead_type_id,
        description=message.description,
        field=message.field,
        default_client_id=message.default_client_id,
        status=_status(message.status, f"{where}.status"),
        depend_field=message.depend_field,
        depend_value=message.depend_value,
        items=tuple(ListItemEdit(i.value, i.client_id) for i in message.items),
    )


def client_group_message(group: ClientGroup) -> admin_pb2.ClientGroup:
    return admin_pb2.ClientGroup(
        name=group.name,
        client_count=group.client_count,
        id=group.id,
        display_order=group.display_order,
    )


def auction_message(
    campaign_id: int, settings: AuctionSettings
) -> distribution_pb2.CampaignAuction:
    return distribution_pb2.CampaignAuction(
        campaign_id=campaign_id,
        deadline_ms=settings.deadline_ms,
        margin_percent=decimal_text(settings.margin_percent),
        min_margin=decimal_text(settings.min_margin),
        floor=decimal_text(settings.floor),
        fresh_seconds=settings.fresh_seconds,
    )


def auction_settings(message: distribution_pb2.CampaignAuction, where: str) -> AuctionSettings:
    """A campaign's auction settings; unset numbers take their defaults, unset amounts 0."""

    def amount(name: Literal["margin_percent", "min_margin", "floor"]) -> Decimal:
        text = getattr(message, name)
        return _decimal(text, f"{where}.{name}") if text else Decimal(0)

    return AuctionSettings(
        deadline_ms=message.deadline_ms or DEFAULT_DEADLINE_MS,
        margin_percent=amount("margin_percent"),
        min_margin=amount("min_margin"),
        floor=amount("floor"),
        fresh_seconds=message.fresh_seconds or DEFAULT_FRESH_SECONDS,
    )
