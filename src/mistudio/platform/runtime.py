"""Everything a running server (or CLI command) holds: settings, database, bus, runner, model host."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mistudio.config import Settings
from mistudio.platform.db import check_connection, make_engine, session_factory, upgrade_database
from mistudio.platform.events import EventBus, RedisPublisher, RedisRelay
from mistudio.platform.host.client import ModelHost
from mistudio.platform.jobs.local import LocalRunner
from mistudio.platform.jobs.process import Publish
from mistudio.platform.jobs.registry import load_job_modules
from mistudio.platform.jobs.runner import Runner, make_runner
from mistudio.platform.storage import Storage, prepare_home

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    storage: Storage
    engine: Engine
    sessions: sessionmaker[Session]
    bus: EventBus
    publish: Publish
    runner: Runner
    host: ModelHost  # started on its first request, never in this process
    _relay: RedisRelay | None = field(default=None, repr=False)
    _publisher: RedisPublisher | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        """Check the home dir and database (one clear error each), migrate, and wire the runner."""
        storage = prepare_home(settings)
        engine = make_engine(settings)
        check_connection(engine)
        if migrate:
            upgrade_database(engine)
        load_job_modules(settings.job_modules)
        bus = EventBus()
        publisher = RedisPublisher(settings.redis_url) if settings.redis_url else None
        # Scaled mode publishes through Redis so every server (and the CLI) sees every event.
        publish: Publish = publisher.publish if publisher else bus.publish
        sessions = session_factory(engine)
        runner = make_runner(settings, sessions, publish)
        host = ModelHost(settings)
        if isinstance(runner, LocalRunner):
            # The GPU rule shared with jobs: before a GPU job starts, the host gives its models' GPU memory back.
            runner.before_gpu_job = lambda: host.unload("cuda")
        relay = RedisRelay(settings.redis_url, bus) if settings.redis_url else None
        return cls(settings, storage, engine, sessions, bus, publish, runner, host, relay, publisher)

    def start(self) -> None:
        """Start executing jobs and relaying events (the server does this; CLI commands do not)."""
        if self._relay:
            self._relay.start()
        self.runner.start()

    def close(self) -> None:
        self.host.close()
        self.runner.stop()
        if self._relay:
            self._relay.stop()
        if self._publisher:
            self._publisher.close()
        self.engine.dispose()
