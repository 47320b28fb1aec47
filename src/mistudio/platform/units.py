"""Human-readable quantities for job messages and logs."""

from __future__ import annotations


def human_bytes(n_bytes: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as download tools show them)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n_bytes) < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    raise AssertionError("unreachable")
