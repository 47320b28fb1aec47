"""Activation extraction: stream tokenized sequences through an HF causal LM and store hook-point activations.

`extract(model, sequences, dest, hook_points=[...])` writes the layout described in `extraction_store` and returns
an `ExtractionResult`; `open_activations(dest)` reads it back lazily. Properties:
- forward hooks on the real HF modules (`lens.hooks`); with `early_stop` the forward pass is aborted as soon as
  every requested hook point has fired, so later layers and the lm_head are never computed (values unchanged);
- each batch is right-padded to its longest sequence with `pad_token_id` and masked; positions past a sequence's
  end are stored as 0; files are preallocated memory maps;
- a writer thread stores, summarizes and checkpoints batch k while the forward pass of batch k + 1 runs (on a GPU
  the copies to the host are asynchronous, into pinned memory): RAM use is bounded by three batches;
- resumable: after every completed batch the memory maps are flushed, then the running statistics and
  `progress.json` are replaced atomically. Calling `extract` again with the same dest and arguments continues
  from the last completed batch and gives files byte-identical to an uninterrupted run. Caller `metadata`,
  `early_stop`, `on_progress` and `should_stop` may differ on resume; the model's weights are not fingerprinted;
- `should_stop()` is checked before every batch: true → ExtractionCancelled, completed batches kept;
- out of memory on a batch halves the batch size and retries that batch, down to 1 (ExtractionOutOfMemory then);
- a full disk raises ExtractionDiskFull: the activation files are allocated when they are created (so that is
  where a disk too small shows up), and a disk that fills later keeps every completed batch for a resume.
"""

from __future__ import annotations

import functools
import hashlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mistudio.lens.errors import InvalidArgument, NoCapacity
from mistudio.lens.extraction_forward import (
    Batch,
    Recorder,
    check_arguments,
    forward_batch,
    input_device,
    sequence_lengths,
)
from mistudio.lens.extraction_stats import DEFAULT_SPARSITY_EPS
from mistudio.lens.extraction_store import (
    MASK_FILE,
    METADATA_FILE,
    NUMPY_DTYPES,
    PROGRESS_FILE,
    STATISTICS_FILE,
    STORAGE_DTYPES,
    Activations,
    ExtractionDiskFull,
    ExtractionRun,
    activation_file,
    is_disk_full,
    open_activations,
    saved_samples,
    write_json_atomic,
)
from mistudio.lens.hooks import parse_hook_point
from mistudio.lens.layout import layout_of
from mistudio.lens.memory import is_out_of_memory
from mistudio.lens.units import human_bytes

__all__ = ["STORAGE_DTYPES", "Activations", "ExtractionCancelled", "ExtractionDiskFull", "ExtractionOutOfMemory",
           "ExtractionProgress", "ExtractionResult", "extract", "open_activations"]

FORMAT_VERSION = 1
_TORCH_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
_HASH_CHUNK = 1 << 20
_RESERVED_METADATA = (
    "format_version", "complete", "hook_points", "layers", "hook_types", "dtype", "numpy_dtype", "shape", "samples",
    "seq_len", "d_model", "tokens", "pad_token_id", "batch_size", "final_batch_size", "batch_sizes_used",
    "oom_retries", "early_stop", "sparsity_eps", "model_type", "model_name_or_path", "num_layers", "tokens_digest",
    "timings", "versions", "files")


@dataclass
class ExtractionProgress:
    samples_done: int
    samples_total: int
    samples_per_second: float
    tokens_per_second: float
    eta_seconds: float | None
    batch_size: int


@dataclass
class ExtractionResult:
    samples: int
    seq_len: int
    hook_points: list[str]
    files: dict[str, str]  # hook point (and "attention_mask") → file name inside dest
    bytes_written: int
    seconds: float  # over every run that contributed, resumed ones included
    batch_size: int  # the final one, after any out-of-memory halving
    resumed_from: int
    statistics: dict = field(default_factory=dict)


