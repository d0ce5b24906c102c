"""HTML forms as both gateways read them: URL-encoded (`name=value&...`) and
`multipart/form-data`, each into its names and values in order, and text that is not UTF-8
read as Windows-1252.

The receiver's posts (gateways/receiver/forms.py) and service.asmx's HTTP POST form
(gateways/soap/app.py) read forms so: ASP.NET (LeadExec) reads both kinds of form alike, and
PHP's cURL sends multipart/form-data when its fields are given as an array.
"""

from __future__ import annotations

import codecs
import logging
from urllib.parse import unquote_to_bytes

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

# python-multipart logs a warning for each malformed body before raising; the refusal is
# answered (and a post's logged) already, and a poster could otherwise fill the server's log.
logging.getLogger("python_multipart.multipart").setLevel(logging.ERROR)


class FormError(ValueError):
    """A multipart/form-data body that does not parse."""


def urlencoded_pairs(body: bytes) -> list[tuple[str, str]]:
    """A URL-encoded form's names and values, in order: `+` is a space and `%XX` a byte,
    each name and value decoded by `text`; the body trimmed first, pairs with an empty name
    dropped."""
    pairs = []
    for part in body.strip().split(b"&"):
        name, _, value = part.partition(b"=")
        if name:
            pairs.append((_form_text(name), _form_text(value)))
    return pairs


def _form_text(raw: bytes) -> str:
    return text(unquote_to_bytes(raw.replace(b"+", b" ")))


def multipart_boundary(content_type: str | None) -> bytes | None:
    """The boundary of a `multipart/form-data` Content-Type; None for any other type, or for
    one without a boundary."""
    if not content_type or "multipart/" not in content_type.lower():
        return None
    media, options = parse_options_header(content_type)
    if media != b"multipart/form-data":
        return None
    return options.get(b"boundary") or None


def multipart_pairs(body: bytes, boundary: bytes) -> list[tuple[str, str]]:
    """Each part's name (its Content-Disposition's) and its content, decoded by `text`, in
    order; a file part's too. A part without a name is dropped, as an empty name in a
    URL-encoded form. Raises FormError for a body that does not parse or ends before its
    closing boundary."""
    pairs: list[tuple[str, str]] = []
    headers: list[tuple[bytes, bytes]] = []
    header = [b"", b""]
    data: list[bytes] = []

    def on_part_begin() -> None:
        headers.clear()
        data.clear()

    def on_header_field(chunk: bytes, start: int, end: int) -> None:
        header[0] += chunk[start:end]

    def on_header_value(chunk: bytes, start: int, end: int) -> None:
        header[1] += chunk[start:end]

    def on_header_end() -> None:
        headers.append((header[0].strip().lower(), header[1].strip()))
        header[:] = [b"", b""]

    def on_part_data(chunk: bytes, start: int, end: int) -> None:
        data.append(chunk[start:end])

    def on_part_end() -> None:
        disposition = next((v for k, v in headers if k == b"content-disposition"), b"")
        name = parse_options_header(disposition)[1].get(b"name", b"")
        if name:
            pairs.append((text(name), text(b"".join(data))))

    try:
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": on_part_begin,
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
                "on_part_data": on_part_data,
                "on_part_end": on_part_end,
            },
        )
        parser.write(body)
    except (MultipartParseError, ValueError) as error:  # ValueError: a boundary too long
        raise FormError(str(error)) from None
    if parser.state != MultipartState.END:
        raise FormError("the body ends before its closing boundary")
    return pairs


def text(raw: bytes) -> str:
    """Bytes as UTF-8 text, or as Windows-1252 when they are not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return windows_1252(raw)


def windows_1252(raw: bytes) -> str:
    """Text that is not UTF-8, read as Windows programs and browsers write it: Windows-1252,
    which the WHATWG encoding standard reads for every Latin-1 label too (byte 0x92 is a
    right quotation mark, not the control character Latin-1 makes of it). Its five
    unassigned bytes are read as Latin-1 reads them."""
    return raw.decode("cp1252", errors=_AS_LATIN_1)


def _as_latin_1(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


_AS_LATIN_1 = "leadrouter-as-latin-1"
codecs.register_error(_AS_LATIN_1, _as_latin_1)
