"""The features tests' studio is the session's `features_studio` (tests/support/features_studio.py), shared with the
steering tests so that it is built once per run."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def studio(features_studio: dict[str, Any]) -> dict[str, Any]:
    return features_studio