class ExtractionCancelled(Exception):
    """should_stop() said stop; the completed batches are kept and `extract` with the same arguments resumes."""


class ExtractionOutOfMemory(NoCapacity):
    """Even a batch of one sequence does not fit in memory."""

    code = "out_of_memory"


def _tokens_digest(sequences: Any, n: int, lengths: np.ndarray) -> str:
    """A hash of the first n sequences' token ids, so a resume with other data is refused."""
    digest = hashlib.blake2b(lengths.tobytes(), digest_size=16)
    if hasattr(sequences, "tokens") and hasattr(sequences, "offsets"):
        start, end = int(sequences.offsets[0]), int(sequences.offsets[n])
        for chunk in range(start, end, _HASH_CHUNK):
            digest.update(np.asarray(sequences.tokens[chunk:min(chunk + _HASH_CHUNK, end)], dtype=np.int64).tobytes())
    else:
        for i in range(n):
            digest.update(np.asarray(sequences[i], dtype=np.int64).tobytes())
    return digest.hexdigest()


def _fingerprint(model: torch.nn.Module, points: list[str], n: int, seq_len: int, d: int, dtype: str,
                 batch_size: int, pad_token_id: int, sparsity_eps: float, digest: str) -> dict[str, Any]:
    config = getattr(model, "config", None)
    return {"hook_points": points, "samples": n, "seq_len": seq_len, "d_model": d, "dtype": dtype,
            "batch_size": batch_size, "pad_token_id": pad_token_id, "sparsity_eps": sparsity_eps,
            "tokens_digest": digest, "model_type": getattr(config, "model_type", None),
            "model_name_or_path": str(getattr(config, "_name_or_path", "") or ""),
            "num_layers": layout_of(model).num_layers}


def extract(model: torch.nn.Module, sequences: Sequence[np.ndarray] | Any, dest: Path, *, hook_points: list[str],
            batch_size: int = 32, max_samples: int | None = None, dtype: str = "fp32", pad_token_id: int = 0,
            early_stop: bool = True, on_progress: Callable[[ExtractionProgress], None] | None = None,
            should_stop: Callable[[], bool] | None = None, metadata: dict | None = None,
            sparsity_eps: float = DEFAULT_SPARSITY_EPS) -> ExtractionResult:
    """Store the activations of `hook_points` for the first `max_samples` sequences in `dest` (see module doc).

    `sequences` is a `TokenizedSequences` or any sequence of 1-D integer arrays; `metadata` (JSON-able) is merged
    into metadata.json (its keys must not clash with the ones written here). `on_progress` is called from the writer
    thread, after each batch is on disk; `should_stop` from the caller's.
    """
    points, n = check_arguments(model, sequences, hook_points, batch_size, max_samples, dtype)
    extra = dict(metadata or {})
    clashes = sorted(set(extra) & set(_RESERVED_METADATA))
    if clashes:
        raise InvalidArgument(f"metadata keys {', '.join(clashes)} are reserved for the extraction's own record",
                           details={"field": "metadata", "reserved": list(_RESERVED_METADATA)})
    lengths = sequence_lengths(sequences, n)
    seq_len = int(lengths.max())
    if seq_len == 0:
        raise InvalidArgument("every selected sequence is empty", details={"field": "sequences"})
    d = layout_of(model).d_model
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    fingerprint = _fingerprint(model, points, n, seq_len, d, dtype, batch_size, pad_token_id, sparsity_eps,
                               _tokens_digest(sequences, n, lengths))
    run = _open_run(dest, fingerprint, sparsity_eps)
    progress = run.progress
    resumed_from = progress["samples_done"]
    try:
        if not progress["complete"]:
            _write_metadata(run, extra, early_stop)
            progress["runs"] += 1
            _stream(model, sequences, lengths, run, pad_token_id, early_stop, on_progress, should_stop)
        statistics = {point: run.stats[point].result() for point in points}
        write_json_atomic(dest / STATISTICS_FILE, statistics)
        _write_metadata(run, extra, early_stop)
    except OSError as error:
        if not is_disk_full(error):
            raise
        saved = saved_samples(dest)
        raise ExtractionDiskFull(f"the disk holding {dest} is full ({error.strerror}) after {saved} of {n} samples; "
                                 "the completed batches are kept: free some space and run the same extraction again "
                                 "to resume", details={"samples_done": saved}) from error
    return ExtractionResult(samples=n, seq_len=seq_len, hook_points=points, files=run.files(),
                            bytes_written=run.bytes_written(), seconds=progress["seconds"],
                            batch_size=progress["batch_size"], resumed_from=resumed_from, statistics=statistics)


