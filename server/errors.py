"""Errors a caller can cause. Each gateway maps every class here to its own protocol once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class LeadRouterError(Exception):
    """Base of every error leadrouter reports to a caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Violation:
    """One invalid value: where it is (a path such as `sources[0].campaigns[1].day_max`) and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class InvalidArgument(LeadRouterError):
    """The request is malformed or breaks a validation rule; lists every violation found."""

    def __init__(self, violations: Sequence[Violation] | str) -> None:
        if isinstance(violations, str):
            violations = [Violation("", violations)]
        self.violations = tuple(violations)
        super().__init__("; ".join(str(v) for v in self.violations))


class NotFound(LeadRouterError):
    """The entity does not exist in the caller's account."""


class AlreadyExists(LeadRouterError):
    """A unique name, key or user name is already taken."""


class FailedPrecondition(LeadRouterError):
    """The change is valid on its own but conflicts with other data (e.g. a field still in use)."""


class Unauthenticated(LeadRouterError):
    """No credentials, or credentials that match no live key."""


class PermissionDenied(LeadRouterError):
    """The credentials are valid but do not allow this operation."""


class TooManyAttempts(LeadRouterError):
    """Too many failed attempts in a short time: the caller must wait before trying again."""


class StorageUnavailable(LeadRouterError):
    """The database cannot be reached; the request may be retried."""


class RolledBack(StorageUnavailable):
    """PostgreSQL rolled the transaction back to break a deadlock or a serialization
    conflict; taking the same use case again normally succeeds."""
