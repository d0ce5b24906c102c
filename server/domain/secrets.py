"""API keys and passwords: generated at random, stored only as hashes, compared in constant time.

An API key looks like `lr_<prefix>_<secret>`. The prefix is public: it finds the stored row
and tells keys apart in listings. Only the SHA-256 of the whole key is stored; keys carry 256
bits of randomness, so a fast hash is enough. Passwords are chosen by people and are hashed
with scrypt and a per-password salt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_MARK = "lr"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True)
class NewKey:
    prefix: str
    secret: str  # the whole key, shown to its owner once
    digest: bytes


def new_api_key() -> NewKey:
    prefix = base64.b32encode(secrets.token_bytes(5)).decode().lower()
    secret = f"{KEY_MARK}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(prefix=prefix, secret=secret, digest=key_digest(secret))


def key_prefix(presented: str) -> str | None:
    """The prefix of a well-formed key, or None for anything else."""
    mark, sep, rest = presented.partition("_")
    prefix, sep2, body = rest.partition("_")
    if mark != KEY_MARK or not sep or not sep2 or len(prefix) != 8 or len(body) < 32:
        return None
    if not (prefix.isascii() and prefix.isalnum()):  # issued prefixes are base32
        return None
    return prefix


def key_digest(presented: str) -> bytes:
    return hashlib.sha256(presented.encode()).digest()


def key_matches(presented: str, stored_digest: bytes) -> bool:
    return hmac.compare_digest(key_digest(presented), stored_digest)


# Checked when there is no stored hash to check a password against (a user name without a
# password, an update naming no lead), so that a refusal takes as long either way: a fixed
# scrypt hash with the cost of real ones, not made when the server starts (made once per
# Portal, one per test server too, it cost 47 ms each).
DUMMY_HASH = (
    "scrypt$16384$8$1$AThF90mQ7hDhsyfVxckCQA==$cH5lOk+0wrhmvGtGmY0UKBoVFONUPWHsRGS3iBr9K98F1y8v"
    "SLW4pZMQG5er9jHzp0WZ1b6UscAbRu8toaacpQ=="
)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return "$".join(
        ["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)]
    )


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError, OverflowError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
