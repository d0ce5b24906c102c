"""A request's body as the post log keeps it: the posted password removed, in whichever form
it came (URL-encoded, JSON, XML, multipart/form-data), since campaigns' passwords are stored
only hashed. The rest stays as it came, byte for byte, so what a source sent can be read
back (GetPost) to find out why a lead was refused."""

from __future__ import annotations

import re

REMOVED = b"REMOVED"

_ANY = re.compile(rb"password", re.IGNORECASE)
# name=value pairs, in a URL-encoded body: up to the next pair
_PAIR = re.compile(rb"((?:^|[&;])\s*password=)[^&;]*", re.IGNORECASE)
# a JSON member: a string (escapes included) or a bare value
_MEMBER = re.compile(
    rb'("password"\s*:\s*)(?:"(?:[^"\\]|\\.)*"|[^,}\]\s]+)', re.IGNORECASE | re.DOTALL
)
# an XML element (CDATA included) or attribute
_ELEMENT = re.compile(
    rb"(<(?:[\w.-]+:)?password(?:\s[^>]*)?>).*?(</(?:[\w.-]+:)?password\s*>)",
    re.IGNORECASE | re.DOTALL,
)
_ATTRIBUTE = re.compile(rb"""(\spassword\s*=\s*)(?:"[^"]*"|'[^']*')""", re.IGNORECASE)
# a multipart part named password: its headers, a blank line, its value up to the boundary
_PART = re.compile(
    rb"""(name=(?:"password"|password)[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n).*?(\r?\n--)""",
    re.IGNORECASE | re.DOTALL,
)


def without_password(body: bytes) -> bytes:
    """The body with the value of every `password` it carries replaced by REMOVED."""
    if not _ANY.search(body):
        return body
    body = _PAIR.sub(rb"\1" + REMOVED, body)
    body = _MEMBER.sub(rb'\1"' + REMOVED + b'"', body)
    body = _ELEMENT.sub(rb"\1" + REMOVED + rb"\2", body)
    body = _ATTRIBUTE.sub(rb'\1"' + REMOVED + b'"', body)
    return _PART.sub(rb"\1" + REMOVED + rb"\2", body)
