"""Site visits: the rules of a page view as the receiver's pixel and beacon report it.

Pure functions over plain data: a visit id's shape, a URL's host and path, the search engine
and search terms a referrer carries (docs/visits.md); the cap on the visits an account may
record per minute is a `MinuteCap` (server/domain/minute_cap.py)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

# A visit id as a page may send it back: letters, digits, `-` and `_`, at most 64 of them.
MAX_VISIT_ID = 64
_VISIT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Longest URL, referrer, user agent and visitor id kept: the rest is cut, never refused.
MAX_URL = 2048
MAX_USER_AGENT = 512
MAX_VISITOR_ID = 64
DEFAULT_RETENTION_DAYS = 90
DEFAULT_VISITS_PER_MINUTE = 6000

# Search engines by a part of their host, each with the query parameters holding the terms,
# in order of preference.
SEARCH_ENGINES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("google.", "Google", ("q", "as_q")),
    ("bing.com", "Bing", ("q",)),
    ("search.yahoo.", "Yahoo", ("p", "q")),
    ("duckduckgo.com", "DuckDuckGo", ("q",)),
    ("baidu.com", "Baidu", ("wd", "word", "kw")),
    ("yandex.", "Yandex", ("text",)),
    ("ya.ru", "Yandex", ("text",)),
    ("ecosia.org", "Ecosia", ("q",)),
    ("ask.com", "Ask", ("q",)),
    ("aol.", "AOL", ("q", "query")),
)


def new_visit_id() -> str:
    """A visit id nobody can guess: 32 hexadecimal digits."""
    return secrets.token_hex(16)


def visit_id_or_new(given: str) -> tuple[str, bool]:
    """The visit id to record under, and whether it is new: a well-formed one as given, else
    a new one (a page's pixel must never fail on a bad id)."""
    given = given.strip()
    if _VISIT_ID.fullmatch(given):
        return given, False
    return new_visit_id(), True


def valid_visit_id(given: str) -> bool:
    return _VISIT_ID.fullmatch(given) is not None


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return ""
    return host or ""


def _path(url: str) -> str:
    """The path of a URL, `/` when it has none; the text as given when it is not a URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme and not parts.netloc:
        return url
    return parts.path or "/"


@dataclass(frozen=True)
class SearchReferral:
    """The search engine a referrer is, by its friendly name, and the terms searched."""

    engine: str = ""
    terms: str = ""


def search_referral(referrer: str) -> SearchReferral:
    """The search engine and terms of a referrer; empty when it is not a known engine's."""
    host = _host(referrer).lower()
    if not host:
        return SearchReferral()
    for part, name, parameters in SEARCH_ENGINES:
        if part in host and (not part.endswith(".") or _label_start(host, part)):
            return SearchReferral(name, _terms(referrer, parameters))
    return SearchReferral()


def _label_start(host: str, part: str) -> bool:
    """`google.` counts in `www.google.co.uk` and `google.com`, not in `notgoogle.com`."""
    at = host.find(part)
    return at == 0 or host[at - 1] == "."


def _terms(url: str, parameters: tuple[str, ...]) -> str:
    try:
        query = urlsplit(url).query
    except ValueError:
        return ""
    found = dict(parse_qsl(query, keep_blank_values=False))
    for name in parameters:
        if found.get(name, "").strip():
            return " ".join(found[name].split())
    return ""


def _text(value: str, most: int) -> str:
    """A reported value as kept: without NUL (PostgreSQL's text holds none), trimmed, cut."""
    return value.replace("\x00", "").strip()[:most]


@dataclass(frozen=True)
class PageView:
    """One page view as the receiver reports it, cut to the lengths kept."""

    tracking_id: int
    visit_id: str
    page_url: str
    referrer: str
    visitor_id: str
    ip: str
    user_agent: str

    @classmethod
    def of(
        cls,
        tracking_id: int,
        visit_id: str,
        page_url: str,
        referrer: str,
        visitor_id: str,
        ip: str,
        user_agent: str,
    ) -> PageView:
        return cls(
            tracking_id,
            visit_id,
            _text(page_url, MAX_URL),
            _text(referrer, MAX_URL),
            _text(visitor_id, MAX_VISITOR_ID),
            _text(ip, 64),
            _text(user_agent, MAX_USER_AGENT),
        )

    @property
    def host(self) -> str:
        return _host(self.page_url)

    @property
    def page(self) -> str:
        return _path(self.page_url)

    @property
    def referrer_host(self) -> str:
        return _host(self.referrer)


@dataclass(frozen=True)
class Tracking:
    """A tracking setting: its public id (TrackingUID) names the account to a page's pixel."""

    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Software:
    """A user agent parsed: browser, operating system and device, by name."""

    browser: str = ""
    os: str = ""
    device: str = ""


@dataclass(frozen=True)
class VisitRecord:
    """A visit as stored: where it entered, where it is now, and who made it."""

    tracking_id: int
    visit_id: str
    enter_date: datetime
    exit_date: datetime
    user_agent: str
    ip: str
    url: str
    host: str
    enter_page: str
    exit_page: str
    referrer: str
    referrer_host: str
    search_engine: str
    search_term: str
    browser: str
    os: str
    device: str
    page_views: int
    first_visit: bool
