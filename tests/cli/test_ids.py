"""Ids as users type them: lists show short unique prefixes, and every command takes any unique prefix back."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from sqlalchemy import update

from mistudio.cli.common import resolve_id, short_ids
from mistudio.platform.db import session_scope
from mistudio.platform.jobs.table import Job
from mistudio.platform.runtime import Runtime
from tests.support.cli_studio import mistudio
from tests.support.studio import REPO_ROOT

IDS = ["abcd1234" + "0" * 24, "abcd9999" + "0" * 24, "ffff0000" + "1" * 24]


def test_a_unique_prefix_resolves_to_its_full_id() -> None:
    assert resolve_id("model", "abcd12", lambda: IDS) == IDS[0]
    assert resolve_id("model", "ffff0000111", lambda: IDS) == IDS[2]


def test_a_full_id_is_taken_as_it_is_without_listing() -> None:
    def never() -> list[str]:
        raise AssertionError("a whole id must not need a listing")

    assert resolve_id("model", IDS[1], never) == IDS[1]


def test_a_prefix_matching_nothing_is_passed_on_for_the_services_not_found() -> None:
    assert resolve_id("model", "0123", lambda: IDS) == "0123"


def test_an_ambiguous_prefix_names_every_candidate(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as exited:
        resolve_id("model", "abcd", lambda: IDS)
    assert exited.value.exit_code == 1
    message = capsys.readouterr().err
    assert "ambiguous" in message and IDS[0] in message and IDS[1] in message and IDS[2] not in message


def test_a_prefix_shorter_than_four_characters_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit):
        resolve_id("model", "ff", lambda: IDS)
    assert "too short" in capsys.readouterr().err


def test_lists_show_the_shortest_unique_prefix_of_at_least_eight_characters() -> None:
    close = ["abcd1234" + "5" * 24, "abcd1234" + "6" * 24]
    short = short_ids([IDS[2], close[0]], [*IDS, *close])
    assert short[IDS[2]] == "ffff0000"
    assert short[close[0]] == "abcd12345"  # one more character than they share
    assert all(resolve_id("model", prefix, lambda: [*IDS, *close]) == full for full, prefix in short.items())


def test_the_command_line_takes_prefixes_and_refuses_ambiguous_ones(runtime: Runtime) -> None:
    home = runtime.settings.home
    jobs = [runtime.runner.submit("test.count", {"n": i}) for i in range(2)]
    with session_scope(runtime.sessions) as session:  # two ids sharing their first 9 characters
        for job, full in zip(jobs, ("123456789a" + "0" * 22, "123456789b" + "0" * 22), strict=True):
            session.execute(update(Job).where(Job.id == job.id).values(id=full))

    listed = mistudio("jobs", "list", home=home)
    assert "123456789a " in listed.stdout and "123456789b " in listed.stdout, listed.stdout
    ambiguous = mistudio("jobs", "show", "123456789", home=home)
    assert ambiguous.returncode == 1 and "ambiguous" in ambiguous.stderr
    assert "123456789a" + "0" * 22 in ambiguous.stderr and "123456789b" + "0" * 22 in ambiguous.stderr
    shown = mistudio("jobs", "show", "123456789b", "--json", home=home)
    assert shown.returncode == 0 and '"n": 1' in shown.stdout, shown.stderr
    missing = mistudio("jobs", "cancel", "9999abcd", home=home)
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_the_cli_starts_without_loading_torch() -> None:
    code = "import sys, mistudio.cli; assert 'torch' not in sys.modules, 'mistudio.cli imported torch'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
