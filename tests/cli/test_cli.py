"""The `mistudio` command as a user runs it: real subprocesses, real exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mistudio.platform.runtime import Runtime
from tests.support.cli_studio import mistudio
from tests.support.studio import StudioServer


def test_config_prints_the_settings_in_effect(studio_home: Path) -> None:
    result = mistudio("config", home=studio_home, HF_ENDPOINT="http://127.0.0.1:9/hub")
    assert result.returncode == 0, result.stderr
    assert "MISTUDIO_HOME" in result.stdout and str(studio_home) in result.stdout
    assert "http://127.0.0.1:9/hub" in result.stdout
    assert "local" in result.stdout


def test_an_unwritable_home_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = mistudio("db", "upgrade", home=blocker / "home")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "MISTUDIO_HOME" in lines[0] and "writable" in lines[0], result.stderr


def test_an_unreachable_database_is_one_line_naming_the_setting(studio_home: Path) -> None:
    result = mistudio("serve", home=studio_home, MISTUDIO_DATABASE_URL="postgresql+psycopg://nobody:secret@127.0.0.1:1/x")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "MISTUDIO_DATABASE_URL" in lines[0] and "cannot connect" in lines[0] and "secret" not in lines[0]


def test_a_bad_setting_value_is_one_line(studio_home: Path) -> None:
    result = mistudio("config", home=studio_home, MISTUDIO_DEVICE="tpu")
    assert result.returncode != 0 and "MISTUDIO_DEVICE" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_worker_without_redis_explains_what_it_needs(studio_home: Path) -> None:
    result = mistudio("worker", home=studio_home)
    assert result.returncode != 0 and "MISTUDIO_REDIS_URL" in result.stderr


def test_db_upgrade_reports_the_revision(studio_home: Path) -> None:
    from alembic.script import ScriptDirectory

    from mistudio.platform.db import MIGRATIONS_DIR

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    result = mistudio("db", "upgrade", home=studio_home)
    assert result.returncode == 0 and f"revision {head}" in result.stdout


def test_jobs_list_show_and_cancel(runtime: Runtime) -> None:
    home = runtime.settings.home
    job = runtime.runner.submit("test.count", {"n": 3})  # queued: no runner is started here
    listed = mistudio("jobs", "list", home=home)
    assert listed.returncode == 0 and job.id[:8] in listed.stdout and "queued" in listed.stdout
    shown = mistudio("jobs", "show", job.id[:9], "--json", home=home)  # a prefix, as the list shows it
    assert json.loads(shown.stdout)["params"] == {"n": 3}
    cancelled = mistudio("jobs", "cancel", job.id, home=home)
    assert cancelled.returncode == 0 and "cancelled" in cancelled.stdout
    again = mistudio("jobs", "cancel", job.id, home=home)
    assert again.returncode == 1 and "already finished" in again.stderr
    missing = mistudio("jobs", "show", "nope", home=home)
    assert missing.returncode == 1 and "job 'nope' not found" in missing.stderr


@pytest.mark.parametrize("studio", ["local"], indirect=True)
def test_jobs_watch_follows_live_events_to_the_end(studio: StudioServer, submitter: Runtime) -> None:
    job = submitter.runner.submit("test.count", {"n": 20, "delay": 0.1})
    result = mistudio("jobs", "watch", job.id, home=studio.home, MISTUDIO_PORT=str(studio.port))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{job.id}: completed" in result.stdout
    assert "following the database" not in result.stdout  # it used the server's events


def test_jobs_watch_of_a_failed_job_exits_non_zero(runtime: Runtime) -> None:
    from mistudio.platform.db import session_scope
    from mistudio.platform.jobs import repository
    from mistudio.platform.jobs.table import JobStatus

    job = runtime.runner.submit("test.fail", {})
    with session_scope(runtime.sessions) as session:
        repository.finish(session, repository.get_job(session, job.id), JobStatus.FAILED, error="boom")
    result = mistudio("jobs", "watch", job.id, home=runtime.settings.home)
    assert result.returncode == 1 and "failed" in result.stdout
