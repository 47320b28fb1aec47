"""What the host keeps resident: opened models (and, next, SAEs) within a memory budget.

Each entry has a key (`model:{id}:{format}:{device}`), the bytes it really takes and when it was last used. Before a
load, the least recently used entries nobody is using are unloaded until the new one fits the budget; an entry
unused for `idle_seconds` is unloaded by the host's idle sweep. The budget is what the host may hold, whatever the
device: one number, `MISTUDIO_HOST_MEMORY_GB`.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mistudio.errors import NoCapacity
from mistudio.lens.units import human_bytes

log = logging.getLogger(__name__)

# What a loader returns: the value kept resident, the bytes it really takes, and the device it lives on.
Loaded = tuple[Any, int, str]


@dataclass
class Resident:
    key: str
    value: Any
    bytes: int
    device: str
    loaded_at: float
    last_used: float
    users: int = 0


class ResidentCache:
    """LRU within `budget_bytes`; thread-safe (the host's worker uses entries while its main thread reports them)."""

    def __init__(self, budget_bytes: int, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget_bytes = budget_bytes
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._entries: OrderedDict[str, Resident] = OrderedDict()  # oldest use first
        self._lock = threading.RLock()

    @contextmanager
    def use(self, key: str, load: Callable[[], Loaded], estimate_bytes: int) -> Iterator[tuple[Any, bool]]:
        """The value under `key`, loaded (after making room for `estimate_bytes`) if absent; yields (value, warm).

        An entry in use is never unloaded; on leaving, it becomes the most recently used."""
        with self._lock:
            entry = self._entries.get(key)
            warm = entry is not None
            dropped = [] if warm else self._make_room(estimate_bytes, for_key=key)
        if dropped:
            release_memory(any(device.startswith("cuda") for device in dropped))
        if entry is None:
            value, size, device = load()  # outside the lock: status and unload answer while a model loads
            now = self._clock()
            entry = Resident(key, value, size, device, loaded_at=now, last_used=now)
            with self._lock:
                self._entries[key] = entry
                # The estimate was low: make room after the fact.
                dropped = self._evict_until(self.budget_bytes, keep=key)
            if dropped:
                release_memory(any(device.startswith("cuda") for device in dropped))
            log.info("host loaded %s (%s)", key, human_bytes(size))
        with self._lock:
            entry.users += 1
            self._entries.move_to_end(key)
        try:
            yield entry.value, warm
        finally:
            with self._lock:
                entry.users -= 1
                entry.last_used = self._clock()
                if key in self._entries:
                    self._entries.move_to_end(key)

    def used_bytes(self) -> int:
        with self._lock:
            return sum(entry.bytes for entry in self._entries.values())

    def _make_room(self, needed: int, *, for_key: str) -> list[str]:
        """Unload least recently used entries until `needed` more bytes fit; returns the devices they were on."""
        if needed > self.budget_bytes:
            raise NoCapacity(f"{for_key} needs about {human_bytes(needed)} but the model host may hold "
                             f"{human_bytes(self.budget_bytes)} (MISTUDIO_HOST_MEMORY_GB); raise it or use a "
                             "smaller format", details={"needed_bytes": needed, "budget_bytes": self.budget_bytes})
        return self._evict_until(self.budget_bytes - needed)

    def _evict_until(self, target: int, keep: str | None = None) -> list[str]:
        devices = []
        for key in list(self._entries):  # oldest use first
            if self.used_bytes() <= target:
                break
            entry = self._entries[key]
            if entry.users == 0 and key != keep:
                devices.append(self._drop(key, "least recently used, to make room"))
        return devices

    def unload(self, matches: Callable[[Resident], bool], reason: str) -> list[str]:
        """Unload every entry `matches` selects that nobody is using; returns their keys."""
        with self._lock:
            keys = [key for key, entry in self._entries.items() if entry.users == 0 and matches(entry)]
            devices = [self._drop(key, reason) for key in keys]
        if keys:
            release_memory(any(device.startswith("cuda") for device in devices))
        return keys

    def unload_idle(self) -> list[str]:
        cutoff = self._clock() - self.idle_seconds
        return self.unload(lambda entry: entry.last_used <= cutoff, f"idle for {self.idle_seconds:g}s")

    def _drop(self, key: str, reason: str) -> str:
        entry = self._entries.pop(key)
        log.info("host unloaded %s (%s): %s", key, human_bytes(entry.bytes), reason)
        return entry.device

    def describe(self) -> list[dict[str, Any]]:
        """The resident entries, least recently used first (what `status` reports)."""
        now = self._clock()
        with self._lock:
            return [{"key": e.key, "bytes": e.bytes, "device": e.device, "users": e.users,
                     "idle_seconds": round(now - e.last_used, 3)} for e in self._entries.values()]


def release_memory(cuda: bool) -> None:
    """Give freed memory back: collect the dropped objects, and return CUDA's cached blocks to the device."""
    gc.collect()
    torch = sys.modules.get("torch")  # only a host that loaded a model has torch; never import it for this
    if cuda and torch is not None and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
