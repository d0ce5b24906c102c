"""API keys and password hashes."""

from __future__ import annotations

import hashlib
import re

import pytest

from server.domain.secrets import (
    hash_password,
    key_digest,
    key_matches,
    key_prefix,
    new_api_key,
    password_matches,
)


@pytest.fixture(scope="module")
def stored_hash() -> str:
    return hash_password("correct horse battery staple")


def test_new_key_has_mark_prefix_and_long_secret() -> None:
    key = new_api_key()
    assert re.fullmatch(r"lr_[a-z2-7]{8}_[A-Za-z0-9_-]{43}", key.secret)
    assert key.secret.startswith(f"lr_{key.prefix}_")


def test_new_key_prefix_is_read_back_from_the_secret() -> None:
    key = new_api_key()
    assert key_prefix(key.secret) == key.prefix


def test_new_keys_differ() -> None:
    first, second = new_api_key(), new_api_key()
    assert first.prefix != second.prefix
    assert first.secret != second.secret


def test_new_key_digest_is_sha256_of_the_whole_key() -> None:
    key = new_api_key()
    assert key.digest == hashlib.sha256(key.secret.encode()).digest()
    assert key_digest(key.secret) == key.digest


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "lr_abcdefgh",
        "xx_abcdefgh_" + "a" * 43,
        "lr_abcdefg_" + "a" * 43,
        "lr_abcdefghi_" + "a" * 43,
        "lr_abcdefgh_" + "a" * 31,
        "Bearer lr_abcdefgh_" + "a" * 43,
        "lr_abc\x00efgh_" + "a" * 43,  # the prefix is looked up: the database refuses NUL
        "lr_abc-efgh_" + "a" * 43,
    ],
)
def test_malformed_keys_have_no_prefix(presented: str) -> None:
    assert key_prefix(presented) is None


def test_key_matches_its_own_digest() -> None:
    key = new_api_key()
    assert key_matches(key.secret, key.digest) is True


def test_key_does_not_match_another_keys_digest() -> None:
    key, other = new_api_key(), new_api_key()
    assert key_matches(key.secret, other.digest) is False


def test_key_differing_in_one_character_does_not_match() -> None:
    key = new_api_key()
    altered = key.secret[:-1] + ("A" if key.secret[-1] != "A" else "B")
    assert key_matches(altered, key.digest) is False


def test_password_round_trips(stored_hash: str) -> None:
    assert stored_hash.startswith("scrypt$16384$8$1$")
    assert password_matches("correct horse battery staple", stored_hash) is True


def test_wrong_password_does_not_match(stored_hash: str) -> None:
    assert password_matches("correct horse battery stapler", stored_hash) is False


def test_same_password_hashes_with_different_salts() -> None:
    first, second = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert first.split("$")[4] != second.split("$")[4]
    assert first != second


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain-text-password",
        "bcrypt$16384$8$1$AAAA$AAAA",
        "scrypt$16384$8$1$not base64!$AAAA",
        "scrypt$sixteen$8$1$AAAA$AAAA",
        "scrypt$3$8$1$AAAA$AAAA",
        "scrypt$16384$8$1$AAAA$",
        "scrypt$16384$8$1$AAAA$AAAA$extra",
    ],
)
def test_garbage_stored_hash_does_not_match(stored: str) -> None:
    assert password_matches("anything", stored) is False


@pytest.mark.parametrize(
    "stored",
    ["scrypt$16384$-1$1$AAAA$AAAA", "scrypt$16384$8$99999999999999999999$AAAA$AAAA"],
)
def test_stored_hash_with_out_of_range_parameters_does_not_match(stored: str) -> None:
    assert password_matches("anything", stored) is False
