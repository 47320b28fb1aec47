"""The on-disk layout of an extraction and `open_activations`, which reads it back lazily.

A folder holds, for every hook point `blocks.{i}.{hook}`, `layer_{i}_{hook}.npy` of shape [samples, seq_len, d]
(standard .npy, memory-mapped), `attention_mask.npy` [samples, seq_len] uint8 (1 = a real token; masked
positions are stored as 0 in every activation file), `metadata.json` and `statistics.json`.

Storage dtypes: fp32 → float32, fp16 → float16, bf16 → the raw bfloat16 bit patterns as uint16 (numpy has no
bfloat16). `Activations[point]` returns a plain `np.memmap` for fp32/fp16 and a `BFloat16Array` for bf16: a
lazy float32 view that decodes only the slice you index (`.raw` is the uint16 memmap).
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.extraction_stats import RunningStatistics

STORAGE_DTYPES: tuple[str, ...] = ("fp32", "fp16", "bf16")
NUMPY_DTYPES: dict[str, type] = {"fp32": np.float32, "fp16": np.float16, "bf16": np.uint16}
MASK_FILE = "attention_mask.npy"
METADATA_FILE = "metadata.json"
STATISTICS_FILE = "statistics.json"
PROGRESS_FILE = "progress.json"


class ExtractionDiskFull(InvalidArgument):
    """The data disk filled up; every batch completed before it is kept and the same call resumes."""

    code = "disk_full"


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def saved_samples(dest: Path) -> int:
    """Samples a resume of the extraction in `dest` will find done: what its last checkpoint on disk says."""
    try:
        return int(json.loads((dest / PROGRESS_FILE).read_text())["samples_done"])
    except (OSError, ValueError, KeyError):
        return 0


def _reserve(path: Path) -> None:
    """Allocate a new memmap's blocks now, so a full disk fails here with ENOSPC rather than later with a SIGBUS
    when a page of the sparse file is first written (where the file system supports it)."""
    with open(path, "r+b") as handle:
        try:
            os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)
        except OSError as error:
            if is_disk_full(error):
                raise
            # EOPNOTSUPP / EINVAL: this file system cannot reserve space; writes will find out instead


def activation_file(hook_point: str) -> str:
    """`blocks.3.resid_post` → `layer_3_resid_post.npy`."""
    _, layer, hook = hook_point.split(".")
    return f"layer_{layer}_{hook}.npy"


def write_json_atomic(path: Path, value: Any) -> None:
    """Write JSON next to `path` and rename it into place, so a reader (or a crash) sees the old or the new file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(value, indent=1))
    os.replace(temporary, path)


def bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """uint16 bfloat16 bit patterns → float32 values (exact: bfloat16 is the top half of a float32)."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


class BFloat16Array:
    """A read-only float32 view of a bf16 activation file: indexing decodes just the selected elements."""

    dtype = np.dtype(np.float32)

    def __init__(self, raw: np.memmap) -> None:
        self.raw = raw

    @property
    def shape(self) -> tuple[int, ...]:
        return self.raw.shape

    @property
    def ndim(self) -> int:
        return self.raw.ndim

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, key: Any) -> np.ndarray:
        return bf16_bits_to_float32(self.raw[key])

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        values = bf16_bits_to_float32(self.raw)
        return values if dtype is None else values.astype(dtype)


class Activations:
    """An extraction folder opened lazily: arrays are memory-mapped on first access, nothing is read up front."""

    def __init__(self, dest: Path) -> None:
        self.dest = Path(dest)
        metadata_path = self.dest / METADATA_FILE
        if not metadata_path.is_file():
            raise InvalidArgument(f"{self.dest} is not an extraction folder: it has no {METADATA_FILE}")
        self.metadata: dict[str, Any] = json.loads(metadata_path.read_text())
        self.hook_points: list[str] = list(self.metadata["hook_points"])
        self._arrays: dict[str, Any] = {}
        self._statistics: dict[str, Any] | None = None

    @property
    def complete(self) -> bool:
        return bool(self.metadata.get("complete"))

    @property
    def statistics(self) -> dict[str, Any]:
        """statistics.json ({} until the extraction has finished)."""
        if self._statistics is None:
            path = self.dest / STATISTICS_FILE
            self._statistics = json.loads(path.read_text()) if path.is_file() else {}
        return self._statistics

    @property
    def attention_mask(self) -> np.memmap:
        return np.load(self.dest / MASK_FILE, mmap_mode="r")

    def __getitem__(self, hook_point: str) -> Any:
        if hook_point not in self.hook_points:
            raise KeyError(f"{hook_point!r} was not extracted here; hook points: {', '.join(self.hook_points)}")
        if hook_point not in self._arrays:
            raw = np.load(self.dest / activation_file(hook_point), mmap_mode="r")
            self._arrays[hook_point] = BFloat16Array(raw) if self.metadata["dtype"] == "bf16" else raw
        return self._arrays[hook_point]

    def __contains__(self, hook_point: object) -> bool:
        return hook_point in self.hook_points

    def __len__(self) -> int:
        return int(self.metadata["samples"])

    def __repr__(self) -> str:
        return (f"Activations({str(self.dest)!r}, samples={len(self)}, seq_len={self.metadata['seq_len']}, "
                f"d={self.metadata['d_model']}, dtype={self.metadata['dtype']}, hook_points={self.hook_points})")


class ExtractionRun:
    """One call of `extract`: files, running statistics and the progress checkpoint."""

    def __init__(self, dest: Path, fingerprint: dict[str, Any], sparsity_eps: float) -> None:
        self.dest, self.fingerprint = dest, fingerprint
        self.points: list[str] = fingerprint["hook_points"]
        n, seq_len, d = fingerprint["samples"], fingerprint["seq_len"], fingerprint["d_model"]
        self.shape = (n, seq_len, d)
        dtype = NUMPY_DTYPES[fingerprint["dtype"]]
        progress_path = dest / PROGRESS_FILE
        previous = json.loads(progress_path.read_text()) if progress_path.is_file() else None
        if previous is not None:
            differing = [key for key, value in fingerprint.items() if previous["fingerprint"].get(key) != value]
            if differing:
                changes = "; ".join(f"{key}: was {previous['fingerprint'].get(key)!r}, now {fingerprint[key]!r}"
                                    for key in differing if key != "tokens_digest")
                if "tokens_digest" in differing:
                    changes = "; ".join(filter(None, [changes, "the token sequences differ"]))
                raise InvalidArgument(f"{dest} holds an extraction made with different arguments ({changes}); "
                                   "use the same arguments to resume it, or another folder",
                                   details={"field": "dest", "differing": differing})
        self.progress: dict[str, Any] = previous or {
            "fingerprint": fingerprint, "samples_done": 0, "batch_size": fingerprint["batch_size"],
            "batch_sizes_used": [], "oom_retries": [], "seconds": 0.0, "tokens_done": 0, "runs": 0, "state": None,
            "complete": False}
        mode = "r+" if previous is not None else "w+"
        self.arrays = {point: np.lib.format.open_memmap(dest / activation_file(point), mode=mode, dtype=dtype,
                                                        shape=self.shape if mode == "w+" else None)
                       for point in self.points}
        self.mask = np.lib.format.open_memmap(dest / MASK_FILE, mode=mode, dtype=np.uint8,
                                              shape=(n, seq_len) if mode == "w+" else None)
        if mode == "w+":
            for name in self.files().values():
                _reserve(dest / name)
        for name, array in [*self.arrays.items(), ("attention_mask", self.mask)]:
            expected = self.shape if name != "attention_mask" else (n, seq_len)
            if array.shape != expected or (name != "attention_mask" and array.dtype != dtype):
                raise InvalidArgument(f"{dest} has a damaged {name} file ({array.shape} {array.dtype}); "
                                   "delete the folder and extract again", details={"field": "dest"})
        state = self.progress["state"]
        # A run killed between two checkpoint steps can leave a statistics state nothing refers to: drop it.
        for leftover in [*dest.glob("progress_state_*.npz"), *dest.glob(".progress_state_*.tmp")]:
            if leftover.name != state:
                leftover.unlink(missing_ok=True)
        if state is not None:
            with np.load(dest / state) as arrays:
                self.stats = {point: RunningStatistics.from_state(arrays, f"{i}_", d, sparsity_eps)
                              for i, point in enumerate(self.points)}
        else:
            self.stats = {point: RunningStatistics(d, sparsity_eps) for point in self.points}
        if previous is None:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Flush the arrays, then atomically replace the statistics state and progress.json (in that order)."""
        for array in (*self.arrays.values(), self.mask):
            array.flush()
        old_state = self.progress["state"]
        done = self.progress["samples_done"]
        if done:
            name = f"progress_state_{done:012d}.npz"
            state: dict[str, np.ndarray] = {}
            for i, point in enumerate(self.points):
                state.update(self.stats[point].state(f"{i}_"))
            temporary = self.dest / f".{name}.tmp"
            with open(temporary, "wb") as handle:
                np.savez(handle, **state)
            temporary.replace(self.dest / name)
            self.progress["state"] = name
        write_json_atomic(self.dest / PROGRESS_FILE, self.progress)
        if old_state and old_state != self.progress["state"]:
            (self.dest / old_state).unlink(missing_ok=True)

    def write(self, start: int, activations: dict[str, np.ndarray], mask: np.ndarray) -> None:
        end, width = start + mask.shape[0], mask.shape[1]
        self.mask[start:end, :width] = mask
        self.mask[start:end, width:] = 0
        for point, values in activations.items():
            self.arrays[point][start:end, :width] = values
            self.arrays[point][start:end, width:] = 0

    def bytes_written(self) -> int:
        return sum((self.dest / name).stat().st_size for name in self.files().values())

    def files(self) -> dict[str, str]:
        return {**{point: activation_file(point) for point in self.points}, "attention_mask": MASK_FILE}


def open_activations(dest: Path) -> Activations:
    """Open an extraction folder; `acts[hook_point]` is a [samples, seq_len, d] memmap (see module doc for bf16)."""
    return Activations(dest)
