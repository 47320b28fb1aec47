"""Fixtures shared by the lens tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM

from tests.lens.test_architecture import build_extra_model
from tests.support.tiny_models import TINY_FAMILIES


@pytest.fixture(scope="module")
def load_model(tiny_models: Any) -> Callable[[str], torch.nn.Module]:
    """family → the tiny model in eval mode, loaded once per module."""
    loaded: dict[str, torch.nn.Module] = {}

    def load(family: str) -> torch.nn.Module:
        if family not in loaded:
            model = (AutoModelForCausalLM.from_pretrained(tiny_models(family)) if family in TINY_FAMILIES
                     else build_extra_model(family))
            loaded[family] = model.eval()
        return loaded[family]

    return load
