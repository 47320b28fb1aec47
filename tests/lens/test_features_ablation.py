"""lens.features.ablation: Δ next-token loss against running the model on edited embeddings by hand."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.features.ablation import ablation_effects
from mistudio.lens.features.analysis import analyze_features
from mistudio.lens.features.config import AnalysisConfig
from mistudio.lens.features.result import Examples
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.config import SAEConfig
from tests.lens.test_features_analysis import make_inputs, make_sae

CONTEXT = 3
CONFIG = AnalysisConfig(top_k=3, context=CONTEXT, per_interval=0, correlations=0, batch_size=7)


def _losses(logits: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, position: int) -> np.ndarray:
    out = []
    for where in range(position - CONTEXT, position + CONTEXT + 1):
        if 0 <= where < len(ids) - 1 and mask[where] and mask[where + 1]:
            out.append(float(F.cross_entropy(logits[where].float(), ids[where + 1])))
        else:
            out.append(float("nan"))
    return np.array(out)


@torch.no_grad()
def _brute_delta(model: torch.nn.Module, sae: SparseAutoencoder, ids: torch.Tensor, mask: torch.Tensor,
                 latent: int, position: int) -> tuple[np.ndarray, np.ndarray]:
    """blocks.0.resid_pre is the embeddings: take the latent's part off them and call the model on them."""
    embeddings = model.get_input_embeddings()(ids[None])
    codes = sae.encode(embeddings)
    edited = embeddings - codes[..., latent:latent + 1] * sae.W_dec[latent] / sae.config.output_scale
    clean = model(inputs_embeds=embeddings, attention_mask=mask[None]).logits[0]
    ablated = model(inputs_embeds=edited, attention_mask=mask[None]).logits[0]
    before = _losses(clean, ids, mask, position)
    return before, _losses(ablated, ids, mask, position) - before


@pytest.fixture(scope="module")
def analysed(load_model: Callable[[str], torch.nn.Module]) -> dict:
    model = load_model("llama")
    ids, mask = make_inputs()
    sae = make_sae(hook_point="blocks.0.resid_pre")
    with torch.no_grad():
        sae.W_dec.mul_(0.1)  # the encoder reads the embeddings ×40, the decoder writes unscaled: keep edits their size
    result = analyze_features(model, sae, ids, CONFIG, attention_mask=mask)
    chosen = np.isin(result.examples.latent, [0, 5, 11, 30])
    return {"model": model, "ids": ids, "mask": mask, "sae": sae, "examples": result.examples.select(chosen)}


