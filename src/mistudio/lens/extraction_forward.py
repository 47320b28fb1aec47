"""The hooked forward pass over token sequences that extraction and its time estimate share: the arguments checked,
each batch right-padded and masked, run with read hooks that stop it early after the deepest hook point
(`lens.hooks`), its activations masked and their copy to the host started; and `measure_forward`, the timing of such
passes that calibrates an extraction's estimate without writing anything."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.extraction_store import STORAGE_DTYPES
from mistudio.lens.hooks import Hooks, capturing, parse_hook_point
from mistudio.lens.layout import layout_of


def check_arguments(model: torch.nn.Module, sequences: Any, hook_points: list[str], batch_size: int,
                    max_samples: int | None, dtype: str) -> tuple[list[str], int]:
    """The hook points without repeats and how many sequences to read; InvalidArgument naming the field otherwise."""
    if isinstance(hook_points, str) or not hook_points:
        raise InvalidArgument("hook_points must be a non-empty list such as ['blocks.0.resid_post']",
                           details={"field": "hook_points"})
    num_layers = layout_of(model).num_layers
    points = list(dict.fromkeys(hook_points))
    for point in points:
        parse_hook_point(point, num_layers)  # InvalidHookPoint naming the allowed layers and types
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1 \
            or batch_size & (batch_size - 1):
        raise InvalidArgument(f"batch_size must be a power of 2 (1, 2, 4, … 1024, …), got {batch_size!r}",
                           details={"field": "batch_size", "value": batch_size})
    if dtype not in STORAGE_DTYPES:
        raise InvalidArgument(f"dtype must be one of {', '.join(STORAGE_DTYPES)}, got {dtype!r}",
                           details={"field": "dtype", "allowed": list(STORAGE_DTYPES)})
    available = len(sequences)
    if available == 0:
        raise InvalidArgument("there are no sequences to extract from", details={"field": "sequences"})
    if max_samples is None:
        return points, available
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or not 1 <= max_samples <= available:
        raise InvalidArgument(f"max_samples must be between 1 and {available} (the number of sequences), "
                           f"got {max_samples!r}", details={"field": "max_samples", "min": 1, "max": available})
    return points, max_samples


def sequence_lengths(sequences: Any, n: int) -> np.ndarray:
    """The first n sequences' lengths (a tokenization knows them without reading its tokens)."""
    if hasattr(sequences, "lengths"):
        return np.asarray(sequences.lengths()[:n], dtype=np.int64)
    return np.array([len(sequences[i]) for i in range(n)], dtype=np.int64)


def input_device(model: torch.nn.Module) -> torch.device:
    try:
        return model.get_input_embeddings().weight.device
    except (AttributeError, NotImplementedError):
        return next(model.parameters()).device


class Recorder:
    """The extraction's read-only hooks: each hook point's activation copied in the storage dtype (lens.hooks)."""

    def __init__(self, model: torch.nn.Module, points: list[str], storage: torch.dtype, early_stop: bool) -> None:
        self.points = points
        self.captured: dict[str, torch.Tensor] = {}
        capture = capturing(self.captured.__setitem__, storage)
        self.hooks = Hooks(model, {point: capture(point) for point in points}, stop_early=early_stop)
        self.hooks.__enter__()

    def run(self, **inputs: Any) -> None:
        self.hooks.run(**inputs)

    def remove(self) -> None:
        self.hooks.remove()


@dataclass
class Batch:
    """One forward's output on its way to disk: `stored` (host tensors, possibly still being copied from the GPU
    until `copied` completes) for the files, `values` (on the model's device) for the statistics."""

    start: int
    end: int
    size: int
    mask: np.ndarray
    values: dict[str, torch.Tensor]
    stored: dict[str, torch.Tensor]
    copied: list[Any] = field(default_factory=list)  # torch.cuda.Events recorded after the device-to-host copies


