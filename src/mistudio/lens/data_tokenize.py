"""Tokenize an imported split to .npy files that extraction memory-maps, and preview it (`data_tokenized.py`
reads the result).

Two modes, chosen by `TokenizeSettings.packing`:

- truncate (packing=False): each document gives exactly what `tokenizer(text, add_special_tokens=...,
  truncation=True, max_length=max_length, stride=stride, return_overflowing_tokens=stride > 0)["input_ids"]`
  gives: with stride 0 the document is cut at max_length; with stride > 0 the rest is kept as overflow windows
  that overlap by `stride` tokens (HF semantics). Sequences shorter than min_length are dropped.
- pack (packing=True): documents are tokenized without the tokenizer's own special tokens (add_special_tokens is
  off in this mode: the EOS between documents and the optional BOS per chunk take their place, so no chunk starts
  with two BOS tokens); those shorter than min_length tokens are dropped; the rest are joined into one stream
  with the tokenizer's EOS id between documents (when it has one) and cut into chunks. Body length
  B = max_length - (1 if bos_per_sequence and the tokenizer has a BOS token else 0), step = B - stride; each
  chunk is [bos]? + body and the final partial chunk is dropped, so a stream of T tokens gives 0 sequences if
  T < B, else (T - B) // step + 1.

On disk (`tokenize_to_disk`): tokens.npy (1-D, uint16 when the vocabulary fits, else uint32), offsets.npy
(int64, n + 1: sequence i is tokens[offsets[i]:offsets[i + 1]]) and meta.json. Both arrays are written batch by
batch after a header that is rewritten with the final shape at the end, so memory stays bounded however many
rows there are, and nothing is copied twice.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import numpy.lib.format as npy_format

from mistudio.lens.errors import Conflict, InvalidArgument

if TYPE_CHECKING:
    from mistudio.lens.data import TextTable

MAX_SEQUENCE_LENGTH = 1_048_576
_CHECK_SECONDS = 0.1  # should_stop may be a database read: ask (and report progress) at most this often
_PREVIEW_MAX_ROWS = 100_000  # rows a preview reads at most to find its n samples


class TokenizeCancelled(Exception):
    """should_stop() asked the tokenization to stop; nothing it wrote is left behind."""


@dataclass(frozen=True)
class TokenizeSettings:
    max_length: int = 512
    packing: bool = False
    bos_per_sequence: bool = True  # pack mode: start every chunk with the tokenizer's BOS token
    stride: int = 0  # tokens shared by consecutive windows (truncate) or chunks (pack)
    min_length: int = 1  # truncate: shortest sequence kept; pack: shortest document kept
    add_special_tokens: bool = True

    def normalized(self) -> TokenizeSettings:
        """The settings as they take effect: packing never adds per-document special tokens."""
        return replace(self, add_special_tokens=False) if self.packing else self

    def validate(self) -> None:
        """InvalidArgument naming the setting and its allowed range; tokenizer-specific limits are checked on use."""
        if not 1 <= self.max_length <= MAX_SEQUENCE_LENGTH:
            raise InvalidArgument(f"max_length must be between 1 and {MAX_SEQUENCE_LENGTH}, not {self.max_length}")
        if self.min_length < 1:
            raise InvalidArgument(f"min_length must be at least 1, not {self.min_length}")
        if not self.packing and self.min_length > self.max_length:
            raise InvalidArgument(f"min_length ({self.min_length}) must not exceed max_length ({self.max_length}): "
                               "no sequence could be kept")
        if self.packing and self.bos_per_sequence and self.max_length < 2:
            raise InvalidArgument("max_length must be at least 2 when every packed sequence starts with a BOS token")
        body = self.max_length - (1 if self.packing and self.bos_per_sequence else 0)
        if not 0 <= self.stride < body:
            what = "the body length (max_length - 1 for the BOS token)" if body < self.max_length else "max_length"
            raise InvalidArgument(f"stride must be at least 0 and less than {what} = {body}, not {self.stride}")


@dataclass
class TokenPreview:
    text: str  # tokenizer.decode(ids): exactly the text the sequence covers
    ids: list[int]
    tokens: list[str]  # convert_ids_to_tokens, one per id


@dataclass
class PreviewResult:
    samples: list[TokenPreview]
    sequences_estimate: int
    tokens_estimate: int
    rows_sampled: int


@dataclass
class TokenizeProgress:
    rows_done: int
    rows_total: int
    sequences: int
    tokens: int
    rows_per_second: float
    eta_seconds: float | None


@dataclass
class TokenizeResult:
    num_sequences: int
    num_tokens: int
    dtype: str  # of tokens.npy: uint16 or uint32
    size_bytes: int


# --- tokenizer ---------------------------------------------------------------------------------------------
def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned dtype that holds every id of a vocabulary this size."""
    return np.dtype(np.uint16 if vocab_size <= 1 << 16 else np.uint32)


