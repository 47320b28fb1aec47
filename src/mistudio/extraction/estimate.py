"""How long an extraction will take, how much disk and memory it needs, and what to warn about.

Time comes from a calibration: in the model host (never in the server or CLI process), the model in the chosen
format on the chosen device gets a few real sequences of the tokenization pushed through it with the hooks in place
(stopping after the deepest requested layer), and the measured seconds per token per layer scale to the whole run.
The measurement is kept per (model, format, device) for the life of this process, so the form's live estimates cost
one request; the host keeps the model warm for the next one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from mistudio.extraction.schemas import CalibrationOut
from mistudio.lens.units import human_bytes
from mistudio.platform.host.client import ModelHost

ONE_HOUR = 3600.0
LARGE_STORAGE_BYTES = 50 * 1024**3  # "50 GB" as the warning prints it (human_bytes counts 1 GB = 1024**3)
CALIBRATION_SAMPLES = 4
STORAGE_ITEMSIZE = {"fp32": 4, "fp16": 2, "bf16": 2}


@dataclass(frozen=True)
class Calibration:
    samples: int
    tokens: int
    layers_run: int
    seconds: float
    format: str
    device: str

    @property
    def seconds_per_token_layer(self) -> float:
        return self.seconds / max(self.tokens * self.layers_run, 1)


_calibrations: dict[tuple[str, str, str], Calibration] = {}
_lock = threading.Lock()  # one calibration at a time: the same key is never measured twice


def calibrate(host: ModelHost, model_folder: Any, model_id: str, fmt: str, device: str, sequences: Any,
              hook_points: list[str], *, trust_remote_code: bool = False) -> tuple[Calibration, bool]:
    """The (cached) calibration of a model in a format on a device, and whether it was reused."""
    key = (model_id, fmt, device)
    with _lock:
        if key in _calibrations:
            return _calibrations[key], True
        # Only the sequences measured travel to the host, not the tokenization.
        first = [np.asarray(sequences[index]) for index in range(min(CALIBRATION_SAMPLES, len(sequences)))]
        spec = {"model_id": model_id, "folder": str(model_folder), "format": fmt, "device": device,
                "trust_remote_code": trust_remote_code}
        timing = host.call("extraction.calibrate", {"model": spec, "sequences": first, "hook_points": hook_points,
                                                    "samples": CALIBRATION_SAMPLES},
                           what=f"calibrating the estimate of model {model_id!r} as {fmt} on {device}")
        calibration = Calibration(timing["samples"], timing["tokens"], timing["layers_run"], timing["seconds"],
                                  fmt, device)
        _calibrations[key] = calibration
        return calibration, False


def forget_calibrations(model_id: str) -> None:
    with _lock:
        for key in [key for key in _calibrations if key[0] == model_id]:
            del _calibrations[key]


def calibration_out(calibration: Calibration, reused: bool) -> CalibrationOut:
    return CalibrationOut(samples=calibration.samples, tokens=calibration.tokens, layers_run=calibration.layers_run,
                          seconds=calibration.seconds, seconds_per_token_layer=calibration.seconds_per_token_layer,
                          format=calibration.format, device=calibration.device, reused=reused)


def storage_bytes(samples: int, seq_len: int, d_model: int, hook_points: int, dtype: str) -> int:
    """The .npy files: one [samples, seq_len, d] array per hook point plus the uint8 attention mask."""
    return samples * seq_len * (d_model * STORAGE_ITEMSIZE[dtype] * hook_points + 1)


def peak_memory_bytes(config: dict[str, Any], architecture: dict[str, Any], fmt: str, device: str, batch_size: int,
                      seq_len: int, hook_points: int) -> int:
    """Weights in the format plus one batch's working set: the layer's widest activations (attention scores,
    MLP hidden state, a few residual copies) in fp32 and the captured hook-point tensors."""
    from mistudio.lens import memory

    weights = memory.estimate_memory(memory.split_parameters(config), fmt, device)
    d = int(architecture.get("hidden_size") or 0)
    heads = int(architecture.get("num_attention_heads") or 1)
    intermediate = int(architecture.get("intermediate_size") or 4 * d)
    per_token = 6 * d + 3 * intermediate + heads * seq_len
    working = batch_size * seq_len * per_token * 4
    captured = batch_size * seq_len * d * 4 * hook_points
    return weights + working + captured


def warnings_for(*, seconds: float | None, storage: int, free_disk: int, peak_memory: int,
                 available_memory: int | None) -> list[str]:
    warnings = []
    if seconds is not None and seconds > ONE_HOUR:
        warnings.append(f"this extraction may take over 1 hour (about {seconds / ONE_HOUR:.1f} h); consider fewer "
                        "samples or layers")
    if storage > LARGE_STORAGE_BYTES:
        warnings.append(f"this extraction needs {human_bytes(storage)} of storage (over 50 GB); consider fewer "
                        "samples, fewer hook points or fp16/bf16 storage")
    if storage > free_disk:
        warnings.append(f"the activations need {human_bytes(storage)} but only {human_bytes(free_disk)} is free on "
                        "the data disk: it cannot start until space is freed or the extraction is made smaller")
    if available_memory is not None and peak_memory > available_memory:
        warnings.append(f"a batch may need {human_bytes(peak_memory)} of memory but {human_bytes(available_memory)} "
                        "is available; the batch size will be halved automatically if it runs out")
    return warnings
