"""Byte counts for people: the one formatter of the studio (lens, platform, domains and CLI all use it).

Binary units written KB/MB/GB/TB (1 GB = 1024**3 bytes), as the web UI shows sizes and as memory budgets are set
(MISTUDIO_MEMORY_BUDGET_GB=6 means 6 * 1024**3 bytes), so a message and the page next to it show the same figure.
It lives in lens because lens imports nothing of the studio's, and everything may import lens.
"""

from __future__ import annotations

from typing import Literal

Unit = Literal["B", "KB", "MB", "GB", "TB"]
UNITS: tuple[Unit, ...] = ("B", "KB", "MB", "GB", "TB")


def human_bytes(n_bytes: float, unit: Unit | None = None) -> str:
    """1536 -> '1.5 KB', 300 * 1024**2 -> '300 MB'; with `unit`, always that unit: (0.5 * 1024**3, "GB") -> '0.50 GB'.

    Picking the unit: whole numbers from 100 up (as the web UI), one decimal below. A fixed unit is for figures a
    message compares ("needs 0.52 GB, 3.10 GB free"): two decimals, three significant digits below 0.1.
    """
    if unit is not None:
        value = n_bytes / 1024 ** UNITS.index(unit)
        return f"{value:.2f} {unit}" if abs(value) >= 0.1 else f"{value:.3g} {unit}"
    value, index = float(n_bytes), 0
    while abs(value) >= 1024 and index < len(UNITS) - 1:
        value /= 1024
        index += 1
    return f"{value:.0f} {UNITS[index]}" if index == 0 or abs(value) >= 100 else f"{value:.1f} {UNITS[index]}"
