"""Our stored activations equal what TransformerLens (TransformerBridge) and nnsight give for the same hook points,
on the tiny gpt2 and llama models, for every hook point type (both peers are installed by `make test`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mistudio.lens.extraction import extract, open_activations
from mistudio.lens.hooks import HOOK_TYPES
from tests.support.hub_fixtures import TinyModels

FAMILIES = ("gpt2", "llama")
LAYERS = 2
SEQUENCES = [np.array([5, 17, 99, 120, 7, 300, 44], dtype=np.int32), np.array([9, 81, 3, 250], dtype=np.int32)]
POINTS = [f"blocks.{layer}.{hook}" for layer in range(LAYERS) for hook in HOOK_TYPES]


def _ours(model: torch.nn.Module, folder: Path) -> dict[str, list[np.ndarray]]:
    """Each sequence's stored [length, d] activations (batched and padded together, as in a real extraction)."""
    extract(model, SEQUENCES, folder, hook_points=POINTS, batch_size=2)
    stored = open_activations(folder)
    return {point: [np.asarray(stored[point][i, :len(ids)]) for i, ids in enumerate(SEQUENCES)] for point in POINTS}


def _transformerlens(folder: Path) -> dict[str, list[np.ndarray]]:
    from transformer_lens.model_bridge import TransformerBridge

    bridge = TransformerBridge.boot_transformers(str(folder), device="cpu", dtype=torch.float32)
    bridge.eval()
    prefix, hook = "blocks.{}.", "hook_{}"  # TransformerLens: blocks.3.resid_post is blocks.3.hook_resid_post
    names = {point: prefix.format(point.split(".")[1]) + hook.format(point.split(".")[2]) for point in POINTS}
    out: dict[str, list[np.ndarray]] = {point: [] for point in POINTS}
    for ids in SEQUENCES:
        with torch.inference_mode():
            _, cache = bridge.run_with_cache(torch.tensor(ids[None], dtype=torch.long),
                                             names_filter=list(names.values()))
        for point, name in names.items():
            out[point].append(cache[name][0].float().numpy())
    return out


def _first(value: Any) -> torch.Tensor:
    return value[0] if isinstance(value, tuple) else value


def _nnsight(folder: Path, family: str) -> dict[str, list[np.ndarray]]:
    from nnsight import LanguageModel

    model = LanguageModel(str(folder), dispatch=True, device_map="cpu", dtype=torch.float32)
    blocks = model.transformer.h if family == "gpt2" else model.model.layers
    out: dict[str, list[np.ndarray]] = {point: [] for point in POINTS}
    for ids in SEQUENCES:
        saved = {}
        with torch.inference_mode(), model.trace(torch.tensor(ids[None], dtype=torch.long)):
            for layer in range(LAYERS):
                block = blocks[layer]
                attention = block.attn if family == "gpt2" else block.self_attn
                # nnsight wants values in the order the model computes them
                saved[f"blocks.{layer}.resid_pre"] = block.inputs.save()
                saved[f"blocks.{layer}.attn_out"] = attention.output.save()
                saved[f"blocks.{layer}.mlp_out"] = block.mlp.output.save()
                saved[f"blocks.{layer}.resid_post"] = block.output.save()
        for point, value in saved.items():
            if point.endswith("resid_pre"):
                args, kwargs = value
                value = args[0] if args else kwargs["hidden_states"]
            out[point].append(_first(value)[0].float().numpy())
    return out


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("peer", ["transformerlens", "nnsight"])
def test_stored_activations_equal_the_peers_values(family: str, peer: str, tiny_models: TinyModels,
                                                   load_model: Callable[[str], torch.nn.Module],
                                                   tmp_path: Path) -> None:
    folder = tiny_models(family)
    ours = _ours(load_model(family), tmp_path / "ours")
    theirs = _transformerlens(folder) if peer == "transformerlens" else _nnsight(folder, family)
    for point in POINTS:
        for i, expected in enumerate(theirs[point]):
            assert ours[point][i].shape == expected.shape, (point, i)
            # fp32 on both sides; batching with padding vs one sequence alone changes kernel rounding only
            np.testing.assert_allclose(ours[point][i], expected, rtol=1e-4, atol=1e-5, err_msg=f"{peer} {point} #{i}")
