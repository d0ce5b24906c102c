"""What a delivery is: its types and settings, the lead it carries, the requests transports
send and what they get back."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.utils import parseaddr

MASK = "***"
USER_AGENT = "leadrouter"
MAX_TIMEOUT_SECONDS = 120.0
RESERVED_NAMES = ("lead_id", "send_id", "price", "ping_reference")
DEFAULT_SENDER = "leadrouter@localhost"
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
EMAIL_ADDRESS = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+")
FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
SECRET_WORDS = ("password", "passwd", "token", "apikey", "secret", "authorization")
INVALID_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
SAMPLE_VALUE = "sample"
MAX_REASON_CHARS = 500

MONEY_FORMAT = re.compile(r"(#,##)?0(\.(0+))?")
DATE_PIECE = re.compile(
    r"'[^']*'|yyyy|yy|MMMM|MMM|MM|M|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|tt|[A-Za-z]|'|[^A-Za-z']+"
)
DATE_LITERAL_LETTERS = frozenset("TZ")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EscapeFn = Callable[[str, re.Match[str]], str]  # (value, its placeholder) -> text
JSON_BARE_VALUE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?|true|false|null")


class DeliveryType(enum.IntEnum):
    """How a buyer takes its leads; values are LeadExec's numbers."""

    Unspecified = 0
    HttpPost = 1  # application/x-www-form-urlencoded body
    HttpGet = 2  # query string appended to the address
    JsonPost = 3
    XmlPost = 4
    Email = 5
    Ftp = 6


class AuthType(enum.IntEnum):
    """The HTTP authentication a buyer's endpoint wants."""

    None_ = 0
    Basic = 1
    Bearer = 2


HTTP_TYPES = frozenset(
    {DeliveryType.HttpPost, DeliveryType.HttpGet, DeliveryType.JsonPost, DeliveryType.XmlPost}
)
TEMPLATE_TYPES = frozenset({DeliveryType.JsonPost, DeliveryType.XmlPost, DeliveryType.Email})
FTP_FILE_FORMATS = ("csv", "xml")


@dataclass(frozen=True)
class FieldMapping:
    """One buyer parameter: the lead field it takes (ignoring case) or a constant value.

    When both are set the constant is used for a lead whose field is empty. `format` reshapes
    the value: see `format_value`.
    """

    param: str
    field: str = ""
    constant: str = ""
    format: str = ""


@dataclass(frozen=True)
class ResponseRules:
    """How to read a buyer's answer.

    Accepted when `search` occurs in the body (ignoring case; a regular expression searched
    as written when `use_regex`), or on any 2xx status when `search` is empty. The other
    three are regular expressions whose first group (or whole match) gives the price, the
    redirect URL and the reason.
    """

    search: str = ""
    use_regex: bool = False
    price_search: str = ""
    redirect_search: str = ""
    reason_search: str = ""


DEFAULT_PING_TIMEOUT_MS = 500
PING_TYPES = frozenset(
    {DeliveryType.HttpPost, DeliveryType.HttpGet, DeliveryType.JsonPost, DeliveryType.XmlPost}
)


@dataclass(frozen=True)
class PingAnswerRules:
    """How to read a buyer's ping answer: paths in `format` (json, xml or regex; see
    extract.py) to whether it bids, its bid, its ping reference and its reason.

    Accepted when the status is 2xx and: the `accepted` path's value equals `accepted_value`
    (ignoring case) when that is set, or else is one of true, yes, 1, ok, accepted, success;
    with no `accepted` path, when a bid price was read. A regex `accepted` path accepts by
    matching when `accepted_value` is empty.
    """

    format: str = "json"
    accepted: str = ""
    accepted_value: str = ""
    price: str = ""
    reference: str = ""
    reason: str = ""
    # a dynamic offer: (an offer field of StaticOffer, its path), the non-empty ones
    offer: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PingSpec:
    """A delivery method's ping: the request that asks a buyer for a bid before the post, and
    how its answer is read. Its auth and the method's headers are the post's; `headers` adds
    to them. Margins and floor override the campaign's for this buyer (None: the campaign's)."""

    type: DeliveryType
    address: str
    mappings: tuple[FieldMapping, ...] = ()
    template: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    timeout_ms: int = DEFAULT_PING_TIMEOUT_MS
    answer: PingAnswerRules = PingAnswerRules()
    margin_percent: Decimal | None = None
    min_margin: Decimal | None = None
    floor: Decimal | None = None


