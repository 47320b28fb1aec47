"""lens.features.sparse: a batch read as its active entries (a TopK SAE encoded sparsely) equals the dense batch.

The analysis reads each batch through `LatentEncoder.active`; for a TopK SAE that never builds the dense latents.
Here every number it derives (entries, per-sequence peaks and their positions, example windows) is compared exactly
with the same computation on the dense latents of `LatentEncoder.__call__`, on a tiny llama.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.features.analysis import analyze_features
from mistudio.lens.features.encoding import LatentEncoder, counted_positions
from mistudio.lens.features.sparse import BatchLatents
from mistudio.lens.features.stats import ActiveEntries
from mistudio.lens.threads import one_thread
from tests.lens.test_features_analysis import CONFIG, WIDTH, make_inputs, make_sae
from tests.support.tiny_models import BOS_ID


@pytest.fixture(scope="module")
def batch(load_model: Callable[[str], torch.nn.Module]) -> dict:
    """One padded batch through a TopK and a standard SAE: the sparse batch and the dense latents (zero where not
    counted), as the analysis sees them."""
    model = load_model("llama")
    ids, mask = make_inputs(sequences=6, length=24)
    counted = counted_positions(ids, mask, (BOS_ID,))
    found = {}
    for architecture in ("topk", "standard"):
        encoder = LatentEncoder(model, make_sae(architecture), "cpu")
        dense = encoder(ids, mask).masked_fill_(~counted[..., None], 0)
        found[architecture] = (encoder.active(ids, mask, counted), dense)
    return found


def test_a_topk_saes_sparse_encoding_scattered_is_its_dense_encoding() -> None:
    sae = make_sae("topk")
    x = torch.randn(5, 7, 64, generator=torch.Generator().manual_seed(3))
    values, indices = sae.encode_sparse(x)
    assert values.shape == indices.shape == (5, 7, sae.config.k)
    dense = sae.encode(x)
    assert torch.equal(torch.zeros_like(dense).scatter_(-1, indices, values), dense)
    assert (dense > 0).sum() > 0 and (dense > 0).sum(dim=-1).max() <= sae.config.k
    with pytest.raises(InvalidArgument, match="TopK"):
        make_sae("standard").encode_sparse(x)


@pytest.mark.parametrize("architecture", ["topk", "standard"])
def test_the_active_entries_are_the_dense_latents_nonzeros_in_the_same_order(batch: dict, architecture: str) -> None:
    sparse, dense = batch[architecture]
    expected = ActiveEntries.of(dense.view(-1, WIDTH))
    assert expected.token.numel() > 100
    for name in ("token", "latent", "value"):
        assert torch.equal(getattr(sparse.active, name), getattr(expected, name)), name


@pytest.mark.parametrize("architecture", ["topk", "standard"])
def test_peaks_and_windows_equal_the_dense_max_and_the_dense_windows(batch: dict, architecture: str) -> None:
    sparse, dense = batch[architecture]
    peak, where = sparse.peaks()
    dense_peak, dense_where = dense.max(dim=1)
    assert torch.equal(peak, dense_peak)
    firing = peak > 0
    assert torch.equal(where[firing], dense_where[firing])  # a silent latent's position is never read
    rows, columns = firing.nonzero(as_tuple=True)
    # Every firing (sequence, latent) at its peak, and at the first and last positions (windows cut by the edges).
    for positions in (where[rows, columns], torch.zeros_like(rows), torch.full_like(rows, dense.shape[1] - 1)):
        windows = sparse.window_gatherer(5)(rows, columns, positions)
        around = positions[:, None] + torch.arange(-5, 6)
        inside = (around >= 0) & (around < dense.shape[1])
        expected = torch.where(inside, dense[rows[:, None], around.clamp(0, dense.shape[1] - 1), columns[:, None]],
                               0.0)
        assert torch.equal(windows, expected)
    assert (windows > 0).sum() > 0


def test_a_topk_saes_top_examples_are_the_dense_latents_sequence_peaks_exactly(
        load_model: Callable[[str], torch.nn.Module]) -> None:
    model, sae = load_model("llama"), make_sae("topk")
    ids, mask = make_inputs()
    result = analyze_features(model, sae, ids, CONFIG, attention_mask=mask)
    counted = counted_positions(ids, mask, (BOS_ID,))
    dense = LatentEncoder(model, sae, "cpu")(ids, mask).masked_fill_(~counted[..., None], 0)
    peaks, where = dense.max(dim=1)  # [sequences, width]
    for latent in range(WIDTH):
        firing = [s for s in range(len(peaks)) if peaks[s, latent] > 0]
        best = sorted(firing, key=lambda s: (-float(peaks[s, latent]), s))[:CONFIG.top_k]
        found = result.examples.of(latent, "top")
        assert found.sequence.tolist() == best
        assert found.activation.tolist() == peaks[best, latent].tolist()
        for row, sequence in enumerate(best):
            position = int(where[sequence, latent])
            assert found.position[row] == position
            around = torch.arange(position - CONFIG.context, position + CONFIG.context + 1)
            inside = (around >= 0) & (around < dense.shape[1])
            expected = torch.where(inside, dense[sequence, around.clamp(0, dense.shape[1] - 1), latent], 0.0)
            assert found.activations[row].tolist() == expected.tolist()


def test_a_peak_reached_twice_in_a_sequence_is_placed_at_its_first_position() -> None:
    dense = torch.zeros(2, 6, 3)
    dense[0, [1, 4], 0] = 0.5  # the same peak twice: the dense max's first index, 1
    dense[0, [2, 5], 1] = torch.tensor([0.25, 0.75])
    dense[1, [0, 3, 5], 2] = torch.tensor([0.5, 0.5, 0.125])
    sparse = BatchLatents(ActiveEntries.of(dense.view(-1, 3)), 2, 6, 3)
    peak, where = sparse.peaks()
    assert peak.tolist() == [[0.5, 0.75, 0.0], [0.0, 0.0, 0.5]]
    assert where[0, :2].tolist() == [1, 5] and where[1, 2] == 0
    assert torch.equal(peak, dense.max(dim=1).values)
    windows = sparse.window_gatherer(1)(torch.tensor([0, 1]), torch.tensor([0, 2]), torch.tensor([4, 0]))
    assert windows.tolist() == [[0.0, 0.5, 0.0], [0.0, 0.5, 0.0]]


def test_the_bookkeeping_runs_on_one_thread_and_restores_the_count_after_an_error() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(RuntimeError, match="inside"), one_thread(torch.device("cpu")):
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
