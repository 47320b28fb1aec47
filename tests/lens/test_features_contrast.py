"""lens.features.contrast: every window `quiet_windows` returns for a latent is a real window of the input in which
a brute-force pass (no hooks, all tokens at once) finds that latent zero on every real token."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mistudio.lens.features.contrast import quiet_windows
from mistudio.lens.features.encoding import LatentEncoder
from tests.lens.test_features_analysis import brute_latents, make_inputs, make_sae

CONTEXT = 2


def _places(ids: np.ndarray, mask: np.ndarray, window: np.ndarray) -> list[tuple[int, int]]:
    """Every (sequence, centre) whose window (−1 outside the sequence or on padding) equals `window`."""
    found = []
    for row in range(ids.shape[0]):
        for centre in range(ids.shape[1]):
            columns = np.arange(centre - CONTEXT, centre + CONTEXT + 1)
            inside = (columns >= 0) & (columns < ids.shape[1])
            clipped = columns.clip(0, ids.shape[1] - 1)
            tokens = np.where(inside & (mask[row, clipped] > 0), ids[row, clipped], -1)
            if mask[row, centre] and np.array_equal(tokens, window):
                found.append((row, centre))
    return found


def test_quiet_windows_are_windows_where_the_latent_is_zero(load_model: Callable[[str], torch.nn.Module]) -> None:
    model = load_model("llama")
    sae = make_sae("standard")
    ids, mask = make_inputs()
    latents = [0, 5, 11, 30]
    found = quiet_windows(LatentEncoder(model, sae, "cpu"), ids, mask, latents, per_latent=6, context=CONTEXT,
                          batch_size=5, seed=3)
    brute, _ = brute_latents(model, sae, ids, mask, ignore=())
    brute *= mask.numpy()[..., None]
    ids_np, mask_np = ids.numpy(), mask.numpy()
    assert set(found) == set(latents)
    for latent in latents:
        windows = found[latent]
        assert windows.shape[1] == 2 * CONTEXT + 1 and 0 < len(windows) <= 6
        assert (brute[..., latent] > 0).any()  # it fires somewhere: being quiet means something here
        for window in windows:
            places = _places(ids_np, mask_np, window)
            assert places, f"latent {latent}: window {window} is not in the input"
            assert any(brute[row, max(0, centre - CONTEXT):centre + CONTEXT + 1, latent].max() == 0
                       for row, centre in places), f"latent {latent} fires in {window}"
