"""lens.features.logit_lens and neighbours: against the weights multiplied out by hand."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.features.logit_lens import logit_lens
from mistudio.lens.features.neighbours import nearest_latents, top_cosine
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.config import SAEConfig


def _with_random_final_norm(model: torch.nn.Module, norm: torch.nn.Module) -> None:
    """Random gain (and bias) so a lens that skipped the norm's gain, or kept its bias, would differ."""
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        norm.weight.copy_(0.5 + torch.rand(norm.weight.shape, generator=generator))
        if getattr(norm, "bias", None) is not None:
            norm.bias.copy_(torch.randn(norm.bias.shape, generator=generator))


def _sae(d: int, width: int = 40, seed: int = 0) -> SparseAutoencoder:
    sae = SparseAutoencoder(SAEConfig("standard", d_in=d, d_sae=width, decoder_norm="in_loss"), seed=seed)
    with torch.no_grad():  # rows of unequal norms: the lens must not depend on them
        sae.W_dec.mul_(torch.rand(width, 1, generator=torch.Generator().manual_seed(seed)) * 5 + 0.1)
    return sae


def test_llama_rmsnorm_lens_is_the_gain_times_the_unit_rms_direction_through_the_head(
        load_model: Callable[[str], torch.nn.Module]) -> None:
    model = copy.deepcopy(load_model("llama"))
    norm = model.model.norm
    _with_random_final_norm(model, norm)
    sae = _sae(model.config.hidden_size)
    result = logit_lens(model, sae, n=5, chunk=7)
    d = model.config.hidden_size
    unit = sae.W_dec / sae.W_dec.norm(dim=1, keepdim=True) * d ** 0.5
    normed = norm.weight * unit / (unit.pow(2).mean(dim=1, keepdim=True) + norm.variance_epsilon).sqrt()
    expected = (normed @ model.lm_head.weight.T).detach()
    top, top_ids = expected.topk(5, dim=1)
    low, low_ids = expected.topk(5, dim=1, largest=False)
    assert torch.equal(result.promoted_tokens, top_ids) and torch.equal(result.suppressed_tokens, low_ids)
    torch.testing.assert_close(result.promoted_logits, top, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(result.suppressed_logits, low, rtol=1e-5, atol=1e-5)
    assert (result.suppressed_logits < 0).all() and (result.promoted_logits > 0).all()


def test_gpt2_layernorm_lens_centres_scales_by_the_gain_and_drops_the_bias(
        load_model: Callable[[str], torch.nn.Module]) -> None:
    model = copy.deepcopy(load_model("gpt2"))
    norm = model.transformer.ln_f
    _with_random_final_norm(model, norm)
    sae = _sae(model.config.n_embd, seed=1)
    result = logit_lens(model, sae, n=4)
    d = model.config.n_embd
    unit = sae.W_dec / sae.W_dec.norm(dim=1, keepdim=True) * d ** 0.5
    centred = unit - unit.mean(dim=1, keepdim=True)
    normed = norm.weight * centred / (centred.pow(2).mean(dim=1, keepdim=True) + norm.eps).sqrt()
    expected = (normed @ model.transformer.wte.weight.T).detach()  # tied unembedding
    top, top_ids = expected.topk(4, dim=1)
    assert torch.equal(result.promoted_tokens, top_ids)
    torch.testing.assert_close(result.promoted_logits, top, rtol=1e-5, atol=1e-5)


def test_the_lens_of_chosen_latents_equals_their_rows_of_the_full_lens(load_model) -> None:
    model = load_model("llama")
    sae = _sae(model.config.hidden_size)
    full = logit_lens(model, sae, n=3)
    chosen = torch.tensor([5, 0, 17])
    part = logit_lens(model, sae, n=3, latents=chosen)
    assert torch.equal(part.promoted_tokens, full.promoted_tokens[chosen])
    torch.testing.assert_close(part.suppressed_logits, full.suppressed_logits[chosen])


def test_an_sae_of_another_width_is_refused(load_model) -> None:
    with pytest.raises(InvalidArgument, match="another model"):
        logit_lens(load_model("llama"), _sae(32))


@pytest.mark.parametrize("chunk", [5, 4096])
def test_nearest_latents_equal_the_top_of_the_full_cosine_matrix(chunk: int) -> None:
    sae = _sae(16, width=33, seed=2)
    found = nearest_latents(sae, n=6, chunk=chunk)
    cosine = F.cosine_similarity(sae.W_dec[:, None, :], sae.W_dec[None, :, :], dim=-1).detach()
    cosine.fill_diagonal_(-2.0)
    for latent in range(33):
        expected = sorted(range(33), key=lambda other: -float(cosine[latent, other]))[:6]
        assert found.indices[latent].tolist() == expected
        torch.testing.assert_close(found.cosine[latent], cosine[latent, expected], rtol=1e-5, atol=1e-6)


def test_a_direction_repeated_with_another_norm_is_its_own_nearest_latent_at_cosine_one() -> None:
    vectors = torch.randn(10, 8, generator=torch.Generator().manual_seed(4))
    vectors[7] = vectors[2] * 3.0
    found = top_cosine(vectors, 1, chunk=3)
    assert found.indices[2, 0] == 7 and found.indices[7, 0] == 2
    assert float(found.cosine[2, 0]) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(InvalidArgument, match="n must be"):
        top_cosine(vectors, 10)
