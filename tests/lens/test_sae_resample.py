"""lens.sae.resample: dead latents restart toward the tokens reconstructed worst, their optimizer state cleared;
a run that resamples resumes byte-identical."""

from __future__ import annotations

import pytest
import torch

from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.buffer import TensorSource
from mistudio.lens.sae.config import SAEConfig
from mistudio.lens.sae.resample import ENCODER_NORM_FACTOR, resample_dead_latents
from mistudio.lens.sae.trainer import Hyperparameters, TrainConfig, TrainingStopped, train
from tests.lens.sae_data import sparse_activations


@pytest.mark.parametrize("decoder_norm", ["unit", "in_loss"])
def test_a_dead_latent_restarts_on_the_worst_reconstructed_token(decoder_norm):
    torch.manual_seed(0)
    d, width = 8, 32
    sae = SparseAutoencoder(SAEConfig("standard", d_in=d, d_sae=width, decoder_norm=decoder_norm), seed=1)
    with torch.no_grad():
        sae.b_dec.copy_(torch.randn(d) * 0.1)
        sae.b_enc.fill_(0.3)
    x = torch.randn(50, d) * 0.01
    x[[17, 33]] = torch.randn(2, d) * 1e3  # the two tokens whose losses dominate the draw
    optimizer = torch.optim.Adam(sae.parameters(), lr=1e-3)
    sae(x).pow(2).sum().backward()
    optimizer.step()  # moments everywhere
    before = {name: p.detach().clone() for name, p in sae.named_parameters()}
    moments = {name: optimizer.state[p]["exp_avg"].clone() for name, p in sae.named_parameters()}
    dead = torch.zeros(width, dtype=torch.bool)
    dead[[3, 20]] = True
    alive = ~dead

    assert resample_dead_latents(sae, optimizer, dead, x, x, seed=5) == 2

    centred = x[[17, 33]] - sae.b_dec
    directions = centred / centred.norm(dim=1, keepdim=True)
    decoder_norm_expected = 1.0 if decoder_norm == "unit" else before["W_dec"][alive].norm(dim=1).mean()
    encoder_norm_expected = ENCODER_NORM_FACTOR * before["W_enc"][:, alive].norm(dim=0).mean()
    drawn = []
    for latent in (3, 20):  # each restarts on one of the two worst tokens, a different one each (no replacement)
        token = int((sae.W_dec[latent] @ directions.t()).argmax())
        drawn.append(token)
        assert torch.allclose(sae.W_dec[latent], directions[token] * decoder_norm_expected, atol=1e-5)
        assert torch.allclose(sae.W_enc[:, latent], directions[token] * encoder_norm_expected, atol=1e-5)
        assert sae.b_enc[latent] == 0
    assert sorted(drawn) == [0, 1]
    params = dict(sae.named_parameters())
    assert torch.equal(params["W_dec"][alive], before["W_dec"][alive])  # nothing else moved
    assert torch.equal(params["W_enc"][:, alive], before["W_enc"][:, alive])
    assert torch.equal(params["b_dec"], before["b_dec"])
    state = {name: optimizer.state[p]["exp_avg"] for name, p in params.items()}
    assert state["W_dec"][dead].abs().sum() == 0 and state["W_enc"][:, dead].abs().sum() == 0
    assert state["b_enc"][dead].abs().sum() == 0
    assert torch.equal(state["W_dec"][alive], moments["W_dec"][alive])
    assert torch.equal(state["b_dec"], moments["b_dec"])


def test_nothing_dead_changes_nothing():
    sae = SparseAutoencoder(SAEConfig("topk", d_in=4, d_sae=8, k=2), seed=0)
    before = [p.detach().clone() for p in sae.parameters()]
    assert resample_dead_latents(sae, None, torch.zeros(8, dtype=torch.bool), torch.randn(5, 4), torch.randn(5, 4),
                                 seed=0) == 0
    assert all(torch.equal(a, b) for a, b in zip(before, sae.parameters(), strict=True))


def test_a_resampling_run_revives_latents_and_resumes_byte_identical(tmp_path):
    """A strong L1 kills latents; resampling brings them back (fewer dead at the end than without), and a run
    stopped between resamplings resumes to the same weights as one that never stopped."""
    source = TensorSource(sparse_activations(tokens=20_000, d=16, features=64), holdout_fraction=0.1)
    config = TrainConfig(steps=60, batch_tokens=256, log_every=20, checkpoint_every=20, keep_checkpoints=5,
                         dead_window_tokens=256 * 8)

    def sae() -> SparseAutoencoder:
        return SparseAutoencoder(SAEConfig("standard", d_in=16, d_sae=128, decoder_norm="in_loss"), seed=3)

    def hyper(every: int) -> Hyperparameters:
        return Hyperparameters(lr=3e-3, sparsity_coefficient=8.0, resample_every=every)

    without = train([sae()], source, config, hyperparameters=hyper(0))
    straight = sae()
    with_resampling = train([straight], source, config, hyperparameters=hyper(20))
    resampled = [entry[0].get("resampled", 0.0) for entry in with_resampling.history]
    assert sum(resampled) > 0
    assert with_resampling.final[0]["dead_fraction"] < without.final[0]["dead_fraction"]

    calls = {"n": 0}

    def stop_at_step_30() -> bool:
        calls["n"] += 1
        return calls["n"] > 30

    with pytest.raises(TrainingStopped):
        train([sae()], source, config, hyperparameters=hyper(20), checkpoints=tmp_path, should_stop=stop_at_step_30)
    resumed = SparseAutoencoder(SAEConfig("standard", d_in=16, d_sae=128, decoder_norm="in_loss"), seed=99)
    train([resumed], source, config, hyperparameters=hyper(20), checkpoints=tmp_path)
    for name, tensor in straight.state_dict().items():
        assert torch.equal(tensor, resumed.state_dict()[name]), name
