"""Settings, read once from the environment and command-line overrides, then frozen."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from server.domain.billing.cards import DECLINE_RETRY_SECONDS
from server.domain.intake.limits import UNATTRIBUTED_KEPT, UNAUTHENTICATED_PER_MINUTE
from server.domain.intake.queueing import DEFAULT_MAX_QUEUED
from server.domain.visits import DEFAULT_RETENTION_DAYS, DEFAULT_VISITS_PER_MINUTE

DEFAULT_GRPC = "127.0.0.1:50051"
DEFAULT_RECEIVER = "127.0.0.1:8080"
DEFAULT_SOAP = "127.0.0.1:8081"


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


def _address(name: str, value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{name} must be HOST:PORT, got {value!r}")
    return value


def _delays(name: str, value: str) -> tuple[float, ...]:
    """Comma-separated delays in seconds, each more than 0; empty: none."""
    try:
        delays = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{name} must be seconds separated by commas, got {value!r}") from None
    if any(not 0 < d < float("inf") for d in delays):
        raise ConfigError(f"{name} must be delays of more than 0 seconds, got {value!r}")
    return delays


def _switch(name: str, value: str) -> bool:
    """On (1, true, yes, on) or off (0, false, no, off), in any case."""
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true or false), got {value!r}")


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None
    if number < 1:
        raise ConfigError(f"{name} must be at least 1, got {number}")
    return number


def default_pool_size(cores: int | None) -> int:
    """Database connections per process: twice the cores, at least 4, at most 20. More
    connections than PostgreSQL has cores to run them only add switching between backends
    and wait on each other's locks (docs/decisions.md, "Measured choices")."""
    return min(20, max(4, 2 * (cores or 2)))


