"""Notices: the emails a sale through a delivery method sends beside its delivery (LeadExec's
EmailNotify and ClientEmail). A notification of the sale to the method's notify_email
addresses, and an email to the lead's consumer at its Email value.

Both are rendered when the sale is recorded (`sale_notices`), kept with it, and sent later
over the method's SMTP settings (`notice_email`): a notice says what was sold as it was sold,
and its transport is the method's as it stands when the notice goes out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from server.domain.delivery.render import (
    email_message,
    fill_text,
    money,
    sent_fields,
    smtp_email,
    storable,
)
from server.domain.delivery.spec import (
    DEFAULT_SENDER,
    EMAIL_ADDRESS,
    DeliverySpec,
    EmailRequest,
    LeadPayload,
    mailbox,
    split_addresses,
)

CONSUMER_SUBJECT = "Thank you for your request"  # a consumer email without a Subject line
SUBJECT_LINE = "subject:"


class NoticeKind(enum.StrEnum):
    """What a notice is; stored by these names."""

    NOTIFICATION = "notification"  # EmailNotify: to notify_email
    CONSUMER = "consumer"  # ClientEmail: to the lead's Email value

    @property
    def label(self) -> str:
        return "Notification email" if self is NoticeKind.NOTIFICATION else "Consumer email"


class NoticeState(enum.StrEnum):
    """Where a notice stands; stored by these names."""

    PENDING = "pending"  # due from its next attempt's time
    SENDING = "sending"  # leased to a process sending it
    SENT = "sent"
    FAILED = "failed"  # every attempt failed


@dataclass(frozen=True)
class Notice:
    """An email a sale sends, as rendered when the sale is recorded."""

    kind: NoticeKind
    sender: str  # the From header
    recipients: tuple[str, ...]
    subject: str
    body: str


@dataclass(frozen=True)
class Sale:
    """A sale as its notices tell it."""

    lead: LeadPayload  # its price is the price sold at
    buyer: str  # the buyer's name
    account: str  # the delivery account, as the scan log names it
    consumer: str  # the lead's Email value ("" when it has none)


def sale_notices(spec: DeliverySpec, sale: Sale) -> tuple[Notice, ...]:
    """The notices a sale through the method `spec` sends: none, one or both. No consumer email
    while the method is in testing, or when the lead's Email value is not one address."""
    notices = []
    sender = storable(spec.email_from.strip() or DEFAULT_SENDER)
    if spec.email_notify and split_addresses(spec.notify_email):
        notices.append(
            Notice(
                kind=NoticeKind.NOTIFICATION,
                sender=sender,
                recipients=tuple(split_addresses(spec.notify_email)),
                subject=storable(f"Lead {sale.lead.lead_id} delivered to {sale.buyer}"),
                body=storable(notification_body(spec, sale)),
            )
        )
    address = consumer_address(sale.consumer)
    if spec.client_email.strip() and address and not spec.in_testing:
        subject, body = consumer_message(spec, sale.lead)
        notices.append(
            Notice(
                kind=NoticeKind.CONSUMER,
                sender=sender,
                recipients=(address,),
                subject=storable(subject),
                body=storable(body),
            )
        )
    return tuple(notices)


def notification_body(spec: DeliverySpec, sale: Sale) -> str:
    """Which lead went to which buyer account at what price, and the fields as the method sent
    them (secrets masked, as in the send's log)."""
    lead = sale.lead
    lines = [
        f"Lead {lead.lead_id} was delivered to {sale.account} and sold at {money(lead.price)}.",
        "",
        f"Lead: {lead.lead_id}",
        f"Send: {lead.send_id}",
        f"Buyer: {sale.buyer}",
        f"Delivery account: {sale.account}",
        f"Price: {money(lead.price)}",
    ]
    if spec.in_testing:
        lines.append("The delivery method is in testing: the lead went to its test address.")
    lines += ["", "Fields as sent:"]
    lines += [f"{param}: {value}" for param, value in sent_fields(spec, lead)]
    return "\n".join(lines) + "\n"


def consumer_message(spec: DeliverySpec, lead: LeadPayload) -> tuple[str, str]:
    """The consumer email's subject and body: client_email filled in as an email template is;
    a first line `Subject: ...` is the subject, else CONSUMER_SUBJECT."""
    first, _, rest = spec.client_email.partition("\n")
    if first.strip().casefold().startswith(SUBJECT_LINE):
        subject = first.strip()[len(SUBJECT_LINE) :].strip()
        body = rest.lstrip("\r\n")
    else:
        subject, body = CONSUMER_SUBJECT, spec.client_email
    return fill_text(subject, spec, lead).strip() or CONSUMER_SUBJECT, fill_text(body, spec, lead)


def consumer_address(value: str) -> str:
    """The lead's Email value as the one address a consumer email goes to, or ""."""
    address = mailbox(value)
    return address if EMAIL_ADDRESS.fullmatch(address) else ""


def notice_key(notice_id: int) -> str:
    """A notice's Idempotency-Key (and, as an address, its Message-ID): the same on every
    attempt, so a mail system can drop a repeat."""
    return f"leadrouter-notice-{notice_id}"


def notice_email(notice: Notice, notice_id: int, spec: DeliverySpec) -> EmailRequest:
    """The email that sends a notice, over the SMTP settings of its delivery method `spec`."""
    message = email_message(
        notice.sender, notice.recipients, (), notice.subject, notice.body, notice_key(notice_id)
    )
    return smtp_email(spec, message, notice.sender, notice.recipients, notice.body, notice.subject)