@dataclass(frozen=True)
class DeliverySpec:
    """A buyer's delivery settings."""

    type: DeliveryType
    address: str = ""
    mappings: tuple[FieldMapping, ...] = ()
    template: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    auth: AuthType = AuthType.None_
    username: str = ""
    password: str = ""  # the Basic password or the Bearer token
    timeout_seconds: float = 30.0
    email_to: str = ""  # comma-separated, as are cc and bcc
    email_cc: str = ""
    email_bcc: str = ""
    email_from: str = ""
    email_subject: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    ftp_username: str = ""
    ftp_password: str = ""
    ftp_file_format: str = "csv"
    in_testing: bool = False
    test_address: str = ""  # a URL, or email addresses for Email
    response: ResponseRules = ResponseRules()
    # notices, emails a sale through this method sends beside its delivery (any type), with
    # the SMTP settings and email_from above
    email_notify: bool = False  # a notification to notify_email
    notify_email: str = ""  # comma-separated, as email_to
    client_email: str = ""  # the body of an email to the lead's Email value; "" sends none
    ping: PingSpec | None = None  # asks the buyer for a bid before the post (ping-post)


@dataclass(frozen=True)
class LeadPayload:
    """The lead being sent: its stored values as strings, keyed by field name."""

    lead_id: int
    send_id: int
    price: Decimal
    values: Mapping[str, str]
    ping_reference: str = ""  # the buyer's reference from its ping answer, for the post


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request to send; `log_url` and `log_body` are the same with secrets masked."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    content_type: str
    timeout_seconds: float
    follow_redirects: bool
    log_url: str
    log_body: bytes


@dataclass(frozen=True)
class EmailRequest:
    """An email to send over SMTP; `log_body` and `log_subject` have secrets masked."""

    message: EmailMessage
    sender: str
    recipients: tuple[str, ...]  # To, Cc and Bcc: the envelope
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: str
    starttls: bool
    timeout_seconds: float
    log_body: str
    log_subject: str


@dataclass(frozen=True)
class FtpUpload:
    """A file to store on an FTP server; `log_content` is the file with secrets masked."""

    host: str
    port: int
    directory: str
    filename: str
    content: bytes
    username: str
    password: str
    timeout_seconds: float
    log_content: bytes


Rendered = HttpRequest | EmailRequest | FtpUpload


@dataclass(frozen=True)
class TransportResult:
    """What a transport got back. A non-empty `error` is a transport failure worth a retry
    (refused, timed out, DNS, an SMTP or FTP error), not a buyer's answer, unless `refused`:
    the address may not be called (server/domain/addresses.py), and nothing was sent."""

    status: int | None
    body: str
    elapsed_ms: float
    error: str = ""
    refused: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.error)


@dataclass(frozen=True)
class Outcome:
    """A buyer's answer, read by its response rules."""

    accepted: bool
    price: Decimal | None = None
    redirect_url: str = ""
    reason: str = ""


def mailbox(address: str) -> str:
    """The bare address of `Name <user@host>` or `user@host`."""
    return parseaddr(address)[1] if "<" in address else address.strip()


def split_addresses(addresses: str) -> list[str]:
    """The addresses of a comma- (or semicolon-) separated list, blanks dropped."""
    return [part.strip() for part in re.split(r"[,;]", addresses) if part.strip()]
