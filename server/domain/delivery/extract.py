"""Reading named values out of a buyer's answer, declaratively: by JSON path, by XPath or by
regular expression (`read_values`).

One reader for every answer that names its fields: a ping's bid (ping.py) and, later, the
offers a buyer's answer carries. Paths:

- JSON: `$.a.b[0].c`, `a.b`, `$['a b'].c` (the leading `$` is optional). A string, number or
  boolean is read as text (true/false as `true`/`false`); an object, array or null as
  missing.
- XML: an XPath 1.0 expression (`/Bid/Price`, `//Price/text()`, `string(//@price)`); the
  first node's text or the expression's string value. An answer with a DTD reads as nothing;
  the parser resolves no entities and reads no network.
- regex: the first group of the first match, or the whole match when it has no group.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from lxml import etree

MAX_ANSWER_CHARS = 262_144  # what the HTTP client keeps of an answer at most


class AnswerFormat(enum.Enum):
    """How the paths of a set of rules read an answer."""

    JSON = "json"
    XML = "xml"
    REGEX = "regex"


_SEGMENT = re.compile(
    r"""\.(?P<name>[^.\[\]]+)|\[(?P<index>-?\d+)\]|\[(?P<q>['"])(?P<quoted>.*?)(?P=q)\]"""
)
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)


@lru_cache(maxsize=1024)
def parse_json_path(path: str) -> tuple[str | int, ...]:
    """The steps of a JSON path; ValueError when it is not one."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    if text and not text.startswith((".", "[")):
        text = "." + text
    steps: list[str | int] = []
    at = 0
    while at < len(text):
        match = _SEGMENT.match(text, at)
        if match is None:
            raise ValueError(f"{path!r} is not a JSON path (at {text[at:]!r})")
        if match.group("name") is not None:
            steps.append(match.group("name"))
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        else:
            steps.append(match.group("quoted"))
        at = match.end()
    if not steps:
        raise ValueError(f"{path!r} names no value")
    return tuple(steps)


@lru_cache(maxsize=1024)
def _xpath(expression: str) -> etree.XPath:
    return etree.XPath(expression)


def path_problem(fmt: AnswerFormat, path: str) -> str:
    """Why `path` cannot be read in `fmt` ('' when it can), for save-time checks."""
    try:
        if fmt is AnswerFormat.JSON:
            parse_json_path(path)
        elif fmt is AnswerFormat.XML:
            _xpath(path)
        else:
            re.compile(path)
    except (ValueError, etree.XPathSyntaxError, re.error) as problem:
        return f"is not a valid {fmt.value} path: {problem}"
    return ""


def read_values(fmt: AnswerFormat, body: str, paths: Mapping[str, str]) -> dict[str, str | None]:
    """Each name's value in `body` by its path (None: not found, or the body is not of the
    format). Empty paths are left out."""
    wanted = {name: path for name, path in paths.items() if path}
    if not wanted:
        return {}
    body = body[:MAX_ANSWER_CHARS]
    if fmt is AnswerFormat.REGEX:
        return {name: _regex(path, body) for name, path in wanted.items()}
    if fmt is AnswerFormat.JSON:
        try:
            document = json.loads(body)
        except ValueError:
            return dict.fromkeys(wanted)
        return {name: _json(document, path) for name, path in wanted.items()}
    try:
        root = etree.fromstring(body.encode("utf-8"), _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return dict.fromkeys(wanted)
    if root.getroottree().docinfo.doctype:  # a DTD is refused, as the SOAP gateway refuses it
        return dict.fromkeys(wanted)
    return {name: _xml(root, path) for name, path in wanted.items()}


def _regex(pattern: str, body: str) -> str | None:
    try:
        match = re.search(pattern, body)
    except re.error:
        return None
    if match is None:
        return None
    return (match.group(1) or "") if match.re.groups else match.group(0)


def _json(document: Any, path: str) -> str | None:
    try:
        steps = parse_json_path(path)
    except ValueError:
        return None
    node = document
    for step in steps:
        if isinstance(step, int) and isinstance(node, list) and -len(node) <= step < len(node):
            node = node[step]
            continue
        if not (isinstance(step, str) and isinstance(node, dict) and step in node):
            return None
        node = node[step]
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, str | int | float):
        return str(node)
    return None


def _xml(root: Any, expression: str) -> str | None:
    try:
        found = _xpath(expression)(root)
    except (etree.XPathError, etree.XPathSyntaxError):
        return None
    if isinstance(found, list):
        if not found:
            return None
        first = found[0]
        if isinstance(first, str):
            return str(first)
        if isinstance(first, etree._Element):
            return "".join(first.itertext())
        return str(first)
    if isinstance(found, bool):
        return "true" if found else "false"
    if isinstance(found, float):
        return f"{found:g}" if found == found else None  # NaN: nothing was found
    return str(found) if found != "" else None
