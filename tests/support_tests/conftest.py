"""Fixtures for the support-package tests.

The fixtures are imported rather than listed in `pytest_plugins`: pytest only accepts that in the top-level
conftest. Once tests/conftest.py lists "tests.support.hub_fixtures", this import can go.
"""

from tests.support.hub_fixtures import (  # noqa: F401
    fake_hub,
    hf_env,
    shakespeare_dir,
    smollm2_dir,
    smollm2_gguf_path,
    tiny_models,
)
