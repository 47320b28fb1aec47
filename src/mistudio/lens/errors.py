"""lens's own exceptions: one class per failure a caller can act on, each with a message that says the fix.

A notebook user reads the message; the studio maps each class to an HTTP status at its API edge. For now each
class also derives from the matching `mistudio.errors` class, so the studio's handlers catch them unchanged.
"""

from __future__ import annotations

from typing import Any

from mistudio import errors as studio


class LensError(studio.MistudioError):
    """Base of every lens error; `message` says what happened and how to fix it, `details` is JSON-able context."""

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message, details=details, code=code)


class InvalidArgument(LensError, studio.InvalidInput):
    """An argument (a hook point, a path, a setting) is wrong; the message names the allowed values."""

    code = "invalid_input"


class UnsupportedModel(InvalidArgument):
    """The model cannot be used: not a causal LM, or its layers cannot be found."""

    code = "unsupported_model"


class AccessDenied(LensError, studio.AccessDenied):
    """Gated or private: the message tells the user to accept the licence and pass a token."""

    code = "access_denied"


class NotFound(LensError, studio.NotFound):
    code = "not_found"


class Conflict(LensError, studio.Conflict):
    code = "conflict"


class RateLimited(LensError, studio.RateLimited):
    code = "rate_limited"


class NoCapacity(LensError, studio.NoCapacity):
    """Not enough memory, disk or time for the work asked for."""

    code = "no_capacity"
