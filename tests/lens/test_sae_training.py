"""lens.sae: every architecture learns, the loop's promises (resume, stop, NaN, checkpoints) hold."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.sae import checkpoints as checkpoint_module
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.buffer import TensorSource
from mistudio.lens.sae.checkpoints import CheckpointDiskFull, CheckpointStore
from mistudio.lens.sae.config import InvalidSAEConfig, SAEConfig
from mistudio.lens.sae.trainer import Hyperparameters, TrainConfig, TrainingDiverged, TrainingStopped, train
from tests.lens.sae_data import sparse_activations

D, WIDTH = 32, 256
K_ARCHS = {"topk", "batchtopk", "matryoshka"}
SPARSITY = {"standard": 1.0, "gated": 4.0, "jumprelu": 0.3}


def _config(architecture: str, **overrides) -> SAEConfig:
    options = {"k": 6 if architecture in K_ARCHS else None,
               "matryoshka_prefixes": [32, 128, WIDTH] if architecture == "matryoshka" else None,
               "decoder_norm": "unit" if architecture in K_ARCHS else "in_loss"}
    return SAEConfig(architecture, d_in=D, d_sae=WIDTH, **{**options, **overrides})


@pytest.fixture(scope="module")
def source() -> TensorSource:
    return TensorSource(sparse_activations(), holdout_fraction=0.1, buffer_tokens=8192)


@pytest.mark.parametrize("architecture", ["standard", "topk", "batchtopk", "jumprelu", "gated", "matryoshka"])
def test_every_architecture_learns_a_sparse_reconstruction(architecture, source):
    sae = SparseAutoencoder(_config(architecture), seed=1)
    untrained = train([SparseAutoencoder(_config(architecture), seed=1)], source, TrainConfig(steps=1,
                                                                                                  batch_tokens=512))
    result = train([sae], source, TrainConfig(steps=300, batch_tokens=512, log_every=100),
                   hyperparameters=Hyperparameters(lr=2e-3, sparsity_coefficient=SPARSITY.get(architecture, 0),
                                                   sparsity_warmup_steps=50))
    final = result.final[0]
    assert final["holdout_fvu"] < 0.5 * untrained.final[0]["holdout_fvu"]
    # batchtopk and matryoshka are evaluated with their learned threshold, not the batch rule they trained with
    assert final["holdout_fvu"] < (0.5 if architecture in ("batchtopk", "matryoshka") else 0.35)
    print(architecture, {key: round(value, 3) for key, value in final.items() if key.startswith("holdout")})
    assert 0 < final["holdout_l0"] < 0.5 * WIDTH
    if architecture == "topk":
        assert final["holdout_l0"] == pytest.approx(6)
    assert [round(m[0]["step"]) for m in result.history] == [100, 200, 300]


def test_holdout_tokens_are_never_trained_on():
    x = torch.arange(100, dtype=torch.float32)[:, None].repeat(1, 4)
    source = TensorSource(x, holdout_fraction=0.2, chunk_samples=3, buffer_tokens=10)
    seen = torch.cat([batch.x for batch, _ in zip(source.batches(8), range(30), strict=False)])
    assert set(seen[:, 0].tolist()) == set(range(80))  # every training token, over several epochs
    assert set(source.holdout().x[:, 0].tolist()) == set(range(80, 100))


class _CountingSource(TensorSource):
    """Records every hold-out read: a streamed source runs the model over each one."""

    def __init__(self, *args, **options) -> None:
        super().__init__(*args, **options)
        self.holdout_reads: list[tuple[int, int]] = []

    def read(self, start: int, end: int):
        if start >= self.train_samples:
            self.holdout_reads.append((start, end))
        return super().read(start, end)


def test_a_sweep_with_checkpoints_reads_only_the_holdout_it_evaluates_on_once(tmp_path):
    x = torch.randn(100, 10, 8)  # 100 samples of 10 tokens; 20 held out
    source = _CountingSource(x, holdout_fraction=0.2, buffer_tokens=200)
    config = TrainConfig(steps=20, batch_tokens=64, log_every=5, eval_every=5, checkpoint_every=5, eval_tokens=35)
    saes = [SparseAutoencoder(SAEConfig("topk", d_in=8, d_sae=32, k=k), seed=k) for k in (2, 4, 8)]
    result = train(saes, source, config, checkpoints=tmp_path)
    assert source.holdout_reads == [(80, 84)]  # 35 tokens are in the first 4 held-out samples, read once
    expected = [m["holdout_fvu"] for m in result.final]
    for sae, fvu in zip(saes, expected, strict=True):  # the cut is the first 35 held-out tokens, nothing else
        x_held = x[80:].reshape(-1, 8)[:35]
        with torch.no_grad():  # encode/decode apply the SAE's stored input scale themselves
            reconstruction = sae.decode(sae.encode(x_held))
        independent = float(((reconstruction - x_held) ** 2).sum() / ((x_held - x_held.mean(0)) ** 2).sum())
        assert fvu == pytest.approx(independent, rel=1e-4)


def test_batches_resume_at_any_batch_number_with_the_same_tokens():
    source = TensorSource(torch.randn(500, 8), holdout_fraction=0.1, chunk_samples=7, buffer_tokens=50, seed=3)
    straight = [batch.x for batch, _ in zip(source.batches(32), range(40), strict=False)]
    resumed = [batch.x for batch, _ in zip(source.batches(32, start_batch=23), range(17), strict=False)]
    for a, b in zip(straight[23:], resumed, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("architecture", ["topk", "standard"])
def test_a_run_resumed_from_a_checkpoint_ends_byte_identical(architecture, source, tmp_path):
    config = TrainConfig(steps=60, batch_tokens=256, log_every=20, checkpoint_every=20, keep_checkpoints=5)
    hyper = Hyperparameters(lr=1e-3, sparsity_coefficient=SPARSITY.get(architecture, 0), schedule="cosine",
                            warmup_steps=5)
    straight = SparseAutoencoder(_config(architecture), seed=2)
    train([straight], source, config, hyperparameters=hyper)

    calls = {"n": 0}

    def stop_after_two_checkpoints() -> bool:
        calls["n"] += 1
        return calls["n"] > 45

    first = SparseAutoencoder(_config(architecture), seed=2)
    with pytest.raises(TrainingStopped):
        train([first], source, config, hyperparameters=hyper, checkpoints=tmp_path,
              should_stop=stop_after_two_checkpoints)
    assert CheckpointStore(tmp_path).latest_step() == 45  # stopping checkpoints the last completed step
    resumed = SparseAutoencoder(_config(architecture), seed=99)  # a fresh process: nothing but the checkpoint
    train([resumed], source, config, hyperparameters=hyper, checkpoints=tmp_path)
    for name, tensor in straight.state_dict().items():
        assert torch.equal(tensor, resumed.state_dict()[name]), name


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(source, tmp_path):
    sae = SparseAutoencoder(_config("topk"), seed=0)
    calls = {"n": 0}
    original = sae.W_enc

    def poison() -> bool:
        calls["n"] += 1
        if calls["n"] == 25:
            with torch.no_grad():
                original.fill_(float("nan"))
        return False

    with pytest.raises(TrainingDiverged, match="step 24.*checkpoint \\(step 20\\) is kept"):
        train([sae], source, TrainConfig(steps=50, batch_tokens=256, checkpoint_every=10), checkpoints=tmp_path,
              should_stop=poison)
    assert CheckpointStore(tmp_path).latest_step() == 20


def test_a_full_disk_at_a_checkpoint_fails_and_keeps_the_previous_one(source, tmp_path, monkeypatch):
    real_save = checkpoint_module.save_sae_state
    calls = {"n": 0}

    def fills_up(sae, path: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(sae, path)

    monkeypatch.setattr(checkpoint_module, "save_sae_state", fills_up)
    with pytest.raises(CheckpointDiskFull, match="step 20.*step 10 is kept"):
        train([SparseAutoencoder(_config("topk"))], source, TrainConfig(steps=40, batch_tokens=256,
                                                                        checkpoint_every=10), checkpoints=tmp_path)
    store = CheckpointStore(tmp_path)
    assert [info.step for info in store.list()] == [10]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no half-written folder left


def test_checkpoints_keep_the_newest_and_the_best(source, tmp_path):
    train([SparseAutoencoder(_config("topk"))], source,
          TrainConfig(steps=50, batch_tokens=256, checkpoint_every=10, keep_checkpoints=2), checkpoints=tmp_path)
    steps = [info.step for info in CheckpointStore(tmp_path).list()]
    assert steps[-2:] == [40, 50]
    scores = {info.step: info.score for info in CheckpointStore(tmp_path).list()}
    assert min(scores, key=scores.get) in steps


def test_a_sweep_trains_each_sae_on_the_same_batches_as_alone(source):
    config = TrainConfig(steps=20, batch_tokens=256)
    alone = [SparseAutoencoder(_config("topk", k=k), seed=5) for k in (4, 8)]
    for sae in alone:
        train([sae], source, config)
    together = [SparseAutoencoder(_config("topk", k=k), seed=5) for k in (4, 8)]
    train(together, source, config)
    for a, b in zip(alone, together, strict=True):
        assert torch.equal(a.W_dec, b.W_dec)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"k": 0}, "k"), ({"k": WIDTH + 1}, "k"), ({"d_sae": 0}, "d_sae"),
    ({"matryoshka_prefixes": [64, 32, WIDTH]}, "matryoshka_prefixes")])
def test_bad_sae_settings_name_their_field(overrides, field):
    with pytest.raises(InvalidSAEConfig) as caught:
        SAEConfig("matryoshka", **{"d_in": D, "d_sae": WIDTH, "k": 6, "matryoshka_prefixes": [32, WIDTH],
                                   **overrides})
    assert caught.value.details["field"] == field


def test_bad_training_settings_name_their_field(source):
    with pytest.raises(InvalidArgument) as caught:
        train([SparseAutoencoder(_config("topk"))], source, TrainConfig(steps=5), hyperparameters=Hyperparameters(lr=0))
    assert caught.value.details["field"] == "lr"
    with pytest.raises(InvalidArgument) as caught:
        train([SparseAutoencoder(_config("topk"))], source, TrainConfig(steps=5, batch_tokens=10**7))
    assert caught.value.details["field"] == "batch_tokens"
    with pytest.raises(InvalidArgument) as caught:
        train([SparseAutoencoder(SAEConfig("topk", d_in=D + 1, d_sae=WIDTH, k=4))], source, TrainConfig(steps=5))
    assert caught.value.details["field"] == "d_in"


def test_initialize_false_continues_from_the_given_weights(source):
    """A second run from the first's weights with `initialize=False` keeps them: input scale and b_dec are not
    re-estimated from the data."""
    config = TrainConfig(steps=40, batch_tokens=256, log_every=20)
    sae = SparseAutoencoder(_config("topk"), seed=4)
    train([sae], source, config)
    assert sae.config.input_scale != 1.0
    scale, b_dec = sae.config.input_scale, sae.b_dec.detach().clone()
    with torch.no_grad():
        sae.b_dec.add_(0.5)  # a marker an initialisation would overwrite
    train([sae], source, TrainConfig(steps=1, batch_tokens=256, log_every=1, normalize_input=False),
                   initialize=False)
    assert sae.config.input_scale == scale  # normalize_input=False would have set 1.0 on a fresh initialisation
    assert torch.allclose(sae.b_dec.detach(), b_dec + 0.5, atol=0.05)  # one Adam step moves it by ~lr, not back
