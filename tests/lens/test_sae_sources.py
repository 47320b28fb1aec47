"""lens.sae.buffer: training activations streamed from a model equal the ones a stored extraction holds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from mistudio.lens.extraction import extract
from mistudio.lens.hooks import InvalidHookPoint
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.buffer import ExtractionSource, ModelStreamSource
from mistudio.lens.sae.config import SAEConfig
from mistudio.lens.sae.trainer import TrainConfig, train

LENGTHS = (9, 4, 12, 7, 12, 3, 10, 8, 11, 6)


def _sequences() -> list[np.ndarray]:
    generator = np.random.default_rng(4)
    return [generator.integers(5, 500, size=length) for length in LENGTHS]


@pytest.mark.parametrize("target", [None, "blocks.1.mlp_out"])
def test_streamed_activations_equal_the_stored_extraction(load_model: Callable[[str], torch.nn.Module],
                                                          tmp_path: Path, target: str | None) -> None:
    model = load_model("llama")
    points = ["blocks.1.resid_pre", "blocks.1.mlp_out"]
    extract(model, _sequences(), tmp_path, hook_points=points, batch_size=4)
    options = {"holdout_fraction": 0.2, "chunk_samples": 3, "buffer_tokens": 20, "seed": 1}
    stored = ExtractionSource(tmp_path, "blocks.1.resid_pre", target, **options)
    streamed = ModelStreamSource(model, _sequences(), "blocks.1.resid_pre", target, batch_size=3, **options)
    assert streamed.train_tokens == stored.train_tokens == sum(length - 1 for length in LENGTHS[:8])
    pairs = zip(streamed.batches(16), stored.batches(16), strict=False)
    for ours, theirs in [(streamed.holdout(), stored.holdout()), *[next(pairs) for _ in range(6)]]:
        assert torch.allclose(ours.x, theirs.x, atol=1e-5)
        assert torch.allclose(ours.target, theirs.target, atol=1e-5)
        assert (ours.target is ours.x) == (target is None)


def test_an_sae_trains_on_a_streamed_source(load_model) -> None:
    model = load_model("llama")
    source = ModelStreamSource(model, _sequences() * 4, "blocks.0.resid_post", holdout_fraction=0.1)
    sae = SparseAutoencoder(SAEConfig("topk", d_in=source.d_in, d_sae=128, k=4))
    result = train([sae], source, TrainConfig(steps=20, batch_tokens=64, log_every=10))
    assert result.final[0]["holdout_fvu"] < 1.0


def test_a_hook_point_the_model_lacks_is_refused(load_model) -> None:
    with pytest.raises(InvalidHookPoint, match="layer 7"):
        ModelStreamSource(load_model("llama"), _sequences(), "blocks.7.resid_post")


@pytest.mark.parametrize("streamed", [False, True])
def test_saes_on_several_hook_points_train_as_they_would_alone(load_model, tmp_path: Path, streamed: bool) -> None:
    """One read serves SAEs on different hook points (and a transcoder between them): each ends with the weights a
    run of its own on that hook point gives — same tokens, same order, nothing mixed up between columns."""
    model = load_model("llama")
    points = ["blocks.0.resid_post", "blocks.1.resid_pre", "blocks.1.mlp_out"]
    extract(model, _sequences() * 3, tmp_path, hook_points=points, batch_size=4)
    options = {"holdout_fraction": 0.1, "chunk_samples": 4, "buffer_tokens": 64, "seed": 2}

    def source(hook_point: str, target: str | None = None, others: tuple[str, ...] = ()):  # noqa: ANN202
        if streamed:
            return ModelStreamSource(model, _sequences() * 3, hook_point, target, other_hook_points=others,
                                     batch_size=5, **options)
        return ExtractionSource(tmp_path, hook_point, target, other_hook_points=others, **options)

    d = int(model.get_input_embeddings().weight.shape[1])
    specs = [("blocks.0.resid_post", None), ("blocks.1.resid_pre", None), ("blocks.1.resid_pre", "blocks.1.mlp_out")]

    def saes() -> list[SparseAutoencoder]:
        return [SparseAutoencoder(SAEConfig("batchtopk" if target else "topk", d_in=d, d_sae=48, k=3, hook_point=point,
                                            target_hook_point=target), seed=index)
                for index, (point, target) in enumerate(specs)]

    config = TrainConfig(steps=6, batch_tokens=32, log_every=3, init_tokens=64)
    together = saes()
    shared = source("blocks.0.resid_post", others=tuple(points))
    assert shared.names == ("blocks.0.resid_post", "blocks.1.resid_pre", "blocks.1.mlp_out")
    result = train(together, shared, config)
    for index, (point, target) in enumerate(specs):
        alone = saes()[index]
        own = train([alone], source(point, target), config)
        for name, tensor in alone.state_dict().items():
            assert torch.equal(tensor, together[index].state_dict()[name]), (index, name)
        assert own.final[0]["holdout_mse"] == result.final[index]["holdout_mse"]


def test_an_sae_on_a_hook_point_the_source_does_not_read_is_refused(tmp_path: Path, load_model) -> None:
    from mistudio.lens.errors import InvalidArgument

    model = load_model("llama")
    extract(model, _sequences(), tmp_path, hook_points=["blocks.0.resid_post"], batch_size=4)
    source = ExtractionSource(tmp_path, "blocks.0.resid_post")
    sae = SparseAutoencoder(SAEConfig("topk", d_in=source.d_in, d_sae=16, k=2, hook_point="blocks.1.resid_post"))
    with pytest.raises(InvalidArgument, match="blocks.1.resid_post"):
        train([sae], source, TrainConfig(steps=1, batch_tokens=8))
