"""Where training activations come from: stored extractions or tensors, read in a shuffled, resumable order.

A source is a list of samples (sequences), each contributing its real tokens. The last `holdout_fraction` of the
samples is the hold-out split: never trained on, used for evaluations. Training reads the rest epoch after epoch;
each epoch shuffles the order of chunks of consecutive samples, reads `buffer_tokens` worth of chunks at a time
(memory bounded by the buffer, not the data) and shuffles the tokens inside that group. Every permutation comes
from a generator seeded by (seed, epoch, group), so batch number b is the same tokens in every run with that seed
— which is what makes a resumed run identical to an uninterrupted one: the data position is a batch number.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mistudio.lens.errors import InvalidArgument


@dataclass(frozen=True)
class Batch:
    """The same tokens at each hook point a source reads: `columns[0]` is the input, `columns[target_column]` the
    target (column 0 itself for an SAE), any further columns other hook points that SAEs of the same run read
    (several hook points share one read: one forward pass when streamed). `names` are their hook points, when the
    source knows them."""

    columns: tuple[torch.Tensor, ...]  # each [tokens, width] float32
    target_column: int = 0
    names: tuple[str, ...] = ()

    @classmethod
    def of(cls, x: torch.Tensor, target: torch.Tensor | None = None) -> Batch:
        return cls((x,)) if target is None or target is x else cls((x, target), 1)

    @property
    def x(self) -> torch.Tensor:
        return self.columns[0]

    @property
    def target(self) -> torch.Tensor:
        return self.columns[self.target_column]

    @property
    def tokens(self) -> int:
        return int(self.columns[0].shape[0])

    def map(self, function: Callable[[torch.Tensor], torch.Tensor]) -> Batch:
        """The same function applied to every column (a slice, a permutation, a device move)."""
        return Batch(tuple(function(column) for column in self.columns), self.target_column, self.names)

    def slice(self, start: int, end: int | None = None) -> Batch:
        """Tokens [start, end) of every column."""
        return self.map(lambda column: column[start:end])

    def select(self, hook_point: str | None, target_hook_point: str | None = None) -> Batch:
        """The (input, target) pair one SAE reads: `hook_point` (and `target_hook_point` for a transcoder). A batch
        whose columns are unnamed, or an SAE that names no hook point, gets the source's own pair."""
        if not self.names or hook_point is None:
            return self
        first = self._column(hook_point)
        second = first if target_hook_point in (None, hook_point) else self._column(target_hook_point)
        if first == second:
            return Batch((self.columns[first],), 0, (hook_point,))
        return Batch((self.columns[first], self.columns[second]), 1, (hook_point, str(target_hook_point)))

    def _column(self, hook_point: str) -> int:
        if hook_point not in self.names:
            raise InvalidArgument(f"these activations hold {', '.join(self.names)}, not {hook_point}",
                                  details={"field": "hook_point", "allowed": list(self.names)})
        return self.names.index(hook_point)


def hook_point_columns(hook_point: str, target_hook_point: str | None,
                       other_hook_points: Sequence[str]) -> tuple[tuple[str, ...], int]:
    """A source's column order: the input, the target when it differs, then the other hook points (no repeats);
    and the target's column."""
    names = [hook_point]
    if target_hook_point not in (None, hook_point):
        names.append(str(target_hook_point))
    names += [point for point in dict.fromkeys(other_hook_points) if point not in names]
    return tuple(names), (1 if target_hook_point not in (None, hook_point) else 0)


def held_out_samples(samples: int, holdout_fraction: float) -> int:
    """How many of the last samples the hold-out split takes (at least one when any fraction is asked)."""
    if not 0 <= holdout_fraction < 1:
        raise InvalidArgument(f"holdout_fraction must be in [0, 1); got {holdout_fraction}",
                              details={"field": "holdout_fraction"})
    held = int(round(samples * holdout_fraction))
    return max(held, 1) if holdout_fraction > 0 and samples > 1 else held


