"""lens's own exceptions: one class per failure a caller can act on, each with a message that says the fix.

They know nothing of HTTP: a notebook user reads the message, and the studio gives each class its status once, at
its edge (`mistudio.errors.status_of`).
"""

from __future__ import annotations

from typing import Any


class LensError(Exception):
    """Base of every lens error; `message` says what happened and how to fix it, `details` is JSON-able context."""

    code = "lens_error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code


class InvalidArgument(LensError):
    """An argument (a hook point, a path, a setting) is wrong; the message names the allowed values."""

    code = "invalid_input"


class UnsupportedModel(InvalidArgument):
    """The model cannot be used: not a causal LM, or its layers cannot be found."""

    code = "unsupported_model"


class AccessDenied(LensError):
    """Gated or private: the message tells the user to accept the licence and pass a token."""

    code = "access_denied"


class NotFound(LensError):
    code = "not_found"


class Conflict(LensError):
    code = "conflict"


class RateLimited(LensError):
    code = "rate_limited"


class NoCapacity(LensError):
    """Not enough memory, disk or time for the work asked for."""

    code = "no_capacity"
