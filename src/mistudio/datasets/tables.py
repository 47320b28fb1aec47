"""The `datasets` and `tokenizations` tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mistudio.platform.db import Base, UTCDateTime, new_id, utcnow
from mistudio.platform.lifecycle import TrackedRow


class Dataset(TrackedRow, Base):
    """A corpus of text, normalized to one Arrow file per split under datasets/{id}/text/."""

    __tablename__ = "datasets"
    resource = "dataset"
    restart = "retry"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), index=True)
    source: Mapped[str] = mapped_column(String(16))  # "hub", "import", "upload" or "example"
    repo_id: Mapped[str | None] = mapped_column(String(255), index=True)
    config: Mapped[str | None] = mapped_column(String(255))  # hub config (subset)
    split: Mapped[str | None] = mapped_column(String(64))  # the hub split asked for; None = all
    revision: Mapped[str | None] = mapped_column(String(255))  # what the user asked for
    commit_sha: Mapped[str | None] = mapped_column(String(64))  # what the hub resolved it to
    source_path: Mapped[str | None] = mapped_column(Text)  # where an import came from
    source_format: Mapped[str | None] = mapped_column(String(16))  # txt / jsonl / csv / parquet; None = by suffix
    text_column: Mapped[str | None] = mapped_column(String(255))  # None: detect (structured files) or txt
    txt_mode: Mapped[str] = mapped_column(String(16), default="line")  # .txt: a document per "line" or "document"
    splits: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # split -> rows
    num_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # on disk: source copy + text
    download_bytes: Mapped[int | None] = mapped_column(BigInteger)
    license: Mapped[str | None] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    tokenizations: Mapped[list[Tokenization]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", order_by="Tokenization.created_at"
    )

    @property
    def total_bytes(self) -> int:
        """What deleting the dataset frees: its text and source files plus every tokenization."""
        return self.size_bytes + sum(t.size_bytes for t in self.tokenizations)


class Tokenization(TrackedRow, Base):
    """One split of a dataset tokenized with one model's tokenizer and settings: tokens.npy + offsets.npy."""

    __tablename__ = "tokenizations"
    resource = "tokenization"
    restart = "retry"  # tokenizing again with the same model, split and settings replaces a stopped one

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[str] = mapped_column(String(32), index=True)  # the tokenizer's model (models domain)
    tokenizer_name: Mapped[str] = mapped_column(String(255))  # the model's name when it was tokenized
    split: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)  # lens.data.TokenizeSettings as a dict
    num_sequences: Mapped[int | None] = mapped_column(BigInteger)
    num_tokens: Mapped[int | None] = mapped_column(BigInteger)
    vocab_size: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    statistics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="tokenizations")