def _open_run(dest: Path, fingerprint: dict[str, Any], sparsity_eps: float) -> ExtractionRun:
    fresh = not (dest / PROGRESS_FILE).is_file()
    try:
        return ExtractionRun(dest, fingerprint, sparsity_eps)
    except OSError as error:
        if not is_disk_full(error):
            raise
        if fresh:  # nothing completed yet: give the space back
            for name in [activation_file(point) for point in fingerprint["hook_points"]] + [MASK_FILE]:
                (dest / name).unlink(missing_ok=True)
        n, seq_len, d = fingerprint["samples"], fingerprint["seq_len"], fingerprint["d_model"]
        itemsize = np.dtype(NUMPY_DTYPES[fingerprint["dtype"]]).itemsize
        needed = n * seq_len * (d * itemsize * len(fingerprint["hook_points"]) + 1)
        raise ExtractionDiskFull(f"the activations need {human_bytes(needed, 'GB')} but the disk holding {dest} is "
                                 f"full ({error.strerror}); free some space, store fewer samples or hook points, or "
                                 "use fp16/bf16 storage", details={"needed_bytes": needed}) from error


class _BatchWriter:
    """A background thread that writes finished batches, updates the statistics and checkpoints, in order, while the
    caller's thread runs the next forward pass: on a GPU the copies to host and the disk writes then overlap compute.
    At most one batch waits in the queue, so memory stays bounded by a few batches."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, name="extraction-writer", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        with torch.inference_mode():
            while (work := self.queue.get()) is not None:
                if self.error is None:  # after a failure, keep draining so the producer never blocks
                    try:
                        work()
                    except BaseException as error:  # re-raised in the caller's thread
                        self.error = error

    def submit(self, work: Callable[[], None]) -> None:
        self.raise_if_failed()
        self.queue.put(work)

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        """Wait until everything submitted is done (or failed)."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()


