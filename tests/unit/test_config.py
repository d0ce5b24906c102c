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
