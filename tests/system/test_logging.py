"""Logs: readable lines at a terminal, one JSON object per line in files; both carry the request id."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mistudio.config import Settings
from mistudio.platform.logs import request_id_var, resolved_format, setup_logging
from tests.support.studio import StudioServer, wait_until


@pytest.mark.parametrize("log_format", ["json", "auto"])  # auto: the log is a file here, so JSON
def test_server_logs_to_a_file_are_json_lines_with_the_request_id(studio_home: Path, tmp_path: Path,
                                                                  log_format: str) -> None:
    server = StudioServer(studio_home, tmp_path / "server.log", MISTUDIO_LOG_FORMAT=log_format).start()
    try:
        response = server.client.get("/api/v1/jobs/unknown", headers={"X-Request-ID": "req-logging-1"})
        assert response.status_code == 404

        def logged_request() -> dict | None:
            for line in server.log_path.read_text().splitlines():
                if line.startswith("{") and "req-logging-1" in line:
                    return json.loads(line)
            return None

        entry = wait_until(logged_request, what="the request's log line")
    finally:
        server.stop()
    assert entry["request_id"] == "req-logging-1"
    assert entry["message"] == "GET /api/v1/jobs/unknown -> 404"
    assert entry["level"] == "info" and isinstance(entry["duration_ms"], float)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level


def test_text_lines_read_as_time_level_logger_message(settings: Settings, restore_logging: None) -> None:
    stream = io.StringIO()
    setup_logging(settings.model_copy(update={"log_format": "text"}), stream)
    token = request_id_var.set("3f2a9c01deadbeef")
    try:
        logging.getLogger("mistudio.api").info("GET %s -> %s", "/api/v1/models", 200, extra={"duration_ms": 4.1})
    finally:
        request_id_var.reset(token)
    line = stream.getvalue().rstrip("\n")
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} INFO    mistudio\.api  \[3f2a9c01\] GET /api/v1/models -> 200"
                        r"  duration_ms=4\.1", line), line


def test_text_lines_keep_the_traceback(settings: Settings, restore_logging: None) -> None:
    stream = io.StringIO()
    setup_logging(settings.model_copy(update={"log_format": "text"}), stream)
    try:
        raise ValueError("the cause")
    except ValueError:
        logging.getLogger("mistudio.api").exception("unhandled error")
    assert "ERROR   mistudio.api  unhandled error\nTraceback" in stream.getvalue()
    assert "ValueError: the cause" in stream.getvalue()


def test_auto_is_text_at_a_terminal_and_json_elsewhere(settings: Settings, tmp_path: Path) -> None:
    auto = settings.model_copy(update={"log_format": "auto"})
    controller, terminal = pty.openpty()
    try:
        with open(terminal, "w", closefd=False) as at_terminal:
            assert resolved_format(auto, at_terminal) == "text"
    finally:
        os.close(controller)
        os.close(terminal)
    with open(tmp_path / "studio.log", "w") as to_file:
        assert resolved_format(auto, to_file) == "json"
    assert resolved_format(auto, io.StringIO()) == "json"  # a pipe or buffer: machines read it
    assert resolved_format(settings.model_copy(update={"log_format": "json"}), io.StringIO()) == "json"


def test_auto_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISTUDIO_LOG_FORMAT", raising=False)
    assert Settings().log_format == "auto"