class ActivationSource(ABC):
    """Samples of activations (and, for a transcoder, targets) read by sample ranges; see the module docstring."""

    d_in: int
    d_out: int
    description: str = ""
    names: tuple[str, ...] = ()  # the hook point of each column, when known (see Batch)
    widths: tuple[int, ...] = ()  # the width of each column

    def width_of(self, hook_point: str | None) -> int:
        """The width of one hook point's activations (the input's when the source's columns are unnamed)."""
        if hook_point is None or not self.names:
            return self.d_in
        if hook_point not in self.names:
            raise InvalidArgument(f"the activations ({self.description or type(self).__name__}) hold "
                                  f"{', '.join(self.names)}, not {hook_point}",
                                  details={"field": "hook_point", "allowed": list(self.names)})
        return self.widths[self.names.index(hook_point)]

    def __init__(self, tokens_per_sample: np.ndarray, *, holdout_fraction: float = 0.05, chunk_samples: int = 16,
                 buffer_tokens: int = 262_144, seed: int = 0) -> None:
        self.tokens_per_sample = np.asarray(tokens_per_sample, dtype=np.int64)
        samples = len(self.tokens_per_sample)
        held = held_out_samples(samples, holdout_fraction)
        self.train_samples = samples - held
        if self.train_samples < 1 or self.train_tokens < 1:
            raise InvalidArgument(f"the data has {samples} samples: too few to train on after holding out "
                                  f"{held}", details={"field": "holdout_fraction"})
        self.chunk_samples, self.buffer_tokens, self.seed = max(1, chunk_samples), max(1, buffer_tokens), seed
        # The hold-out never changes, and every evaluation (each SAE of a sweep, each checkpoint's score) reads it:
        # keep the last one read, so that a streamed source runs the model over it once per run, not once per use.
        self._holdout_read: tuple[int | None, Batch] | None = None

    # --- what a concrete source provides ------------------------------------------------------------------
    @abstractmethod
    def read(self, start: int, end: int) -> Batch:
        """The real tokens of samples [start, end), in order, as float32."""

    # --- sizes --------------------------------------------------------------------------------------------
    @property
    def train_tokens(self) -> int:
        return int(self.tokens_per_sample[:self.train_samples].sum())

    @property
    def holdout_tokens(self) -> int:
        return int(self.tokens_per_sample[self.train_samples:].sum())

    # --- reading ------------------------------------------------------------------------------------------
    def holdout(self, max_tokens: int | None = None) -> Batch | None:
        """The hold-out tokens (the first `max_tokens` of them), or None when nothing is held out."""
        if self.holdout_tokens == 0:
            return None
        if self._holdout_read is not None and self._holdout_read[0] == max_tokens:
            return self._holdout_read[1]
        end = len(self.tokens_per_sample)
        if max_tokens is not None:  # read only the samples that hold the first `max_tokens` tokens
            held = np.cumsum(self.tokens_per_sample[self.train_samples:])
            end = min(end, self.train_samples + int(np.searchsorted(held, max_tokens)) + 1)
        batch = self.read(self.train_samples, end)
        batch = batch if max_tokens is None else batch.slice(0, max_tokens)
        self._holdout_read = (max_tokens, batch)
        return batch

    def sample(self, max_tokens: int) -> Batch:
        """Training tokens for initialisation (the input scale, b_dec): a spread of chunks, deterministic."""
        chunks = self._chunks()
        order = np.random.default_rng([self.seed, 2**31 - 1]).permutation(len(chunks))
        pieces, total = [], 0
        for index in order:
            start, end = chunks[index]
            batch = self.read(start, end)
            pieces.append(batch)
            total += batch.tokens
            if total >= max_tokens:
                break
        return _concat(pieces, max_tokens)

    def batches(self, batch_tokens: int, start_batch: int = 0) -> Iterator[Batch]:
        """Batches of `batch_tokens` shuffled training tokens, endlessly (epoch after epoch), from batch number
        `start_batch` on."""
        if batch_tokens > self.train_tokens:
            raise InvalidArgument(f"batch_tokens ({batch_tokens:,}) is larger than the training data "
                                  f"({self.train_tokens:,} tokens after the hold-out split); use a smaller batch or "
                                  f"more data", details={"field": "batch_tokens"})
        position = start_batch * batch_tokens  # tokens of the endless shuffled stream already consumed
        epoch, position = divmod(position, self.train_tokens)
        pending: list[Batch] = []
        pending_tokens = 0
        while True:
            for group_index, group in enumerate(self._groups(epoch)):
                size = int(sum(self.tokens_per_sample[start:end].sum() for start, end in group))
                if position >= size:  # a group wholly before the starting point: skipped without reading it
                    position -= size
                    continue
                tokens = self._read_group(group, epoch, group_index)
                if position:
                    tokens, position = tokens.slice(position), 0
                pending.append(tokens)
                pending_tokens += tokens.tokens
                while pending_tokens >= batch_tokens:
                    joined = _concat(pending, None)
                    yield joined.slice(0, batch_tokens)
                    rest = joined.slice(batch_tokens)
                    pending, pending_tokens = [rest], rest.tokens
            epoch += 1

    def _chunks(self) -> list[tuple[int, int]]:
        return [(start, min(start + self.chunk_samples, self.train_samples))
                for start in range(0, self.train_samples, self.chunk_samples)]

    def _groups(self, epoch: int) -> list[list[tuple[int, int]]]:
        chunks = self._chunks()
        order = np.random.default_rng([self.seed, epoch]).permutation(len(chunks))
        groups: list[list[tuple[int, int]]] = [[]]
        size = 0
        for index in order:
            start, end = chunks[index]
            if size >= self.buffer_tokens:
                groups.append([])
                size = 0
            groups[-1].append((start, end))
            size += int(self.tokens_per_sample[start:end].sum())
        return groups

    def _read_group(self, group: list[tuple[int, int]], epoch: int, group_index: int) -> Batch:
        joined = _concat([self.read(start, end) for start, end in group], None)
        generator = torch.Generator().manual_seed(int(np.random.default_rng([self.seed, epoch, group_index])
                                                      .integers(2**62)))
        order = torch.randperm(joined.tokens, generator=generator)
        return joined.map(lambda column: column[order])


