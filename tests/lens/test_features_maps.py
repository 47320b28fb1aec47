"""lens.features.maps: PCA against an independent numpy SVD, UMAP and t-SNE reproducible with a seed and keeping
cosine neighbours near (sklearn's trustworthiness), and the parameter checks naming the field."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.manifold import trustworthiness

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.features.maps import MapParams, check_params, decoder_map, unit_directions

CLUSTERS, PER_CLUSTER, D = 6, 20, 32


@pytest.fixture(scope="module")
def decoder() -> torch.Tensor:
    """120 decoder rows in 6 tight clusters of directions, at varied scales (a map must ignore the scale)."""
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(CLUSTERS, D, generator=generator)
    rows = centres.repeat_interleave(PER_CLUSTER, 0) + 0.3 * torch.randn(CLUSTERS * PER_CLUSTER, D,
                                                                         generator=generator)
    return rows * torch.rand(rows.shape[0], 1, generator=generator).add(0.5)


def test_pca_layout_equals_a_numpy_svd_projection_up_to_sign(decoder: torch.Tensor) -> None:
    layout = decoder_map(decoder, "pca")
    unit = decoder.numpy() / np.linalg.norm(decoder.numpy(), axis=1, keepdims=True)
    centred = unit - unit.mean(axis=0)
    _, _, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    expected = centred @ vt[:2].T
    assert layout.shape == (120, 2) and layout.dtype == np.float32
    for axis in range(2):
        sign = np.sign(np.dot(layout[:, axis], expected[:, axis]))
        np.testing.assert_allclose(layout[:, axis], sign * expected[:, axis], atol=1e-4)


def test_pca_ignores_each_directions_scale(decoder: torch.Tensor) -> None:
    np.testing.assert_allclose(decoder_map(decoder * 7.0, "pca"), decoder_map(decoder, "pca"), atol=1e-5)


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_seeded_layout_is_reproducible_and_keeps_cosine_neighbours_near(decoder: torch.Tensor, method: str) -> None:
    params = MapParams(n_neighbors=10, perplexity=10, seed=3)
    first, again = decoder_map(decoder, method, params), decoder_map(decoder, method, params)  # type: ignore[arg-type]
    np.testing.assert_array_equal(first, again)
    assert first.shape == (120, 2) and np.isfinite(first).all()
    # sklearn's trustworthiness: 1 when every map neighbour is a cosine neighbour; a random layout scores ~0.5
    score = trustworthiness(unit_directions(decoder), first, n_neighbors=5, metric="cosine")
    shuffled = trustworthiness(unit_directions(decoder), np.random.default_rng(0).permutation(first), n_neighbors=5,
                               metric="cosine")
    assert score > 0.9 and shuffled < 0.7, (score, shuffled)


@pytest.mark.parametrize(("method", "params", "field"), [
    ("umap", MapParams(n_neighbors=120), "n_neighbors"),
    ("umap", MapParams(n_neighbors=1), "n_neighbors"),
    ("umap", MapParams(min_dist=1.5), "min_dist"),
    ("tsne", MapParams(perplexity=40), "perplexity"),
    ("isomap", MapParams(), "method"),
])
def test_out_of_range_params_are_refused_naming_the_field(method: str, params: MapParams, field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        check_params(method, 120, params)
    assert raised.value.details["field"] == field and field in str(raised.value)
