"""A browser's user agent parsed into browser, operating system and device, by ua-parser
(uap-python, the maintained port of the uap-core rules)."""

from __future__ import annotations

from functools import lru_cache

from ua_parser import parse

from server.domain.visits import Software

UNKNOWN = "Other"


def _named(family: str | None, major: str | None) -> str:
    if not family or family == UNKNOWN:
        return ""
    return f"{family} {major}" if major else family


@lru_cache(maxsize=4096)
def software(user_agent: str) -> Software:
    """What the user agent says of the browser (with its major version), the operating
    system and the device; empty names for what it does not say. A site's visitors use few
    distinct user agents: the answers are cached."""
    if not user_agent:
        return Software()
    found = parse(user_agent)
    browser = found.user_agent
    os = found.os
    device = found.device
    return Software(
        browser=_named(browser.family, browser.major) if browser else "",
        os=_named(os.family, os.major) if os else "",
        device="" if device is None or device.family == UNKNOWN else device.family,
    )
