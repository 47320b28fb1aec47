"""The studio's byte formatter, `mistudio.lens.units.human_bytes`, under its older platform name.

Kept for the CLI modules that still import it from here; new code imports `mistudio.lens.units`.
"""

from __future__ import annotations

from mistudio.lens.units import human_bytes

__all__ = ["human_bytes"]