def _concat(pieces: list[Batch], limit: int | None) -> Batch:
    first = pieces[0]
    batch = first if len(pieces) == 1 else Batch(
        tuple(torch.cat(column) for column in zip(*(piece.columns for piece in pieces), strict=True)),
        first.target_column, first.names)
    return batch if limit is None else batch.slice(0, limit)


class TensorSource(ActivationSource):
    """Activations already in memory: [tokens, d] (each token a sample) or [samples, seq, d] (all positions real)."""

    def __init__(self, x: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray | None = None,
                 **options: Any) -> None:
        self.x = torch.as_tensor(x).float()
        self.target = None if target is None else torch.as_tensor(target).float()
        if self.x.dim() == 2:
            self.x = self.x[:, None, :]
            self.target = None if self.target is None else self.target[:, None, :]
        if self.target is not None and self.target.shape[:2] != self.x.shape[:2]:
            raise InvalidArgument(f"target has {tuple(self.target.shape[:2])} tokens, input {tuple(self.x.shape[:2])}")
        self.d_in = int(self.x.shape[-1])
        self.d_out = self.d_in if self.target is None else int(self.target.shape[-1])
        super().__init__(np.full(self.x.shape[0], self.x.shape[1]), **options)

    def read(self, start: int, end: int) -> Batch:
        x = self.x[start:end].reshape(-1, self.d_in)
        return Batch.of(x, None if self.target is None else self.target[start:end].reshape(-1, self.d_out))


class ExtractionSource(ActivationSource):
    """A stored extraction (`lens.extraction`): the real tokens of one hook point, or an input/target pair, plus
    any `other_hook_points` that SAEs of the same run read (see Batch).

    `skip_first` leaves out each sample's first position: the residual stream at the first token (often BOS) is
    an outlier many times the norm of the others and would dominate a small SAE's loss.
    """

    def __init__(self, folder: Path | str, hook_point: str, target_hook_point: str | None = None, *,
                 other_hook_points: Sequence[str] = (), skip_first: bool = True, max_samples: int | None = None,
                 **options: Any) -> None:
        from mistudio.lens.extraction_store import open_activations, saved_samples

        self.activations = open_activations(Path(folder))
        # An extraction still running (or stopped part-way) offers the samples its last checkpoint saved.
        available = len(self.activations) if self.activations.complete else saved_samples(Path(folder))
        self.names, self.target_column = hook_point_columns(hook_point, target_hook_point, other_hook_points)
        for point in self.names:
            if point not in self.activations:
                raise InvalidArgument(f"the extraction in {folder} has no activations for {point}; it has "
                                      f"{', '.join(self.activations.hook_points)}", details={"field": "hook_point"})
        self.hook_point, self.target_hook_point = hook_point, target_hook_point
        self.arrays = [self.activations[point] for point in self.names]
        samples = available if max_samples is None else min(max_samples, available)
        self.mask = np.asarray(self.activations.attention_mask[:samples]).astype(bool)
        if skip_first:
            self.mask = self.mask.copy()
            first = self.mask.argmax(axis=1)  # the first real position of each sample (left or right padding)
            self.mask[np.arange(samples), first] = False
        self.widths = tuple(int(array.shape[-1]) for array in self.arrays)
        self.d_in, self.d_out = self.widths[0], self.widths[self.target_column]
        target = f" → {target_hook_point}" if self.target_column else ""
        others = f" (+ {', '.join(self.names[1 + self.target_column:])})" if len(self.names) > 1 + self.target_column \
            else ""
        self.description = f"{folder} {hook_point}{target}{others}"
        super().__init__(self.mask.sum(axis=1), **options)

    def read(self, start: int, end: int) -> Batch:
        mask = self.mask[start:end]
        columns = tuple(torch.from_numpy(np.asarray(array[start:end], dtype=np.float32)[mask])
                        for array in self.arrays)
        return Batch(columns, self.target_column, self.names)