def _check_for(tokenizer: Any, settings: TokenizeSettings) -> None:
    settings.validate()
    if not settings.packing:
        # The Rust tokenizer panics (it does not raise) when the stride reaches the room left by special tokens.
        room = settings.max_length - (tokenizer.num_special_tokens_to_add() if settings.add_special_tokens else 0)
        if settings.stride and settings.stride >= room:
            raise InvalidArgument(f"stride must be less than max_length minus the tokenizer's special tokens = {room}, "
                               f"not {settings.stride}")
        if room < 1:
            raise InvalidArgument(f"max_length {settings.max_length} leaves no room for text after the special tokens")


def _truncate_ids(texts: list[str], tokenizer: Any, settings: TokenizeSettings) -> list[list[int]]:
    encoded = tokenizer(texts, add_special_tokens=settings.add_special_tokens, truncation=True,
                        max_length=settings.max_length, stride=settings.stride,
                        return_overflowing_tokens=settings.stride > 0, return_attention_mask=False,
                        return_token_type_ids=False)
    ids = encoded["input_ids"]
    return [s for s in ids if len(s) >= settings.min_length]


def _document_ids(texts: list[str], tokenizer: Any, settings: TokenizeSettings) -> list[list[int]]:
    # verbose=False: documents longer than the model's context are expected here, they are packed.
    return tokenizer(texts, add_special_tokens=False, return_attention_mask=False,
                     return_token_type_ids=False, verbose=False)["input_ids"]


def tokenize_batch(texts: list[str], tokenizer: Any, settings: TokenizeSettings) -> list[list[int]]:
    """Truncate mode on one batch of documents: the sequences, overflow windows included, min_length applied."""
    if settings.packing:
        raise InvalidArgument("tokenize_batch is for truncate mode; use Packer for packing=True")
    _check_for(tokenizer, settings)
    return _truncate_ids(texts, tokenizer, settings)


class Packer:
    """Pack mode: feed tokenized documents batch by batch, get the full chunks they complete."""

    def __init__(self, tokenizer: Any, settings: TokenizeSettings) -> None:
        settings.validate()
        self.settings = settings
        self.bos_id: int | None = tokenizer.bos_token_id if settings.bos_per_sequence else None
        self.eos_id: int | None = tokenizer.eos_token_id
        self.body_length = settings.max_length - (1 if self.bos_id is not None else 0)
        self.step = self.body_length - settings.stride
        self.stream_tokens = 0  # T: every token fed to the stream so far, EOS separators included
        self.documents = 0  # documents kept (min_length met)
        self._pending = np.empty(0, dtype=np.int64)  # the stream from the next chunk's start; < body_length long

    def sequences_for(self, stream_tokens: int) -> int:
        """How many chunks a stream of this many tokens gives."""
        return 0 if stream_tokens < self.body_length else (stream_tokens - self.body_length) // self.step + 1

    def feed(self, doc_ids: list[list[int]]) -> np.ndarray:
        """Add documents to the stream; returns the chunks completed, shape [k, max_length] (int64)."""
        pieces: list[list[int]] = []
        separator = [self.eos_id] if self.eos_id is not None else []
        for ids in doc_ids:
            if len(ids) < self.settings.min_length:
                continue
            if self.documents and separator:
                pieces.append(separator)
            pieces.append(ids)
            self.documents += 1
        count = sum(map(len, pieces))
        self.stream_tokens += count
        added = np.fromiter(itertools.chain.from_iterable(pieces), dtype=np.int64, count=count)
        stream = np.concatenate([self._pending, added])
        chunks = self.sequences_for(len(stream))
        out = np.empty((chunks, self.settings.max_length), dtype=np.int64)
        if chunks:
            windows = np.lib.stride_tricks.sliding_window_view(stream, self.body_length)[::self.step][:chunks]
            out[:, self.settings.max_length - self.body_length:] = windows
            if self.bos_id is not None:
                out[:, 0] = self.bos_id
        self._pending = stream[chunks * self.step:].copy()
        return out


