"""Site visits' rules: search engines and terms from referrers, page views, the minute cap,
visit ids, and user agents parsed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.adapters.user_agents import software
from server.domain.minute_cap import MinuteCap
from server.domain.visits import (
    PageView,
    SearchReferral,
    Software,
    search_referral,
    valid_visit_id,
    visit_id_or_new,
)


@pytest.mark.parametrize(
    ("referrer", "engine", "terms"),
    [
        ("https://www.google.com/search?q=auto+insurance", "Google", "auto insurance"),
        ("https://www.google.co.uk/search?hl=en&q=cheap%20cover", "Google", "cheap cover"),
        ("https://google.com/url?sa=t", "Google", ""),
        ("https://www.bing.com/search?q=term+life&form=QBLH", "Bing", "term life"),
        ("https://search.yahoo.com/search?p=home+loans", "Yahoo", "home loans"),
        ("https://duckduckgo.com/?q=solar+panels&t=h_", "DuckDuckGo", "solar panels"),
        ("https://www.baidu.com/s?wd=%E4%BF%9D%E9%99%A9", "Baidu", "保险"),
        ("https://yandex.ru/search/?text=%D0%BA%D1%80%D0%B5%D0%B4%D0%B8%D1%82", "Yandex", "кредит"),
        ("https://ya.ru/search/?text=ipoteka", "Yandex", "ipoteka"),
    ],
)
def test_a_search_engine_and_its_terms_are_read_from_the_referrer(
    referrer: str, engine: str, terms: str
) -> None:
    assert search_referral(referrer) == SearchReferral(engine, terms)


@pytest.mark.parametrize(
    "referrer",
    [
        "",
        "https://example.com/?q=not+a+search",
        "https://notgoogle.com/search?q=x",
        "https://www.googleusercontent.example/?q=x",
        "not a url",
        "http://[::1/broken",
    ],
)
def test_other_referrers_are_no_search(referrer: str) -> None:
    assert search_referral(referrer) == SearchReferral()


def test_terms_are_trimmed_and_spaces_folded() -> None:
    found = search_referral("https://www.bing.com/search?q=%20%20two%20%20%20words%20")
    assert found.terms == "two words"


def test_a_page_view_has_its_host_path_and_referrer_host() -> None:
    view = PageView.of(
        7, "v1", " https://Shop.Example.com/quote?step=2 ", "https://www.bing.com/x", "", "", ""
    )
    assert (view.host, view.page, view.referrer_host) == (
        "shop.example.com",
        "/quote",
        "www.bing.com",
    )
    assert PageView.of(7, "v1", "https://example.com", "", "", "", "").page == "/"
    assert PageView.of(7, "v1", "/relative/page", "", "", "", "").page == "/relative/page"


def test_nul_is_dropped_from_reported_values() -> None:
    view = PageView.of(7, "v1", "https://e.com/a\x00b", "r\x00", "", "", "agent\x00")
    assert (view.page_url, view.referrer, view.user_agent) == ("https://e.com/ab", "r", "agent")


def test_long_values_are_cut_not_refused() -> None:
    view = PageView.of(7, "v1", "https://e.com/" + "a" * 5000, "", "x" * 100, "", "u" * 900)
    assert (len(view.page_url), len(view.visitor_id), len(view.user_agent)) == (2048, 64, 512)


def test_visit_ids() -> None:
    assert visit_id_or_new("abc-123_X") == ("abc-123_X", False)
    made, new = visit_id_or_new("")
    assert new and valid_visit_id(made) and len(made) == 32
    assert visit_id_or_new("has space")[1]
    assert visit_id_or_new("x" * 65)[1]
    assert visit_id_or_new("<script>")[1]
    assert visit_id_or_new("") != visit_id_or_new("")


def test_the_minute_cap_counts_per_account_and_starts_again_each_minute() -> None:
    cap = MinuteCap(2)
    now = datetime(2026, 1, 5, 10, 0, 5, tzinfo=UTC)
    assert [cap.take(1, now) for _ in range(3)] == [True, True, False]
    assert cap.first_refusal(1)
    assert not cap.take(1, now) and not cap.first_refusal(1)
    assert cap.take(2, now)
    assert cap.take(1, now + timedelta(minutes=1))


def test_user_agents_are_parsed_into_browser_os_and_device() -> None:
    iphone = software(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    )
    assert (iphone.browser, iphone.os, iphone.device) == ("Mobile Safari 17", "iOS 17", "iPhone")
    chrome = software(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36"
    )
    assert (chrome.browser, chrome.os, chrome.device) == ("Chrome 120", "Windows 10", "")
    assert software("") == Software()
