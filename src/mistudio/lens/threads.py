"""CPU threads for work torch's intra-op pool does not cover: numpy calls, which run on the calling thread alone.

`numpy_rows(work, rows)` splits [0, rows) into one contiguous range per torch thread and runs `work(start, end)` on
each, the calling thread taking the first. numpy releases the GIL inside its kernels (argpartition, ufuncs), so the
ranges run at once. `work` must not call torch ops: from a worker thread each op would start an OpenMP team of its
own, oversubscribing the cores the caller's team already uses.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

import torch

# Fewer rows than this per range: the hand-over (~50 µs) costs more than the rows take; run them in one range.
MIN_ROWS = 64

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _workers(count: int) -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None or _pool._max_workers < count:  # noqa: SLF001 (grown when torch's thread count grows)
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="mistudio-numpy")
        return _pool


def _forget_pool() -> None:
    """A forked child has none of its parent's threads: it starts its own pool when it needs one."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


def numpy_rows(work: Callable[[int, int], None], rows: int, threads: int | None = None) -> None:
    """Run `work(start, end)` over [0, rows) in up to `threads` (default: torch's intra-op count) contiguous ranges
    at once; returns when all are done, raising the first range's error if any failed."""
    threads = torch.get_num_threads() if threads is None else threads
    ranges = max(1, min(threads, rows // MIN_ROWS))
    if ranges == 1:
        work(0, rows)
        return
    step = math.ceil(rows / ranges)
    bounds = [(start, min(start + step, rows)) for start in range(0, rows, step)]
    futures = [_workers(len(bounds) - 1).submit(work, start, end) for start, end in bounds[1:]]
    try:
        work(*bounds[0])
    finally:
        wait(futures)  # every range is done with the caller's arrays before anything returns or raises
    for future in futures:
        future.result()