@dataclass(frozen=True)
class Settings:
    """Everything the process needs to know; built once, passed down, never mutated."""

    data_dir: Path = Path("var")
    database_url: str | None = None
    grpc_address: str = DEFAULT_GRPC
    receiver_address: str = DEFAULT_RECEIVER
    soap_address: str = DEFAULT_SOAP
    max_body_bytes: int = 1024 * 1024
    public_url: str = ""  # the receiver's address as lead sources see it; empty = its own
    pool_max_size: int = field(default_factory=lambda: default_pool_size(os.cpu_count()))
    shutdown_grace_seconds: float = 5.0
    # how long distribution work (a job's step, a send past its timeout) stays leased to a
    # process before another may take it over: the recovery time after a crash
    lease_seconds: int = 30
    # posts an account may have queued by the /async URLs and not yet processed
    queue_max_posts: int = DEFAULT_MAX_QUEUED
    queue_concurrency: int = 32  # queued posts one process processes at once
    # site visits: kept this many days after their last page view, and recorded at most this
    # many per account and minute by each process (docs/visits.md)
    visit_retention_days: int = DEFAULT_RETENTION_DAYS
    visits_per_minute: int = DEFAULT_VISITS_PER_MINUTE
    # posts whose credentials did not hold (anyone can send one): logged at most this many per
    # account a minute by each process; of those naming no lead source, at most this many
    # kept, the oldest swept (docs/receiver.md, "The post log")
    unauthenticated_per_minute: int = UNAUTHENTICATED_PER_MINUTE
    unattributed_kept: int = UNATTRIBUTED_KEPT
    # a declined auto-charge is retried under a new key after each delay in turn (seconds)
    auto_charge_retry_seconds: tuple[float, ...] = DECLINE_RETRY_SECONDS
    # deliveries to buyers (HTTP, pings, SMTP, FTP) may go to private, loopback and link-local
    # addresses: off, since an account's admin sets a buyer's address (docs/decisions.md,
    # "Deliveries to private addresses"); `serve --demo` turns it on for its local buyer
    private_deliveries: bool = False
    # an account's admin may let its callbacks reach private addresses (its
    # `allow_private_callbacks`); LEADROUTER_PRIVATE_CALLBACKS=never refuses them to every
    # account, for a server shared by accounts that must not reach its network
    private_callbacks_by_account: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        settings = cls()
        if "LEADROUTER_DATA_DIR" in env:
            settings = replace(settings, data_dir=Path(env["LEADROUTER_DATA_DIR"]))
        if env.get("LEADROUTER_DATABASE_URL"):
            settings = replace(settings, database_url=env["LEADROUTER_DATABASE_URL"])
        if "LEADROUTER_GRPC" in env:
            settings = replace(
                settings, grpc_address=_address("LEADROUTER_GRPC", env["LEADROUTER_GRPC"])
            )
        if "LEADROUTER_RECEIVER" in env:
            address = _address("LEADROUTER_RECEIVER", env["LEADROUTER_RECEIVER"])
            settings = replace(settings, receiver_address=address)
        if "LEADROUTER_SOAP" in env:
            settings = replace(
                settings, soap_address=_address("LEADROUTER_SOAP", env["LEADROUTER_SOAP"])
            )
        if "LEADROUTER_MAX_BODY_BYTES" in env:
            size = _positive_int("LEADROUTER_MAX_BODY_BYTES", env["LEADROUTER_MAX_BODY_BYTES"])
            settings = replace(settings, max_body_bytes=size)
        if env.get("LEADROUTER_PUBLIC_URL"):
            settings = replace(settings, public_url=env["LEADROUTER_PUBLIC_URL"].rstrip("/"))
        if "LEADROUTER_POOL_MAX_SIZE" in env:
            size = _positive_int("LEADROUTER_POOL_MAX_SIZE", env["LEADROUTER_POOL_MAX_SIZE"])
            settings = replace(settings, pool_max_size=size)
        if "LEADROUTER_LEASE_SECONDS" in env:
            lease = _positive_int("LEADROUTER_LEASE_SECONDS", env["LEADROUTER_LEASE_SECONDS"])
            settings = replace(settings, lease_seconds=lease)
        if "LEADROUTER_QUEUE_MAX_POSTS" in env:
            most = _positive_int("LEADROUTER_QUEUE_MAX_POSTS", env["LEADROUTER_QUEUE_MAX_POSTS"])
            settings = replace(settings, queue_max_posts=most)
        if "LEADROUTER_QUEUE_CONCURRENCY" in env:
            name = "LEADROUTER_QUEUE_CONCURRENCY"
            settings = replace(settings, queue_concurrency=_positive_int(name, env[name]))
        if "LEADROUTER_VISIT_RETENTION_DAYS" in env:
            name = "LEADROUTER_VISIT_RETENTION_DAYS"
            settings = replace(settings, visit_retention_days=_positive_int(name, env[name]))
        if "LEADROUTER_VISITS_PER_MINUTE" in env:
            name = "LEADROUTER_VISITS_PER_MINUTE"
            settings = replace(settings, visits_per_minute=_positive_int(name, env[name]))
        if "LEADROUTER_UNAUTHENTICATED_POSTS_PER_MINUTE" in env:
            name = "LEADROUTER_UNAUTHENTICATED_POSTS_PER_MINUTE"
            most = _positive_int(name, env[name])
            settings = replace(settings, unauthenticated_per_minute=most)
        if "LEADROUTER_UNATTRIBUTED_POSTS_KEPT" in env:
            name = "LEADROUTER_UNATTRIBUTED_POSTS_KEPT"
            settings = replace(settings, unattributed_kept=_positive_int(name, env[name]))
        if "LEADROUTER_AUTO_CHARGE_RETRY_SECONDS" in env:
            name = "LEADROUTER_AUTO_CHARGE_RETRY_SECONDS"
            settings = replace(settings, auto_charge_retry_seconds=_delays(name, env[name]))
        if "LEADROUTER_PRIVATE_CALLBACKS" in env:
            word = env["LEADROUTER_PRIVATE_CALLBACKS"].strip().lower()
            if word not in ("account", "never"):
                raise ConfigError(
                    f"LEADROUTER_PRIVATE_CALLBACKS must be account or never, got {word!r}"
                )
            settings = replace(settings, private_callbacks_by_account=word == "account")
        if "LEADROUTER_ALLOW_PRIVATE_DELIVERIES" in env:
            name = "LEADROUTER_ALLOW_PRIVATE_DELIVERIES"
            settings = replace(settings, private_deliveries=_switch(name, env[name]))
        return settings

    def with_overrides(
        self,
        *,
        data_dir: str | None = None,
        database_url: str | None = None,
        grpc_address: str | None = None,
        receiver_address: str | None = None,
        soap_address: str | None = None,
    ) -> Settings:
        settings = self
        if data_dir is not None:
            settings = replace(settings, data_dir=Path(data_dir))
        if database_url:
            settings = replace(settings, database_url=database_url)
        if grpc_address is not None:
            settings = replace(settings, grpc_address=_address("--grpc", grpc_address))
        if receiver_address is not None:
            address = _address("--receiver", receiver_address)
            settings = replace(settings, receiver_address=address)
        if soap_address is not None:
            settings = replace(settings, soap_address=_address("--soap", soap_address))
        return settings
