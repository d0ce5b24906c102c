"""How much one request may hold: checked before any of it is stored, so that a request within
the limits is answered lead by lead, and one past them is refused whole, with the reason.

The receiver caps the body (1 MiB) and the nesting of JSON and XML itself; these limits hold
for every caller of the lead service, gRPC included.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_LEADS_PER_REQUEST = 500
MAX_FIELDS_PER_LEAD = 500

# Posts whose credentials did not hold are what anyone may make the server store: each
# process logs at most this many per account (the reserved account 0 for those naming no
# known lead source) and minute, with at most this much of the body; those of account 0 are
# swept past this many, or past this age (docs/receiver.md, "The post log").
UNAUTHENTICATED_PER_MINUTE = 600
UNAUTHENTICATED_BODY = 2048
UNATTRIBUTED_KEPT = 100_000
UNATTRIBUTED_DAYS = 7


def over_limits(field_counts: Sequence[int]) -> str:
    """Why a request whose leads hold these numbers of fields is too large, or ""."""
    if len(field_counts) > MAX_LEADS_PER_REQUEST:
        return (
            f"The request holds {len(field_counts)} leads; at most {MAX_LEADS_PER_REQUEST} "
            "may be posted in one request"
        )
    for index, count in enumerate(field_counts):
        if count > MAX_FIELDS_PER_LEAD:
            return (
                f"Lead {index + 1} holds {count} fields; at most {MAX_FIELDS_PER_LEAD} "
                "are allowed per lead"
            )
    return ""