def _stream(model: torch.nn.Module, sequences: Any, lengths: np.ndarray, run: ExtractionRun, pad_token_id: int,
            early_stop: bool, on_progress: Callable[[ExtractionProgress], None] | None,
            should_stop: Callable[[], bool] | None) -> None:
    """The forward passes run here; everything that touches `progress` (writes, statistics, checkpoints, progress
    reports, the record of out-of-memory halvings) runs in order on the writer thread."""
    progress = run.progress
    n = run.shape[0]
    device = input_device(model)
    recorder = Recorder(model, run.points, _TORCH_DTYPES[run.fingerprint["dtype"]], early_stop)
    was_training = model.training
    model.eval()
    started, first_done, tokens_this_run = time.monotonic(), progress["samples_done"], 0
    seconds_before = progress["seconds"]

    def report() -> None:
        elapsed = max(time.monotonic() - started, 1e-9)
        rate = (progress["samples_done"] - first_done) / elapsed
        if on_progress is not None:
            on_progress(ExtractionProgress(progress["samples_done"], n, rate, tokens_this_run / elapsed,
                                           (n - progress["samples_done"]) / rate if rate > 0 else None,
                                           progress["batch_size"]))

    def record_halving(start: int, size: int) -> None:
        progress["batch_size"] = size // 2
        progress["oom_retries"].append({"at_sample": start, "from": size, "to": size // 2})
        report()

    def finish(batch: Batch) -> None:
        nonlocal tokens_this_run
        for event in batch.copied:
            event.synchronize()
        run.write(batch.start, {point: _as_numpy(values) for point, values in batch.stored.items()}, batch.mask)
        valid = torch.from_numpy(batch.mask).bool()
        for point, values in batch.values.items():
            run.stats[point].update(values[valid.to(values.device)])
        if not progress["batch_sizes_used"] or progress["batch_sizes_used"][-1] != batch.size:
            progress["batch_sizes_used"].append(batch.size)
        batch_tokens = int(lengths[batch.start:batch.end].sum())
        tokens_this_run += batch_tokens
        progress["tokens_done"] += batch_tokens
        progress["samples_done"] = batch.end
        progress["complete"] = batch.end == n
        progress["seconds"] = seconds_before + time.monotonic() - started
        run.checkpoint()
        report()

    writer = _BatchWriter()
    start, size = progress["samples_done"], progress["batch_size"]
    try:
        while start < n:
            writer.raise_if_failed()
            if should_stop is not None and should_stop():
                writer.close()
                writer.raise_if_failed()
                raise ExtractionCancelled(f"extraction cancelled after {progress['samples_done']} of {n} samples; "
                                          "call extract again with the same arguments to resume")
            end = min(start + size, n)
            try:
                batch = forward_batch(model, recorder, sequences, lengths, start, end, pad_token_id, device,
                                      run.shape[2])
            except Exception as error:
                recorder.captured.clear()
                if not is_out_of_memory(error):
                    raise
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                if size == 1:
                    raise ExtractionOutOfMemory(f"out of memory on sample {start} even with a batch size of 1; "
                                                f"free memory, use a smaller model format or shorter sequences "
                                                f"({error})") from error
                writer.submit(functools.partial(record_halving, start, size))
                size //= 2
                continue
            batch.size = size
            writer.submit(functools.partial(finish, batch))
            start = end
        writer.close()
        writer.raise_if_failed()
    finally:
        writer.close()
        recorder.remove()
        model.train(was_training)


def _as_numpy(values: torch.Tensor) -> np.ndarray:
    """A host tensor as the numpy array stored on disk (bfloat16 as its uint16 bit patterns)."""
    if values.dtype == torch.bfloat16:
        return values.view(torch.int16).numpy().view(np.uint16)
    return values.numpy()


def _write_metadata(run: ExtractionRun, extra: dict[str, Any], early_stop: bool) -> None:
    import transformers

    progress, fingerprint = run.progress, run.fingerprint
    seconds = progress["seconds"]
    layers = sorted({parse_hook_point(point)[0] for point in run.points})
    metadata: dict[str, Any] = {
        "format_version": FORMAT_VERSION, "complete": progress["complete"], "hook_points": run.points,
        "layers": layers, "hook_types": sorted({parse_hook_point(point)[1] for point in run.points}),
        "dtype": fingerprint["dtype"], "numpy_dtype": np.dtype(NUMPY_DTYPES[fingerprint["dtype"]]).name,
        "shape": list(run.shape), "samples": run.shape[0], "seq_len": run.shape[1], "d_model": run.shape[2],
        "tokens": progress["tokens_done"], "pad_token_id": fingerprint["pad_token_id"],
        "batch_size": fingerprint["batch_size"], "final_batch_size": progress["batch_size"],
        "batch_sizes_used": progress["batch_sizes_used"], "oom_retries": progress["oom_retries"],
        "early_stop": early_stop, "sparsity_eps": fingerprint["sparsity_eps"],
        "model_type": fingerprint["model_type"], "model_name_or_path": fingerprint["model_name_or_path"],
        "num_layers": fingerprint["num_layers"], "tokens_digest": fingerprint["tokens_digest"],
        "timings": {"seconds": seconds, "runs": progress["runs"],
                    "tokens_per_second": progress["tokens_done"] / seconds if seconds else None},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__},
        "files": {**run.files(), "statistics": STATISTICS_FILE},
    }
    write_json_atomic(run.dest / METADATA_FILE, {**metadata, **extra})
