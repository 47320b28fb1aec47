"""Logging: readable lines for a person at a terminal, JSON lines for files and machines; both carry the request id.

`MISTUDIO_LOG_FORMAT` picks: `text`, `json`, or `auto` (the default), which writes text when the log stream is a
terminal and JSON otherwise, so `make run` is readable while `mistudio serve > studio.log 2>&1` stays parseable.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import IO, Any, Literal

from mistudio.config import Settings

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Not extras: the record's own fields, and uvicorn's copy of the message with terminal colour codes in it.
_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
_STANDARD_ATTRS |= {"message", "asctime", "color_message"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """Structured fields passed as logger.info("...", extra={...})."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; times in UTC so lines from several machines sort together."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update(_extras(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`12:03:07.412 INFO    mistudio.api  [3f2a9c01] GET /api/v1/models -> 200  duration_ms=4.1`, in local time."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%H:%M:%S") + f".{int(record.msecs):03d}"
        request_id = request_id_var.get()
        line = f"{stamp} {record.levelname:<7} {record.name}  "
        line += f"[{request_id[:8]}] " if request_id else ""
        line += record.getMessage()
        extras = _extras(record)
        if extras:
            line += "  " + " ".join(f"{key}={value}" for key, value in extras.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def resolved_format(settings: Settings, stream: IO[str]) -> Literal["json", "text"]:
    """The format `auto` means for this stream: text for a terminal, JSON for anything else."""
    if settings.log_format != "auto":
        return settings.log_format
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def setup_logging(settings: Settings, stream: IO[str] | None = None) -> None:
    """Route every logger to `stream` (stderr) in the configured format (idempotent)."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if resolved_format(settings, stream) == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore", "urllib3", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
