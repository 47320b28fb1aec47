"""Structured logs: one JSON object per line, carrying the request id of the request being served."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.studio import StudioServer, wait_until


def test_server_logs_are_json_lines_with_the_request_id(studio_home: Path, tmp_path: Path) -> None:
    server = StudioServer(studio_home, tmp_path / "server.log", MISTUDIO_LOG_FORMAT="json").start()
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
