"""A tokenization on disk, as `data_tokenize.tokenize_to_disk` wrote it: its sequences memory-mapped
(`TokenizedSequences`) and their statistics, counted chunk by chunk so memory stays bounded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mistudio.lens.errors import InvalidArgument

_STATISTICS_CHUNK_TOKENS = 1 << 24


class TokenizedSequences:
    """A tokenization on disk, memory-mapped: sequence i is tokens[offsets[i]:offsets[i + 1]]."""

    def __init__(self, tokens: np.ndarray, offsets: np.ndarray, meta: dict[str, Any]) -> None:
        self.tokens = tokens
        self.offsets = offsets
        self.meta = meta

    @classmethod
    def open(cls, dest: Path) -> TokenizedSequences:
        """Open the tokenization in `dest`; InvalidArgument naming the folder when it is not one."""
        dest = Path(dest)
        missing = [n for n in ("tokens.npy", "offsets.npy", "meta.json") if not (dest / n).is_file()]
        if missing:
            raise InvalidArgument(f"{dest} is not a finished tokenization: {', '.join(missing)} missing")
        return cls(np.load(dest / "tokens.npy", mmap_mode="r"), np.load(dest / "offsets.npy", mmap_mode="r"),
                   json.loads((dest / "meta.json").read_text()))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> np.ndarray:
        if not -len(self) <= index < len(self):
            raise IndexError(f"sequence {index} out of range: there are {len(self)}")
        index %= len(self)
        return self.tokens[self.offsets[index]:self.offsets[index + 1]]

    def lengths(self) -> np.ndarray:
        """Every sequence's length (int64)."""
        return np.diff(self.offsets)

    def iter_batches(self, batch_size: int) -> Iterator[list[np.ndarray]]:
        """All sequences in order, batch_size at a time (views into the memory map)."""
        for start in range(0, len(self), batch_size):
            yield [self[i] for i in range(start, min(start + batch_size, len(self)))]


def compute_statistics(seqs: TokenizedSequences, tokenizer: Any, *, top_k: int = 20, bins: int = 20) -> dict:
    """Lengths, vocabulary coverage and the most frequent tokens, counted chunk by chunk over the memory map."""
    vocab_size = len(tokenizer)
    counts = np.zeros(vocab_size, dtype=np.int64)
    for start in range(0, len(seqs.tokens), _STATISTICS_CHUNK_TOKENS):
        chunk_counts = np.bincount(seqs.tokens[start:start + _STATISTICS_CHUNK_TOKENS], minlength=vocab_size)
        if len(chunk_counts) > len(counts):  # an id past len(tokenizer): a model whose vocab outgrew its tokenizer
            counts = np.pad(counts, (0, len(chunk_counts) - len(counts)))
        counts[:len(chunk_counts)] += chunk_counts
    total = int(counts.sum())
    lengths = seqs.lengths()
    if len(lengths):
        # Integer-aligned bins (lengths are whole tokens): [start, end) each, at most `bins`, one when all equal.
        low, high = int(lengths.min()), int(lengths.max())
        width = -(-(high - low + 1) // bins)
        edges = low + width * np.arange(-(-(high - low + 1) // width) + 1)
        histogram, edges = np.histogram(lengths, bins=edges)
        length = {"min": int(lengths.min()), "mean": float(lengths.mean()), "median": float(np.median(lengths)),
                  "max": int(lengths.max()),
                  "histogram": [{"start": float(edges[i]), "end": float(edges[i + 1]), "count": int(histogram[i])}
                                for i in range(len(histogram))]}
    else:
        length = {"min": 0, "mean": 0.0, "median": 0.0, "max": 0, "histogram": []}
    # Most frequent first; equal counts by id, so the answer does not depend on the sort.
    seen = np.flatnonzero(counts)
    top = seen[np.lexsort((seen, -counts[seen]))][:top_k]
    unique = int(np.count_nonzero(counts))
    return {
        "num_sequences": len(seqs), "total_tokens": total, "length": length, "unique_tokens": unique,
        "vocab_size": vocab_size, "vocab_coverage": unique / vocab_size if vocab_size else 0.0,
        "top_tokens": [{"id": int(i), "token": tokenizer.convert_ids_to_tokens(int(i)), "count": int(counts[i]),
                        "fraction": int(counts[i]) / total if total else 0.0} for i in top],
    }
