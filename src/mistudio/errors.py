"""Domain errors: one class per failure a caller can act on, mapped to HTTP once in api.py.

lens raises its own errors (`mistudio.lens.errors`), which carry no status: `status_of` gives them theirs, and
`UserError` catches both kinds wherever a message is shown to the user (job rows, the CLI, the model host).
"""

from __future__ import annotations

from typing import Any

import mistudio.lens.errors as lens_errors


class MistudioError(Exception):
    """Base of every error a user should read; `message` says what happened and how to fix it."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers  # e.g. Retry-After on 429
        if code:
            self.code = code


class InvalidInput(MistudioError):
    status_code = 400
    code = "invalid_input"


class AccessDenied(MistudioError):
    """Gated or private resources: the message tells the user to accept the licence and pass a token."""

    status_code = 403
    code = "access_denied"


class NotFound(MistudioError):
    status_code = 404
    code = "not_found"


class Conflict(MistudioError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(MistudioError):
    status_code = 413
    code = "payload_too_large"


class RateLimited(MistudioError):
    status_code = 429
    code = "rate_limited"


class NoCapacity(MistudioError):
    status_code = 503
    code = "no_capacity"


class DatabaseUnavailable(MistudioError):
    """The database stayed unreachable for longer than `database_retry_seconds` (a restart, a lost network)."""

    status_code = 503
    code = "database_unavailable"


class SettingsError(MistudioError):
    """A setting makes start-up impossible; the message names the setting and the fix."""

    code = "settings_error"


UserError = (MistudioError, lens_errors.LensError)

# Most specific first where classes nest (UnsupportedModel is an InvalidArgument).
_LENS_STATUS: tuple[tuple[type[lens_errors.LensError], int], ...] = (
    (lens_errors.InvalidArgument, 400), (lens_errors.AccessDenied, 403), (lens_errors.NotFound, 404),
    (lens_errors.Conflict, 409), (lens_errors.RateLimited, 429), (lens_errors.NoCapacity, 503))


def status_of(error: BaseException) -> int:
    """The HTTP status of a domain or lens error (500 for anything else)."""
    if isinstance(error, MistudioError):
        return error.status_code
    return next((status for kind, status in _LENS_STATUS if isinstance(error, kind)), 500)
