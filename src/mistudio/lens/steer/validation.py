"""The checks every steering entry point shares, each failing with an InvalidArgument that names its field."""

from __future__ import annotations

import math
from typing import Any

from mistudio.lens.errors import InvalidArgument


def invalid(message: str, field: str, **details: Any) -> InvalidArgument:
    """An InvalidArgument whose details name the field (what the API edge turns into a 400 naming it)."""
    return InvalidArgument(message, details={"field": field, **details})


def finite_number(value: Any, field: str, **details: Any) -> float:
    """`value` as a float; refused when it is not a real number or not finite (NaN, ±inf)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"{field} must be a number; got {value!r}", field, **details)
    if not math.isfinite(value):
        raise invalid(f"{field} must be a finite number; got {value!r}", field, **details)
    return float(value)


def whole_number(value: Any, field: str, *, minimum: int, maximum: int | None = None, **details: Any) -> int:
    """`value` as an int within [minimum, maximum]; the message says the allowed range."""
    allowed = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum \
            or (maximum is not None and value > maximum):
        raise invalid(f"{field} must be an integer {allowed}; got {value!r}", field, **details)
    return value
