"""Every error a caller can cause maps to exactly one gRPC status code."""

from __future__ import annotations

import inspect

import grpc
import pytest

from server import errors
from server.rpc.interceptor import STATUS_CODES, bearer_token, status_code

DOMAIN_ERRORS = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.LeadRouterError) and cls is not errors.LeadRouterError
]


@pytest.mark.parametrize("kind", DOMAIN_ERRORS, ids=lambda k: k.__name__)
def test_each_domain_error_has_a_status_code(kind: type[errors.LeadRouterError]) -> None:
    error = kind([errors.Violation("x", "y")]) if kind is errors.InvalidArgument else kind("m")
    assert status_code(error) not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)


def test_no_two_errors_share_a_code() -> None:
    kinds = [k for k in DOMAIN_ERRORS if k.__bases__ == (errors.LeadRouterError,)]
    assert len(set(STATUS_CODES.values())) == len(STATUS_CODES) == len(kinds)


def test_a_rolled_back_transaction_is_unavailable_like_its_parent() -> None:
    assert status_code(errors.RolledBack("m")) == grpc.StatusCode.UNAVAILABLE


def test_a_bearer_token_is_read_from_metadata() -> None:
    assert bearer_token([("x-other", "1"), ("authorization", "Bearer abc")]) == "abc"


@pytest.mark.parametrize(
    "metadata", [[], [("authorization", "Basic abc")], [("authorization", "Bearer ")]]
)
def test_a_missing_or_other_scheme_is_unauthenticated(metadata: list[tuple[str, str]]) -> None:
    with pytest.raises(errors.Unauthenticated):
        bearer_token(metadata)
