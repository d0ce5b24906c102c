"""The duplicate key: what makes two leads of a lead type the same lead.

A lead type marks some of its fields as duplicate checks. Two leads are duplicates when every
such field holds the same value, compared without surrounding blanks and ignoring case (dates
by their ISO text); a lead that posted none of them has no key and is never a duplicate. The
key is a digest, so the leads table indexes 32 bytes, not the values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime

from server.domain.catalog.fields import FieldSpec, Value


def duplicate_key(
    lead_type_id: int, fields: Sequence[FieldSpec], values: dict[str, Value]
) -> bytes | None:
    """A digest of the lead type's duplicate-check fields, or None when none was posted."""
    parts = [
        (f.name.casefold(), _canonical(values.get(f.name))) for f in fields if f.duplicate_check
    ]
    if not parts or all(value == "" for _, value in parts):
        return None
    text = json.dumps([lead_type_id, parts], separators=(",", ":"))
    return hashlib.sha256(text.encode()).digest()


def _canonical(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).strip().casefold()