# --- preview -----------------------------------------------------------------------------------------------
@dataclass
class _Sample:
    rows: int = 0
    sequences: int = 0
    tokens: int = 0
    stream_tokens: int = 0  # pack mode


def _sequences(texts: list[str], tokenizer: Any, settings: TokenizeSettings, packer: Packer | None) -> list:
    if packer is None:
        return _truncate_ids(texts, tokenizer, settings)
    return list(packer.feed(_document_ids(texts, tokenizer, settings)))


def preview_tokenization(table: TextTable, tokenizer: Any, settings: TokenizeSettings, n: int = 5,
                         sample_rows: int = 2000) -> PreviewResult:
    """The first n sequences the settings give, and the totals estimated from the first sample_rows rows.

    Estimates scale the sample by num_rows / rows_sampled (pack mode scales the stream, then counts its
    chunks), so they are exact when the sample is the whole split. When the sample gives fewer than n
    sequences (long packed chunks), more rows are read for the samples alone, up to _PREVIEW_MAX_ROWS.
    """
    _check_for(tokenizer, settings)
    packer = Packer(tokenizer, settings) if settings.packing else None
    sample, shown, rows_read = _Sample(), [], 0
    for texts in table.iter_batches(min(max(sample_rows, 1), 1000)):
        head = texts[:max(sample_rows - sample.rows, 0)]
        if head:
            sequences = _sequences(head, tokenizer, settings, packer)
            sample.rows += len(head)
            sample.sequences += len(sequences)
            sample.tokens += sum(map(len, sequences))
            sample.stream_tokens = packer.stream_tokens if packer is not None else 0
            shown += sequences[:n - len(shown)]
        if len(head) < len(texts) and len(shown) < n:
            shown += _sequences(texts[len(head):], tokenizer, settings, packer)[:n - len(shown)]
        rows_read += len(texts)
        if sample.rows >= sample_rows and (len(shown) >= n or rows_read >= _PREVIEW_MAX_ROWS):
            break
    scale = table.num_rows / sample.rows if sample.rows else 0.0
    if packer is not None:
        sequences_estimate = packer.sequences_for(round(sample.stream_tokens * scale))
        tokens_estimate = sequences_estimate * settings.max_length
    else:
        sequences_estimate, tokens_estimate = round(sample.sequences * scale), round(sample.tokens * scale)
    samples = []
    for ids in shown:
        ids = [int(i) for i in ids]
        samples.append(TokenPreview(tokenizer.decode(ids), ids, tokenizer.convert_ids_to_tokens(ids)))
    return PreviewResult(samples, sequences_estimate, tokens_estimate, sample.rows)


# --- writing ---------------------------------------------------------------------------------------------
class _NpyAppender:
    """A 1-D .npy file written in pieces: a header now, the data appended, the header's shape fixed at close.

    numpy pads a header so its shape can grow to 21 digits in place (`GROWTH_AXIS_MAX_DIGITS`); the final
    header is checked to be exactly as long as the first, so the data never moves.
    """

    def __init__(self, path: Path, dtype: np.dtype) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.length = 0
        self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed by close()
        self._header_bytes = self._write_header(0)

    def _write_header(self, length: int) -> int:
        header = {"descr": npy_format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (length,)}
        npy_format.write_array_header_1_0(self._file, header)
        return self._file.tell()

    def append(self, values: np.ndarray) -> None:
        data = np.ascontiguousarray(values, dtype=self.dtype)
        self._file.write(data.data)
        self.length += data.size

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            self._file.seek(0)
            if self._write_header(self.length) != self._header_bytes:
                raise RuntimeError(f"the .npy header of {self.path} changed size; the file is not valid")
        finally:
            self._file.close()