def forward_batch(model: torch.nn.Module, recorder: Recorder, sequences: Any, lengths: np.ndarray, start: int, end: int,
                  pad_token_id: int, device: torch.device, d: int) -> Batch:
    """One batch: padded input, forward (stopped early or not), masked activations, their copy to the host started.

    Nothing here waits for the device: on a GPU the copies go into pinned host memory asynchronously and the writer
    thread waits for them, so the next forward pass can be queued at once."""
    width = int(lengths[start:end].max())
    ids = np.full((end - start, width), pad_token_id, dtype=np.int64)
    mask = np.zeros((end - start, width), dtype=np.uint8)
    for row, index in enumerate(range(start, end)):
        length = int(lengths[index])
        ids[row, :length] = sequences[index]
        mask[row, :length] = 1
    recorder.captured.clear()
    batch = Batch(start, end, end - start, mask, {}, {})
    if width == 0:
        return batch
    mask_tensor = torch.from_numpy(mask).to(device)
    with torch.inference_mode():
        recorder.run(input_ids=torch.from_numpy(ids).to(device), attention_mask=mask_tensor, use_cache=False)
        missing = [point for point in recorder.points if point not in recorder.captured]
        if missing:
            raise RuntimeError(f"hook points {', '.join(missing)} did not fire during the forward pass")
        for point in recorder.points:
            values = recorder.captured[point]
            if tuple(values.shape) != (*mask.shape, d):
                raise RuntimeError(f"{point} gave activations of shape {tuple(values.shape)}, expected "
                                   f"{(*mask.shape, d)}")
            values.masked_fill_(~mask_tensor.to(values.device).bool()[..., None], 0)
            batch.values[point] = values
            if values.device.type == "cuda":
                batch.stored[point] = torch.empty(values.shape, dtype=values.dtype, pin_memory=True)
                batch.stored[point].copy_(values, non_blocking=True)
            else:
                batch.stored[point] = values.cpu()
        # The copies were queued on each device's stream after its part of the forward (a model split across
        # GPUs has several): one event per device marks them done.
        for gpu in {values.device for values in batch.values.values() if values.device.type == "cuda"}:
            event = torch.cuda.Event()
            event.record(torch.cuda.current_stream(gpu))
            batch.copied.append(event)
    recorder.captured.clear()
    return batch


@dataclass
class ForwardTiming:
    samples: int
    tokens: int  # real tokens (padding excluded)
    layers_run: int  # decoder layers computed: up to the deepest hook point
    seconds: float


def measure_forward(model: torch.nn.Module, sequences: Sequence[np.ndarray] | Any, *, hook_points: list[str],
                    samples: int = 4, pad_token_id: int = 0, repeats: int = 3) -> ForwardTiming:
    """Time early-stopped forward passes over the first `samples` sequences with the hooks in place (the median of
    `repeats`, after an untimed one-sequence warm-up); nothing is written. This is the calibration behind an
    extraction's time estimate."""
    points, n = check_arguments(model, sequences, hook_points, 1, min(samples, len(sequences)), "fp32")
    lengths = sequence_lengths(sequences, n)
    device, d = input_device(model), layout_of(model).d_model
    recorder = Recorder(model, points, torch.float32, early_stop=True)
    was_training = model.training
    model.eval()
    try:
        forward_batch(model, recorder, sequences, lengths, 0, 1, pad_token_id, device, d)
        timings = []
        for _ in range(repeats):  # the median: one pass on a busy machine can be several times off
            started = time.perf_counter()
            forward_batch(model, recorder, sequences, lengths, 0, n, pad_token_id, device, d)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            timings.append(time.perf_counter() - started)
        seconds = float(np.median(timings))
    finally:
        recorder.remove()
        model.train(was_training)
    deepest = max(parse_hook_point(point)[0] for point in points)
    return ForwardTiming(samples=n, tokens=int(lengths.sum()), layers_run=deepest + 1, seconds=seconds)
