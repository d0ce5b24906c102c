"""Settings that depend on the machine."""

from __future__ import annotations

import pytest

from server.config import ConfigError, Settings, default_pool_size


@pytest.mark.parametrize(
    ("cores", "size"), [(None, 4), (1, 4), (2, 4), (3, 6), (8, 16), (10, 20), (64, 20)]
)
def test_the_pool_is_twice_the_cores_between_4_and_20(cores: int | None, size: int) -> None:
    assert default_pool_size(cores) == size


def test_the_environment_sets_the_pool_size() -> None:
    assert Settings.from_env({"LEADROUTER_POOL_MAX_SIZE": "7"}).pool_max_size == 7
    with pytest.raises(ConfigError):
        Settings.from_env({"LEADROUTER_POOL_MAX_SIZE": "0"})


def test_the_environment_sets_the_queue_limit_and_concurrency() -> None:
    default = Settings()
    assert (default.queue_max_posts, default.queue_concurrency) == (10_000, 32)
    settings = Settings.from_env(
        {"LEADROUTER_QUEUE_MAX_POSTS": "50", "LEADROUTER_QUEUE_CONCURRENCY": "4"}
    )
    assert (settings.queue_max_posts, settings.queue_concurrency) == (50, 4)
    with pytest.raises(ConfigError):
        Settings.from_env({"LEADROUTER_QUEUE_MAX_POSTS": "none"})


def test_the_environment_sets_the_visits_retention_and_cap() -> None:
    default = Settings()
    assert (default.visit_retention_days, default.visits_per_minute) == (90, 6000)
    settings = Settings.from_env(
        {"LEADROUTER_VISIT_RETENTION_DAYS": "30", "LEADROUTER_VISITS_PER_MINUTE": "100"}
    )
    assert (settings.visit_retention_days, settings.visits_per_minute) == (30, 100)
    with pytest.raises(ConfigError):
        Settings.from_env({"LEADROUTER_VISIT_RETENTION_DAYS": "0"})


def test_the_environment_bounds_the_posts_whose_credentials_did_not_hold() -> None:
    default = Settings()
    assert (default.unauthenticated_per_minute, default.unattributed_kept) == (600, 100_000)
    settings = Settings.from_env(
        {
            "LEADROUTER_UNAUTHENTICATED_POSTS_PER_MINUTE": "60",
            "LEADROUTER_UNATTRIBUTED_POSTS_KEPT": "5000",
        }
    )
    assert (settings.unauthenticated_per_minute, settings.unattributed_kept) == (60, 5000)
    with pytest.raises(ConfigError):
        Settings.from_env({"LEADROUTER_UNATTRIBUTED_POSTS_KEPT": "0"})


def test_a_declined_auto_charge_retry_schedule() -> None:
    assert Settings().auto_charge_retry_seconds == (3600.0, 21600.0, 86400.0)
    settings = Settings.from_env({"LEADROUTER_AUTO_CHARGE_RETRY_SECONDS": "60, 600"})
    assert settings.auto_charge_retry_seconds == (60.0, 600.0)
    assert (
        Settings.from_env({"LEADROUTER_AUTO_CHARGE_RETRY_SECONDS": ""}).auto_charge_retry_seconds
        == ()
    )
    for bad in ("soon", "0", "-5", "inf", "nan"):
        with pytest.raises(ConfigError):
            Settings.from_env({"LEADROUTER_AUTO_CHARGE_RETRY_SECONDS": bad})


def test_deliveries_to_private_addresses_are_off_unless_the_environment_turns_them_on() -> None:
    assert Settings().private_deliveries is False
    name = "LEADROUTER_ALLOW_PRIVATE_DELIVERIES"
    for word, expected in (("1", True), ("TRUE", True), ("on", True), ("0", False), ("no", False)):
        assert Settings.from_env({name: word}).private_deliveries is expected
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: "sometimes"})


def test_accounts_may_allow_private_callbacks_unless_the_environment_says_never() -> None:
    assert Settings().private_callbacks_by_account is True
    name = "LEADROUTER_PRIVATE_CALLBACKS"
    assert Settings.from_env({name: "never"}).private_callbacks_by_account is False
    assert Settings.from_env({name: " Account "}).private_callbacks_by_account is True
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: "always"})
