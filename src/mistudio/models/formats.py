"""Where a model would run and what each format would cost there: the device a user asked for, checked, and the
memory estimate of every format against a budget (preview, a model's formats, the quantize job)."""

from __future__ import annotations

from typing import Any

from mistudio.config import Settings
from mistudio.errors import InvalidInput
from mistudio.models.schemas import FormatEstimate


def resolve_device(device: str) -> str:
    """`auto` means the first GPU when torch sees one, else the CPU; a GPU torch cannot see is refused."""
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InvalidInput(f"device {device!r} was asked for, but torch sees no CUDA GPU here; use cpu")
    elif device != "cpu":
        raise InvalidInput(f"device must be cpu, cuda or cuda:N, got {device!r}")
    return device


def format_estimates(config: dict[str, Any], device: str, budget_bytes: int) -> list[FormatEstimate]:
    """Memory per format (spec formula and refined estimate), fit for the budget, availability on device."""
    from mistudio.lens import memory, quantize  # torch: only when estimating, so the CLI starts fast

    split = memory.split_parameters(config)
    estimates = []
    for fmt in memory.FORMATS:
        availability = quantize.format_availability(fmt, device)
        refined = memory.estimate_memory(split, fmt, device)
        estimates.append(FormatEstimate(
            format=fmt, spec_bytes=memory.spec_estimate_bytes(split.total, fmt), estimate_bytes=refined,
            fit=memory.fit_level(refined, budget_bytes), available=availability.available,
            backend=availability.backend, unavailable_reason=availability.reason,
        ))
    return estimates


def budget_bytes(settings: Settings, budget_gb: float | None) -> int:
    """The memory budget asked for, else the configured one, in bytes."""
    return int((budget_gb or settings.memory_budget_gb) * 1024**3)
