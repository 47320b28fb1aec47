"""Pytest fixtures for the platform: settings on a temp home, runtimes, live servers and Celery workers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from mistudio.config import Settings
from mistudio.domains import register_domains
from mistudio.platform.runtime import Runtime
from tests.support.services import fresh_postgres_database, postgres_unavailable, redis_unavailable
from tests.support.studio import TEST_JOB_MODULES, CeleryWorkers, StudioServer

REPO_ROOT = Path(__file__).resolve().parents[2]
# The test process is a composition root like the app: runtimes opened by tests run the domains' jobs.
register_domains()


@pytest.fixture(scope="session")
def test_output_dir() -> Path:
    """Where tests leave artefacts a person may look at (screenshots, server logs): test-output/."""
    path = REPO_ROOT / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def studio_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def settings(studio_home: Path) -> Settings:
    """Embedded-mode settings on a temp home with the test job kinds registered."""
    return Settings(home=studio_home, job_modules=["tests.support.job_kinds"], cancel_grace_seconds=2,
                    log_format="text", database_url=None, redis_url=None)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A migrated runtime whose runner is NOT started (for service-level tests)."""
    runtime = Runtime.open(settings)
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
def postgres_available() -> None:
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_available() -> None:
    reason = redis_unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def postgres_url(postgres_available: None) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    with fresh_postgres_database() as url:
        yield url


STUDIO_MODES = ["local", pytest.param("celery", marks=[pytest.mark.redis, pytest.mark.postgres])]


@contextmanager
def live_studio(request: pytest.FixtureRequest, mode: str, folder: Path) -> Iterator[StudioServer]:
    """A live studio server on a home in `folder`: embedded (LocalRunner) or scaled (real Redis, a fresh PostgreSQL
    database, `mistudio worker`)."""
    home = folder / "home"
    home.mkdir(exist_ok=True)  # the same folder as `studio_home` when a test asks for both
    with ExitStack() as stack:
        env: dict[str, str] = {}
        workers = None
        if mode == "celery":
            request.getfixturevalue("redis_available")
            request.getfixturevalue("postgres_available")
            import redis

            from tests.support.services import REDIS_URL

            redis.Redis.from_url(REDIS_URL).flushdb()
            env = {"MISTUDIO_REDIS_URL": REDIS_URL,
                   "MISTUDIO_DATABASE_URL": stack.enter_context(fresh_postgres_database())}
            workers = CeleryWorkers(home, folder / "worker.log", **env).start()
            stack.callback(workers.stop)
        server = StudioServer(home, folder / "server.log", **env).start()
        stack.callback(server.stop)
        server.runner_mode = mode  # type: ignore[attr-defined]
        server.workers = workers  # type: ignore[attr-defined]
        yield server


@pytest.fixture(params=STUDIO_MODES)
def studio(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StudioServer]:
    """A live studio of the test's own, in each mode."""
    with live_studio(request, request.param, tmp_path) as server:
        yield server


@pytest.fixture(scope="module", params=STUDIO_MODES)
def module_studio(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioServer]:
    """One live studio per mode for a whole module (starting one costs seconds, a scaled one ~8 s): for tests whose
    jobs all end before the test does, and which leave the server and its workers running."""
    with live_studio(request, request.param, tmp_path_factory.mktemp(f"studio-{request.param}")) as server:
        yield server


@pytest.fixture
def submitter(studio: StudioServer) -> Iterator[Runtime]:
    """A runtime in the test process on the studio's database: `submitter.runner.submit(...)` queues jobs
    that the live server (or its workers) run — the way any domain service submits work."""
    env = studio.env
    settings = Settings(home=studio.home, job_modules=["tests.support.job_kinds"],
                        database_url=env.get("MISTUDIO_DATABASE_URL"), redis_url=env.get("MISTUDIO_REDIS_URL"))
    runtime = Runtime.open(settings)
    yield runtime
    runtime.close()


__all__ = ["TEST_JOB_MODULES"]
