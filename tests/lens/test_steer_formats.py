"""Steering works on every variant the host loads (fp16, bf16, and the quantized q8 / q4 / q2 where their backend
runs here): the hook sees that variant's activations, adds and clamps in fp32 and writes back in its dtype.

Independent checks per format: zero strength leaves the greedy text unchanged; a strong direction changes it; an
ablation reads back (re-encoded by the SAE in fp32 after the hook) as the feature at ~0 with the residual otherwise
unchanged up to the variant's rounding.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from mistudio.lens.model import ModelHandle, open_model
from mistudio.lens.quantize import format_availability
from mistudio.lens.steer import AddDirection, GenerationSettings, ablate_feature, add_feature, compare, steering_hooks
from tests.lens.test_steer_interventions import D_MODEL, PROMPT, active_feature, make_sae, prompt_ids

GREEDY = GenerationSettings(max_new_tokens=8, temperature=0.0, seed=1)
POINT = "blocks.0.resid_post"
NEXT = "blocks.1.resid_pre"  # the same residual, read after the intervention at POINT


@pytest.fixture(scope="module", params=["fp16", "bf16", "q8", "q4", "q2"])
def handle(request: pytest.FixtureRequest, tiny_models: Any) -> ModelHandle:
    availability = format_availability(request.param, "cpu")
    if not availability.available:
        pytest.skip(f"{request.param} does not run here: {availability.reason}")
    opened = open_model(tiny_models("llama"), request.param)
    assert opened.format == request.param
    return opened


def _residual(handle: ModelHandle, ids: torch.Tensor, interventions: list[Any]) -> torch.Tensor:
    seen: dict[str, torch.Tensor] = {}
    readers = {NEXT: lambda activation, context: seen.__setitem__("a", activation.detach().clone())}
    with torch.no_grad(), steering_hooks(handle, interventions, readers=readers) as hooks:
        hooks.run(input_ids=ids)
    return seen["a"]


def test_zero_strength_keeps_the_text_and_a_strong_direction_changes_it(handle: ModelHandle) -> None:
    sae = make_sae(POINT)
    unchanged = compare(handle, PROMPT, [add_feature(sae, 7, 0.0)], GREEDY)
    assert torch.equal(unchanged.baseline.output_ids, unchanged.steered.output_ids)
    push = 30.0 * torch.randn(D_MODEL, generator=torch.Generator().manual_seed(3))
    pushed = compare(handle, PROMPT, [AddDirection(POINT, push)], GREEDY)
    assert torch.equal(pushed.baseline.output_ids, unchanged.baseline.output_ids)
    assert not torch.equal(pushed.steered.output_ids, pushed.baseline.output_ids)


def test_an_ablated_feature_reads_back_as_zero_in_the_variants_dtype(handle: ModelHandle) -> None:
    sae = make_sae(POINT)
    ids = prompt_ids(handle)
    clean = _residual(handle, ids, [])
    last = ids.shape[1] - 1
    feature = active_feature(sae, clean.float(), last)
    ablated = _residual(handle, ids, [ablate_feature(sae, feature)])
    assert ablated.dtype == clean.dtype  # written back in the variant's own dtype
    with torch.no_grad():
        before = sae.encode(clean[0, last].float())[feature]
        after = sae.encode(ablated[0, last].float())[feature]
    assert float(before) > 0 and abs(float(after)) <= 0.05 * float(before)
    # Only the feature's direction changed: the residual minus that change is the clean one, up to rounding.
    direction = sae.W_dec[feature].detach().float()
    change = (ablated[0, last].float() - clean[0, last].float())
    off_direction = change - (change @ direction) / (direction @ direction) * direction
    assert float(off_direction.norm()) <= 0.02 * float(clean[0, last].float().norm())