def _written(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir())


def tokenize_to_disk(table: TextTable, tokenizer: Any, settings: TokenizeSettings, dest: Path, *,
                     on_progress: Callable[[TokenizeProgress], None] | None = None,
                     should_stop: Callable[[], bool] | None = None, batch_rows: int = 1000) -> TokenizeResult:
    """Tokenize every row of `table` into dest/{tokens,offsets}.npy + meta.json; all or nothing.

    Works in a hidden folder next to dest and renames it at the end; an error, a cancel (TokenizeCancelled) or a
    result of 0 sequences (InvalidArgument) removes it. dest must not exist yet.
    """
    _check_for(tokenizer, settings)
    dest = Path(dest)
    if dest.exists():
        raise Conflict(f"{dest} already exists; tokenize into a new folder or delete the old tokenization first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    dtype = token_dtype(len(tokenizer))
    try:
        sequences, tokens = _write_sequences(table, tokenizer, settings, work, dtype, on_progress, should_stop,
                                             batch_rows)
        if sequences == 0:
            raise InvalidArgument(f"these settings give no sequence from {table.num_rows} rows: lower min_length "
                               f"({settings.min_length})" + (" or max_length" if settings.packing else ""))
        meta = {"settings": asdict(settings), "mode": "pack" if settings.packing else "truncate",
                "num_sequences": sequences, "num_tokens": tokens, "dtype": dtype.name, "rows": table.num_rows,
                "vocab_size": len(tokenizer), "bos_token_id": tokenizer.bos_token_id,
                "eos_token_id": tokenizer.eos_token_id}
        (work / "meta.json").write_text(json.dumps(meta, indent=2))
        size = _written(work)
        os.replace(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return TokenizeResult(sequences, tokens, dtype.name, size)


def _write_sequences(table: TextTable, tokenizer: Any, settings: TokenizeSettings, work: Path, dtype: np.dtype,
                     on_progress: Callable[[TokenizeProgress], None] | None,
                     should_stop: Callable[[], bool] | None, batch_rows: int) -> tuple[int, int]:
    packer = Packer(tokenizer, settings) if settings.packing else None
    tokens_file, offsets_file = _NpyAppender(work / "tokens.npy", dtype), _NpyAppender(work / "offsets.npy", np.int64)
    started = last_check = time.monotonic()
    rows = sequences = tokens = 0

    def report() -> None:
        if on_progress:
            rate = rows / max(time.monotonic() - started, 1e-9)
            eta = (table.num_rows - rows) / rate if rate > 0 else None
            on_progress(TokenizeProgress(rows, table.num_rows, sequences, tokens, rate, eta))

    try:
        offsets_file.append(np.zeros(1, dtype=np.int64))
        for texts in table.iter_batches(batch_rows):
            if packer is not None:
                chunks = packer.feed(_document_ids(texts, tokenizer, settings))
                lengths = np.full(len(chunks), settings.max_length, dtype=np.int64)
                tokens_file.append(chunks.ravel())
            else:
                ids = _truncate_ids(texts, tokenizer, settings)
                lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
                count = int(lengths.sum())
                # One pass from the Python lists to the file's dtype: no int64 copy, no list of arrays.
                tokens_file.append(np.fromiter(itertools.chain.from_iterable(ids), dtype=dtype, count=count))
            offsets_file.append(tokens + np.cumsum(lengths))
            rows += len(texts)
            sequences += len(lengths)
            tokens += int(lengths.sum())
            if time.monotonic() - last_check >= _CHECK_SECONDS:
                last_check = time.monotonic()
                if should_stop and should_stop():
                    raise TokenizeCancelled("tokenization cancelled")
                report()
        if should_stop and should_stop():
            raise TokenizeCancelled("tokenization cancelled")
        report()
    finally:
        tokens_file.close()
        offsets_file.close()
    return sequences, tokens
