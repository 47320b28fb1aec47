"""Settings from the environment (prefix ``MISTUDIO_``), one plain object passed explicitly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HF_ENDPOINT = "https://huggingface.co"


def _default_hf_endpoint() -> str:
    # huggingface_hub itself reads HF_ENDPOINT; we honour the same variable so both agree.
    return os.environ.get("HF_ENDPOINT", DEFAULT_HF_ENDPOINT).rstrip("/")


class Settings(BaseSettings):
    """Everything miStudio reads from its environment; `mistudio config` prints it."""

    model_config = SettingsConfigDict(env_prefix="MISTUDIO_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".mistudio", description="data directory")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; unset = SQLite in home")
    redis_url: str | None = Field(default=None, description="Redis URL; unset = embedded runner and bus")
    hf_endpoint: str = Field(default_factory=_default_hf_endpoint, description="HuggingFace Hub URL")
    host: str = "127.0.0.1"
    port: int = 8000
    device: str = Field(default="auto", description="auto, cpu or cuda:N")
    max_gpu_memory_gb: float | None = Field(default=None, description="cap on GPU memory jobs may use")
    io_concurrency: int = Field(default=4, ge=1, description="light jobs (downloads) run side by side")
    cancel_grace_seconds: float = Field(default=10.0, ge=0, description="wait before a hard kill")
    job_lease_seconds: float = Field(default=15.0, gt=0, description=(
        "a running job's supervisor renews its lease every third of this; once it lapses (worker, node or server "
        "gone) any live worker or server marks the job interrupted within this plus a third"))
    database_retry_seconds: float = Field(default=30.0, ge=0, description=(
        "a job keeps working through a database outage this long (writes are retried, then it stops; nothing stored "
        "is lost and a resumable job resumes once the database is back)"))
    auto_resume: bool = Field(default=True, description=(
        "queue resumable jobs (extraction, training) again, on any worker, after an interruption by a lost worker "
        "or a restart; they continue from their last checkpoint"))
    auto_resume_attempts: int = Field(default=3, ge=0, description=(
        "automatic resumptions of one piece of work at most (a job that keeps killing its worker stops being retried)"))
    max_request_bytes: int = Field(default=1_048_576, ge=1024, description="largest accepted request body")
    memory_budget_gb: float = Field(default=6.0, gt=0, description="memory budget models are sized against (6 GB edge)")
    model_load_timeout_seconds: float = Field(default=300, gt=0, description="a model load taking longer fails")
    upload_max_bytes: int = Field(default=2 * 1024**3, ge=1024, description="largest dataset upload (413 above)")
    examples_dir: Path | None = Field(default=None, description="example corpora cache; unset = <home>/examples")
    downloads_per_hour: int = Field(default=10, ge=1, description="model downloads accepted per hour (429 above)")
    host_memory_gb: float = Field(default=6.0, gt=0, description="memory the model host may keep models warm in")
    host_idle_unload_seconds: float = Field(default=600, gt=0, description="the host unloads a model unused this long")
    model_host: Literal["local", "workers"] = Field(default="local", description=(
        "where interactive requests run: local = a child of the server (or CLI); workers = host workers on GPU "
        "nodes (`mistudio worker --queues interactive`, scaled mode, needs MISTUDIO_REDIS_URL)"))
    host_queue_timeout_seconds: float = Field(default=30.0, gt=0, description=(
        "with model_host=workers: a request no host worker takes this long fails with a message saying so"))
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="auto: readable lines at a terminal, JSON lines when logs go to a file or pipe")
    log_level: str = "INFO"
    # Extra modules that register job kinds (the tests use this for their test-only kinds).
    job_modules: list[str] = Field(default_factory=list)

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        if value in ("auto", "cpu") or (value.startswith("cuda") and value[5:].isdigit() or value == "cuda"):
            return value
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {value!r}")

    @field_validator("hf_endpoint")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'mistudio.db'}"

    @property
    def runner_mode(self) -> Literal["local", "celery"]:
        return "celery" if self.redis_url else "local"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; keyword overrides win (used by CLI flags and tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]