class ModelStreamSource(ActivationSource):
    """Activations computed as training reads them: the model runs over the tokenized sequences through the read
    hooks (stopping after the deepest hook point), nothing is cached on disk.

    Costs a forward pass per read: the model once per epoch per token, plus the hold-out each evaluation. A sweep,
    and SAEs on several hook points (`other_hook_points`), read once for all. Same order, hold-out split and exact
    resume as a stored extraction.
    """

    def __init__(self, model: torch.nn.Module, sequences: Any, hook_point: str, target_hook_point: str | None = None,
                 *, other_hook_points: Sequence[str] = (), batch_size: int = 8, skip_first: bool = True,
                 max_samples: int | None = None, pad_token_id: int = 0, **options: Any) -> None:
        from mistudio.lens.hooks import resolve_hook_point

        self.model, self.sequences, self.batch_size = model, sequences, max(1, batch_size)
        self.names, self.target_column = hook_point_columns(hook_point, target_hook_point, other_hook_points)
        for point in self.names:
            resolve_hook_point(model, point)  # InvalidHookPoint naming the allowed ones
        self.hook_point, self.target_hook_point = hook_point, target_hook_point
        self.skip_first, self.pad_token_id = skip_first, pad_token_id
        samples = len(sequences) if max_samples is None else min(max_samples, len(sequences))
        self.lengths = np.array([len(sequences[index]) for index in range(samples)], dtype=np.int64)
        d = int(model.get_input_embeddings().weight.shape[1])
        self.widths = tuple(d for _ in self.names)  # every hook point is in the residual stream's width
        self.d_in = self.d_out = d
        self.description = f"{type(model).__name__} {', '.join(self.names)} (streamed)"
        super().__init__(np.maximum(self.lengths - (1 if skip_first else 0), 0), **options)

    @torch.no_grad()
    def read(self, start: int, end: int) -> Batch:
        from mistudio.lens.hooks import Hooks, capturing

        device = self.model.get_input_embeddings().weight.device
        pieces: dict[str, list[torch.Tensor]] = {point: [] for point in self.names}
        captured: dict[str, torch.Tensor] = {}
        capture = capturing(captured.__setitem__, torch.float32)
        with Hooks(self.model, {point: capture(point) for point in self.names}, stop_early=True) as hooks:
            for first in range(start, end, self.batch_size):
                last = min(first + self.batch_size, end)
                width = int(self.lengths[first:last].max())
                ids = torch.full((last - first, width), self.pad_token_id, dtype=torch.long)
                for row, index in enumerate(range(first, last)):
                    length = int(self.lengths[index])
                    ids[row, :length] = torch.as_tensor(np.asarray(self.sequences[index][:length]), dtype=torch.long)
                real = torch.arange(width)[None, :] < torch.as_tensor(self.lengths[first:last])[:, None]
                keep = real.clone()
                if self.skip_first:
                    keep[:, 0] = False
                hooks.run(input_ids=ids.to(device), attention_mask=real.long().to(device), use_cache=False)
                for point in self.names:
                    pieces[point].append(captured[point].to("cpu")[keep])
        return Batch(tuple(torch.cat(pieces[point]) for point in self.names), self.target_column, self.names)
