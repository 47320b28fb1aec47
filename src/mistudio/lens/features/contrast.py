"""Contexts where a latent does not fire — the negatives of detection scoring — found by running the model.

The analysis keeps only windows where each latent fires, so the quiet ones are measured here: sequences go
through the model and the SAE once (all latents at a time), and a window qualifies for a latent when the latent
is zero on every real token of it. Windows are centred on random real positions, like the examples' windows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mistudio.lens.features.encoding import LatentEncoder, to_tensor


def _windows(input_ids: torch.Tensor, rows: torch.Tensor, positions: torch.Tensor, context: int) -> np.ndarray:
    """[n, 2·context+1] token ids around (row, position), −1 outside the sequence."""
    length = input_ids.shape[1]
    offsets = torch.arange(-context, context + 1)
    columns = positions[:, None] + offsets[None, :]
    inside = (columns >= 0) & (columns < length)
    tokens = input_ids[rows[:, None], columns.clamp(0, length - 1)]
    return torch.where(inside, tokens, torch.full_like(tokens, -1)).numpy()


@torch.no_grad()
def quiet_windows(encoder: LatentEncoder, input_ids: object, attention_mask: object, latents: Sequence[int], *,
                  per_latent: int, context: int, batch_size: int = 8, seed: int = 0) -> dict[int, np.ndarray]:
    """For each latent, up to `per_latent` windows [n, 2·context+1] of token ids (−1 outside or on padding) in
    which it is zero on every token; fewer when the sequences hold fewer such windows."""
    ids, mask = to_tensor(input_ids), to_tensor(attention_mask)
    chosen = torch.tensor(list(latents), dtype=torch.int64)
    generator = torch.Generator().manual_seed(seed)
    found: dict[int, list[np.ndarray]] = {int(latent): [] for latent in latents}
    for start in range(0, ids.shape[0], batch_size):
        batch_ids, batch_mask = ids[start:start + batch_size], mask[start:start + batch_size]
        active = (encoder(batch_ids, batch_mask)[..., chosen.to(encoder.device)] > 0).float().cpu()  # [b, s, l]
        active = active * batch_mask[..., None]  # padding never counts as firing
        # A window is quiet when the max over its 2·context+1 tokens is zero: one max-pool along the sequence.
        pooled = torch.nn.functional.max_pool1d(active.permute(0, 2, 1), 2 * context + 1, stride=1, padding=context)
        quiet = (pooled == 0) & batch_mask.bool()[:, None, :]  # [b, l, s]
        for column, latent in enumerate(chosen.tolist()):
            missing = per_latent - sum(len(part) for part in found[latent])
            if missing <= 0:
                continue
            rows, positions = torch.nonzero(quiet[:, column, :], as_tuple=True)
            if len(rows) == 0:
                continue
            pick = torch.randperm(len(rows), generator=generator)[:missing]
            windows = _windows(batch_ids, rows[pick], positions[pick], context)
            masked = _windows(batch_mask, rows[pick], positions[pick], context)
            found[latent].append(np.where(masked > 0, windows, -1))
        if all(sum(len(part) for part in parts) >= per_latent for parts in found.values()):
            break
    width = 2 * context + 1
    return {latent: np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.int64)
            for latent, parts in found.items()}
