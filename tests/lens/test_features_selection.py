"""lens.features.selection: the streamed bounded selection keeps exactly the best candidates of everything offered."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mistudio.lens.features.selection import StreamingSelection, empty_score, peak_scores, sample_keys

EMPTY = empty_score(torch.int64)


@pytest.mark.parametrize("size", [1, 3, 8])
def test_after_many_batches_each_column_holds_its_best_candidates_with_their_windows(size: int) -> None:
    generator = torch.Generator().manual_seed(size)
    columns, rows, batches = 37, 5, 30
    selection = StreamingSelection(size, columns, window=2)
    offered: list[list[tuple[int, int, int]]] = [[] for _ in range(columns)]  # (score, sequence, position)
    for batch in range(batches):
        first = batch * rows
        # Unique scores (the sequence in the low bits), half of the offers empty, more empty in some columns.
        value = torch.randint(0, 1000, (rows, columns), generator=generator)
        scores = value * 10_000 + (first + torch.arange(rows))[:, None]
        silent = torch.rand(rows, columns, generator=generator) < torch.linspace(0.1, 0.95, columns)
        scores = torch.where(silent, torch.full_like(scores, EMPTY), scores)
        positions = torch.randint(0, 50, (rows, columns), generator=generator)

        def windows(row: torch.Tensor, column: torch.Tensor, position: torch.Tensor,
                    first: int = first) -> torch.Tensor:
            # a window that says whose it is: (sequence, position + column / 100)
            return torch.stack([(row + first).float(), position.float() + column.float() / 100], dim=1)

        selection.update(scores, positions, first, windows)
        for r in range(rows):
            for c in range(columns):
                if not silent[r, c]:
                    offered[c].append((int(scores[r, c]), first + r, int(positions[r, c])))
    for column in range(columns):
        best = sorted(offered[column], reverse=True)[:size]
        filled = [slot for slot in range(size) if selection.sequence[slot, column] >= 0]
        kept = [(int(selection.scores[slot, column]), int(selection.sequence[slot, column]),
                 int(selection.position[slot, column])) for slot in filled]
        assert sorted(kept, reverse=True) == best
        for slot in range(size):
            sequence = int(selection.sequence[slot, column])
            window = selection.activations[slot, column].tolist()
            if sequence < 0:
                assert selection.scores[slot, column] == EMPTY and window == [0.0, 0.0]
            else:
                assert window == pytest.approx([sequence, int(selection.position[slot, column]) + column / 100])


def test_peak_scores_order_by_value_then_the_earlier_sequence_and_drop_silent_latents() -> None:
    values = torch.tensor([0.5, 2.0, 0.5, 0.0, -1.0, 1e-30])
    sequence = torch.tensor([4, 1, 2, 3, 5, 6])
    scores = peak_scores(values, sequence)
    assert scores.argsort(descending=True)[:4].tolist() == [1, 2, 0, 5]
    assert (scores[3:5] == EMPTY).all()


def test_sample_keys_are_unique_per_latent_and_do_not_depend_on_how_they_are_batched() -> None:
    sequence = torch.arange(10_000)
    keys = sample_keys(sequence, torch.tensor(3), seed=11)
    assert keys.unique().numel() == 10_000
    assert torch.equal(keys[5000:5010], sample_keys(torch.arange(5000, 5010), torch.tensor(3), seed=11))
    # roughly uniform: the 1000 smallest keys spread over the whole range of sequences
    chosen = sequence[keys.argsort()[:1000]].numpy()
    counts = np.bincount(chosen // 1000, minlength=10)
    assert counts.min() > 60 and counts.max() < 140
    assert not torch.equal(keys, sample_keys(sequence, torch.tensor(3), seed=12))
