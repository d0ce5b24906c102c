"""How a lead is found by its contact details (SearchForLead): its email, address and primary
phone, each normalised to a key stored with the lead and indexed, so that a search compares
keys and never scans the leads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from server.domain.catalog.fields import FieldSpec, SpecialField, Value


def email_key(value: str) -> str:
    """Emails match ignoring case and surrounding blanks."""
    text = value.strip().lower()
    return f"e:{text}" if text else ""


def phone_key(value: str) -> str:
    """Phones match by their digits, a leading US country code 1 left out."""
    digits = "".join(c for c in value if c.isascii() and c.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return f"p:{digits}" if digits else ""


def address_key(value: str) -> str:
    """Addresses match ignoring case, with runs of blanks as one space."""
    text = " ".join(value.lower().split())
    return f"a:{text}" if text else ""


_KEYS = {
    SpecialField.Email: email_key,
    SpecialField.PrimaryPhone: phone_key,
    SpecialField.Address: address_key,
}


def contact_keys(fields: Sequence[FieldSpec], values: Mapping[str, Value]) -> list[str]:
    """The search keys of a lead's values: one per contact field it has a value for."""
    keys = []
    for field in fields:
        make = _KEYS.get(field.special)
        value = values.get(field.name)
        if make is not None and value is not None:
            key = make(str(value))
            if key:
                keys.append(key)
    return keys


def search_keys(email: str, address: str, phone: str) -> list[str]:
    """The keys a search asks for: every one given must match."""
    return [k for k in (email_key(email), address_key(address), phone_key(phone)) if k]
