"""The async URLs' rules (server/domain/intake/queueing.py) and a queued request as stored."""

from __future__ import annotations

import pytest

from server.domain.intake.queueing import MAX_RETURN_URL, queue_full, return_url_refusal
from server.domain.intake.screening import SaleKind
from server.services.intake.queueing import QueuedRequest, queued_request, request_document
from server.services.intake.requests import PostedLead, Submission


@pytest.mark.parametrize(
    "url", ["", "https://source.example/done", "http://10.0.0.1:8080/cb?id=7&x=%20"]
)
def test_a_web_url_or_none_is_a_fine_returnurl(url: str) -> None:
    assert return_url_refusal(url) == ""


@pytest.mark.parametrize(
    "url",
    [
        "ftp://source.example/x",
        "/relative/path",
        "javascript:alert(1)",
        "https://",
        " https://a.b/",
    ],
)
def test_a_returnurl_that_is_no_web_url_is_refused_by_name(url: str) -> None:
    assert return_url_refusal(url).startswith("returnurl must be an absolute http or https URL")


def test_a_returnurl_too_long_is_refused() -> None:
    url = "https://a.example/" + "x" * MAX_RETURN_URL
    assert "at most 2048" in return_url_refusal(url)


def test_a_full_queue_says_its_limit() -> None:
    assert queue_full(10_000).startswith("Not queued: the account has 10000 posts waiting")


def test_a_queued_request_reads_back_as_posted_with_its_credentials_apart() -> None:
    submission = Submission(
        vid="1",
        lid="2",
        aid="3",
        password="secret\x00with nul",
        api_key="key",
        send_delay_hours="1.5",
        leads=(
            PostedLead("ref", True, (("Email", "a@b.c"), ("Note", "é\x00")), (("IvrNumber", "8"),)),
            PostedLead(fields=(("Email", "d@e.f"),)),
        ),
        remote_ip="10.1.2.3",
        request_format="xml",
        raw_request=b"<Leads/>",
        sale_kind=SaleKind.Call,
        order_id="7cef1c61-916c-4ea8-b79f-5572e73c4602",
    )
    request = QueuedRequest(submission, wait_for_sends=True, return_url="https://a.example/")
    document, credentials = request_document(request)
    assert b"secret" not in document and b"key" not in document and b"<Leads/>" not in document
    read = queued_request(document, credentials, "post-1")
    assert read.submission.raw_request == b""
    assert read.submission.request_post_id == "post-1"
    assert read == QueuedRequest(
        Submission(**{**submission.__dict__, "raw_request": b"", "request_post_id": "post-1"}),
        wait_for_sends=True,
        return_url="https://a.example/",
    )


def test_a_processed_request_without_credentials_reads_back_without_them() -> None:
    document, _ = request_document(QueuedRequest(Submission(vid="1", password="p")))
    assert queued_request(document, b"", "post-1").submission.password == ""