def test_delta_loss_equals_the_model_run_on_embeddings_without_the_latents_part(analysed: dict) -> None:
    model, sae, ids, mask, examples = (analysed[k] for k in ("model", "sae", "ids", "mask", "examples"))
    effects = ablation_effects(model, sae, ids, examples, attention_mask=mask, batch_size=5)
    assert len(effects.latent) == len(examples) >= 8
    for row in range(len(examples)):
        sequence, latent, position = (int(examples.sequence[row]), int(examples.latent[row]),
                                      int(examples.position[row]))
        loss, delta = _brute_delta(model, sae, ids[sequence], mask[sequence], latent, position)
        np.testing.assert_allclose(effects.loss[row], loss, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(effects.delta_loss[row], delta, rtol=1e-3, atol=1e-5)
    assert np.nanmax(np.abs(effects.delta_loss)) > 1e-4  # the ablation really changed something
    assert np.isnan(effects.delta_loss).any()  # windows reaching past the sequence have no next token there
    means = effects.mean_peak_delta(sae.width)
    for latent in (0, 5, 11, 30):
        mine = effects.peak_delta[effects.latent == latent]
        expected = np.nanmean(mine) if (~np.isnan(mine)).any() else np.nan
        np.testing.assert_allclose(means[latent], expected, rtol=1e-6)
    assert np.isnan(means[1])  # a latent with no examples given


def test_a_latent_silent_on_a_sequence_leaves_its_losses_exactly_unchanged(analysed: dict) -> None:
    model, ids, mask = analysed["model"], analysed["ids"], analysed["mask"]
    sae = copy.deepcopy(analysed["sae"])
    with torch.no_grad():
        sae.b_enc[9] = -1e4  # latent 9 never fires: only the SAE's error term would be left to change anything
    examples = Examples(latent=np.array([9, 9]), kind=np.zeros(2, np.int8), rank=np.arange(2),
                        interval=np.full(2, -1), activation=np.zeros(2), sequence=np.array([1, 4]),
                        position=np.array([5, 20]), tokens=np.zeros((2, 2 * CONTEXT + 1), np.int64),
                        activations=np.zeros((2, 2 * CONTEXT + 1), np.float32))
    effects = ablation_effects(model, sae, ids, examples, attention_mask=mask)
    assert np.array_equal(effects.delta_loss[~np.isnan(effects.delta_loss)], np.zeros(13))


def test_a_transcoder_reads_its_input_point_and_takes_the_latent_off_its_target(analysed: dict) -> None:
    model, ids, mask = analysed["model"], analysed["ids"], analysed["mask"]
    transcoder = SparseAutoencoder(SAEConfig("standard", d_in=64, d_sae=16, hook_point="blocks.0.resid_pre",
                                             target_hook_point="blocks.0.mlp_out", input_scale=40.0), seed=4)
    with torch.no_grad():
        transcoder.b_enc.fill_(0.5)  # every latent fires somewhere
    examples = Examples(latent=np.array([3, 7]), kind=np.zeros(2, np.int8), rank=np.arange(2),
                        interval=np.full(2, -1), activation=np.zeros(2), sequence=np.array([2, 6]),
                        position=np.array([10, 4]), tokens=np.zeros((2, 2 * CONTEXT + 1), np.int64),
                        activations=np.zeros((2, 2 * CONTEXT + 1), np.float32))
    effects = ablation_effects(model, transcoder, ids, examples, attention_mask=mask)
    for row, (latent, sequence, position) in enumerate([(3, 2, 10), (7, 6, 4)]):
        with torch.no_grad():
            embeddings = model.get_input_embeddings()(ids[sequence][None])
            part = transcoder.encode(embeddings)[..., latent:latent + 1] * transcoder.W_dec[latent]
            # the test's own torch hook on the MLP: an implementation independent of lens.hooks
            handle = model.model.layers[0].mlp.register_forward_hook(lambda module, args, out, part=part: out - part)
            try:
                ablated = model(input_ids=ids[sequence][None], attention_mask=mask[sequence][None]).logits[0]
            finally:
                handle.remove()
            clean = model(input_ids=ids[sequence][None], attention_mask=mask[sequence][None]).logits[0]
        before = _losses(clean, ids[sequence], mask[sequence], position)
        after = _losses(ablated, ids[sequence], mask[sequence], position)
        np.testing.assert_allclose(effects.delta_loss[row], after - before, rtol=1e-3, atol=1e-5)
        assert np.nanmax(np.abs(effects.delta_loss[row])) > 0


def test_stopping_returns_the_examples_done_so_far_and_a_latent_out_of_range_is_refused(analysed: dict) -> None:
    model, sae, ids, examples = analysed["model"], analysed["sae"], analysed["ids"], analysed["examples"]
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    progress: list[tuple[int, int]] = []
    effects = ablation_effects(model, sae, ids, examples, attention_mask=analysed["mask"], batch_size=3,
                               should_stop=should_stop, on_progress=lambda done, total: progress.append((done, total)))
    assert len(effects.latent) == 3 and progress == [(3, len(examples))]
    wrong = examples.select(np.arange(len(examples)) < 1)
    wrong.latent = np.array([sae.width])
    with pytest.raises(InvalidArgument, match="out of range"):
        ablation_effects(model, sae, ids, wrong)
