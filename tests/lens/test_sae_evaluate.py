"""lens.sae.evaluate: CE loss recovered and KL with an SAE spliced in, against independent computations."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.config import SAEConfig
from mistudio.lens.sae.evaluate import evaluate_spliced, firing_frequency

IDS = torch.randint(5, 500, (3, 9), generator=torch.Generator().manual_seed(2))


def _random_sae(d: int, hook_point: str, seed: int = 0) -> SparseAutoencoder:
    sae = SparseAutoencoder(SAEConfig("topk", d_in=d, d_sae=4 * d, k=8, hook_point=hook_point), seed=seed)
    with torch.no_grad():
        sae.b_dec.normal_(generator=torch.Generator().manual_seed(seed))
    return sae


def _identity_sae(d: int, hook_point: str) -> SparseAutoencoder:
    """relu(x) − relu(−x) = x exactly: an SAE that reconstructs perfectly."""
    sae = SparseAutoencoder(SAEConfig("standard", d_in=d, d_sae=2 * d, hook_point=hook_point))
    eye = torch.eye(d)
    with torch.no_grad():
        sae.W_enc.copy_(torch.cat([eye, -eye], dim=1))
        sae.W_dec.copy_(torch.cat([eye, -eye], dim=0))
        sae.b_enc.zero_()
        sae.b_dec.zero_()
    return sae


def _ce_and_log_probs(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flat = logits[:, :-1].reshape(-1, logits.shape[-1]).float()
    return F.cross_entropy(flat, IDS[:, 1:].reshape(-1)), F.log_softmax(flat, dim=-1)


def test_ce_and_kl_at_resid_pre_of_block_0_equal_calling_the_model_with_reconstructed_embeddings(
        load_model: Callable[[str], torch.nn.Module]) -> None:
    model = load_model("llama")
    embeddings = model.get_input_embeddings()(IDS)
    sae = _random_sae(embeddings.shape[-1], "blocks.0.resid_pre")
    with torch.no_grad():
        clean, clean_log_probs = _ce_and_log_probs(model(input_ids=IDS).logits)
        spliced, spliced_log_probs = _ce_and_log_probs(model(inputs_embeds=sae(embeddings)).logits)
        zero, _ = _ce_and_log_probs(model(inputs_embeds=torch.zeros_like(embeddings)).logits)
    kl = F.kl_div(spliced_log_probs, clean_log_probs, log_target=True, reduction="batchmean")
    result = evaluate_spliced(model, sae, IDS, batch_size=2)
    assert result.tokens == IDS.shape[0] * (IDS.shape[1] - 1)
    assert result.ce_clean == pytest.approx(float(clean), rel=1e-5)
    assert result.ce_sae == pytest.approx(float(spliced), rel=1e-5)
    assert result.ce_zero == pytest.approx(float(zero), rel=1e-5)
    assert result.kl == pytest.approx(float(kl), rel=1e-4)
    # a random tiny model: the zero/clean gap is small, so the ratio amplifies float32 rounding
    assert result.ce_recovered == pytest.approx(float((zero - spliced) / (zero - clean)), rel=1e-3)


def test_a_perfect_reconstruction_recovers_all_of_the_loss_with_zero_kl(load_model) -> None:
    model = load_model("llama")
    result = evaluate_spliced(model, _identity_sae(model.config.hidden_size, "blocks.1.resid_post"), IDS)
    assert result.ce_sae == pytest.approx(result.ce_clean, abs=1e-5)
    assert result.ce_recovered == pytest.approx(1.0, abs=1e-4)
    assert result.kl == pytest.approx(0.0, abs=1e-6)


def test_padding_positions_are_not_scored(load_model) -> None:
    model = load_model("llama")
    mask = torch.ones_like(IDS)
    mask[0, 6:] = 0  # the first sequence has 6 real tokens
    result = evaluate_spliced(model, _identity_sae(model.config.hidden_size, "blocks.0.resid_post"), IDS, mask)
    assert result.tokens == 5 + 2 * 8


def test_a_transcoder_replaces_its_target_from_its_input(load_model) -> None:
    model = load_model("llama")
    d = model.config.hidden_size
    transcoder = SparseAutoencoder(SAEConfig("standard", d_in=d, d_sae=4 * d, hook_point="blocks.0.resid_pre",
                                             target_hook_point="blocks.0.mlp_out"))
    result = evaluate_spliced(model, transcoder, IDS)
    assert result.ce_sae != pytest.approx(result.ce_clean)
    assert result.kl > 0


def test_firing_frequency_counts_active_tokens():
    sae = _identity_sae(4, "blocks.0.resid_pre")
    x = torch.tensor([[1.0, 0, 0, 0], [1.0, -1.0, 0, 0]])
    assert firing_frequency(sae, x).tolist() == [1.0, 0, 0, 0, 0, 0.5, 0, 0]
