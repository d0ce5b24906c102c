"""The post log keeps a request's body with its password removed, in every form a post
comes in, and everything else byte for byte."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.intake.post_bodies import without_password


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        (
            b"vid=1&lid=2&password=s%26cret&FirstName=Ann",
            b"vid=1&lid=2&password=REMOVED&FirstName=Ann",
        ),
        (b"Password=s3cret", b"Password=REMOVED"),
        (
            b'{"source": {"vid": 1, "Password": "a\\"b"}, "leads": []}',
            b'{"source": {"vid": 1, "Password": "REMOVED"}, "leads": []}',
        ),
        (b'{"password": 1234, "FirstName": "Ann"}', b'{"password": "REMOVED", "FirstName": "Ann"}'),
        (
            b"<Leads><Password>x&amp;y</Password><password><![CDATA[z]]></password></Leads>",
            b"<Leads><Password>REMOVED</Password><password>REMOVED</password></Leads>",
        ),
        (b'<source vid="1" password="pw"/>', b'<source vid="1" password="REMOVED"/>'),
        (
            b'--B\r\nContent-Disposition: form-data; name="password"\r\n\r\nsecret\r\n'
            b'--B\r\nContent-Disposition: form-data; name="FirstName"\r\n\r\nAnn\r\n--B--\r\n',
            b'--B\r\nContent-Disposition: form-data; name="password"\r\n\r\nREMOVED\r\n'
            b'--B\r\nContent-Disposition: form-data; name="FirstName"\r\n\r\nAnn\r\n--B--\r\n',
        ),
    ],
)
def test_the_password_is_removed_in_every_form(body: bytes, kept: bytes) -> None:
    assert without_password(body) == kept


@pytest.mark.parametrize(
    "body",
    [
        b"FirstName=Ann&Comments=my+password+is+long",  # the word, not the field
        b'{"Comments": "password: none"}',
        b"<Comments>password</Comments>",
        b"",
    ],
)
def test_a_body_without_a_password_field_is_kept_as_it_came(body: bytes) -> None:
    assert without_password(body) == body


@given(
    password=st.text(min_size=1, max_size=40).filter(lambda p: "REMOVED" not in p),
    fields=st.dictionaries(st.sampled_from(["FirstName", "Zip", "Email"]), st.text(max_size=20)),
)
def test_a_json_post_keeps_every_value_but_the_password(
    password: str, fields: dict[str, str]
) -> None:
    posted = {"vid": "1", "password": password, **fields}
    kept = json.loads(without_password(json.dumps(posted).encode()))
    assert kept == {**posted, "password": "REMOVED"}
