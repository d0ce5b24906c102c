"""How much one request may hold (server/domain/intake/limits.py)."""

from __future__ import annotations

from server.domain.intake.limits import MAX_FIELDS_PER_LEAD, MAX_LEADS_PER_REQUEST, over_limits


def test_a_request_within_the_limits_passes() -> None:
    assert over_limits([MAX_FIELDS_PER_LEAD] * MAX_LEADS_PER_REQUEST) == ""
    assert over_limits([]) == ""


def test_one_lead_too_many_is_refused_with_the_count_and_the_limit() -> None:
    assert over_limits([1] * (MAX_LEADS_PER_REQUEST + 1)) == (
        f"The request holds {MAX_LEADS_PER_REQUEST + 1} leads; at most {MAX_LEADS_PER_REQUEST} "
        "may be posted in one request"
    )


def test_the_first_lead_of_too_many_fields_is_named() -> None:
    counts = [3, MAX_FIELDS_PER_LEAD + 1, MAX_FIELDS_PER_LEAD + 2]
    assert over_limits(counts) == (
        f"Lead 2 holds {MAX_FIELDS_PER_LEAD + 1} fields; at most {MAX_FIELDS_PER_LEAD} are "
        "allowed per lead"
    )
