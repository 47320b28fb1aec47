from __future__ import annotations

import os

import pytest

from tests.support.assets import assets_cache_dir

# The studio's example corpora (Shakespeare) come from the same once-per-machine cache as the test assets, so
# no test home fetches them again; set before any Settings is built, and inherited by job child processes.
os.environ["MISTUDIO_EXAMPLES_DIR"] = str(assets_cache_dir())

pytest_plugins = ["tests.support.platform_fixtures", "tests.support.hub_fixtures", "tests.support.api_fixtures",
                  "tests.support.browser", "tests.support.event_contract", "tests.support.features_studio",
                  "tests.support.cli_studio"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`gpu` tests skip (with the reason printed) where torch sees no CUDA device, as in CI. (Tests run on two
    pytest-xdist workers; each worker has its own Redis database, tests/support/services.py, and PostgreSQL
    tests each make their own database.)"""
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_items:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU; torch.cuda.is_available() is False here")
        for item in gpu_items:
            item.add_marker(skip)
