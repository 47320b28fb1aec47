"""The host's resident cache on its own: least recently used first, the budget, idle unload (a fake clock)."""

from __future__ import annotations

import pytest

from mistudio.errors import NoCapacity
from mistudio.platform.host.cache import ResidentCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _load(cache: ResidentCache, key: str, size: int) -> bool:
    with cache.use(key, lambda: (object(), size, "cpu"), size) as (_value, warm):
        return warm


def test_least_recently_used_entry_is_unloaded_first_to_stay_within_the_budget() -> None:
    cache = ResidentCache(budget_bytes=100, idle_seconds=60, clock=Clock())
    assert _load(cache, "a", 40) is False and _load(cache, "b", 40) is False
    assert _load(cache, "a", 40) is True  # a is now the most recently used
    _load(cache, "c", 40)
    assert [entry["key"] for entry in cache.describe()] == ["a", "c"]
    assert cache.used_bytes() == 80


def test_an_entry_in_use_is_never_unloaded() -> None:
    cache = ResidentCache(budget_bytes=100, idle_seconds=60, clock=Clock())
    with cache.use("busy", lambda: (object(), 60, "cpu"), 60):
        _load(cache, "other", 60)  # over budget: only `other` itself could go, and it is the one just loaded
        assert "busy" in [entry["key"] for entry in cache.describe()]


def test_a_model_larger_than_the_budget_is_refused_with_the_setting_to_change() -> None:
    cache = ResidentCache(budget_bytes=100, idle_seconds=60, clock=Clock())
    with pytest.raises(NoCapacity, match="MISTUDIO_HOST_MEMORY_GB"):
        _load(cache, "huge", 101)
    assert cache.describe() == []


def test_entries_unused_for_the_idle_time_are_unloaded() -> None:
    clock = Clock()
    cache = ResidentCache(budget_bytes=100, idle_seconds=10, clock=clock)
    _load(cache, "old", 10)
    clock.now = 5
    _load(cache, "recent", 10)
    clock.now = 12
    assert cache.unload_idle() == ["old"]
    assert [entry["key"] for entry in cache.describe()] == ["recent"]
