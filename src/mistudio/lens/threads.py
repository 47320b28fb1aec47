"""CPU threads: small torch ops on one thread (`one_thread`), and numpy work, which torch's intra-op pool does not
cover, over several (`numpy_rows`).

`numpy_rows(work, rows)` splits [0, rows) into one contiguous range per torch thread and runs `work(start, end)` on
each, the calling thread taking the first. numpy releases the GIL inside its kernels (argpartition, ufuncs), so the
ranges run at once. `work` must not call torch ops: from a worker thread each op would start an OpenMP team of its
own, oversubscribing the cores the caller's team already uses.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager

import torch


@contextmanager
def one_thread(device: torch.device) -> Iterator[None]:
    """Run small torch ops on one CPU thread (torch's intra-op threads restored after): a feature batch's bookkeeping,
    a training step's index work.

    Such ops are many (~90 a feature batch) and small (a batch's active entries, the [top_k, width] selection):
    threads gain little on them, and on a busy CPU every multi-threaded op waits for the pool's slowest thread, ~15 ms
    an op with 2 threads on 2 loaded cores, 12× the whole bookkeeping's single-thread time (benchmarks/README.md,
    Features)."""
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# Fewer rows than this per range: the hand-over (~50 µs) costs more than the rows take; run them in one range.
MIN_ROWS = 64

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def workers(count: int) -> ThreadPoolExecutor:
    """The process's pool of numpy threads, with at least `count` of them (the same rule as `numpy_rows`: numpy
    work only)."""
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
    futures = [workers(len(bounds) - 1).submit(work, start, end) for start, end in bounds[1:]]
    try:
        work(*bounds[0])
    finally:
        wait(futures)  # every range is done with the caller's arrays before anything returns or raises
    for future in futures:
        future.result()
