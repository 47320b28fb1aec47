"""The features domain's tables: an analysis of one SAE (`feature_analyses`), its latents (`features`) and the
token index that answers "which latents fire on / promote this token" (`feature_tokens`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mistudio.platform.db import Base, UTCDateTime, new_id, utcnow
from mistudio.platform.lifecycle import TrackedRow


class FeatureAnalysis(TrackedRow, Base):
    """One streaming analysis of an SAE over sequences of a tokenization; the SAE and model by id only."""

    __tablename__ = "feature_analyses"
    __references__ = {"sae": "sae_id"}  # an SAE is not deleted while an analysis of it is kept (platform.references)
    resource = "feature_analysis"
    restart = "resume"  # the saved state holds every accumulator and the position reached

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    sae_id: Mapped[str] = mapped_column(String(32), index=True)
    sae_name: Mapped[str] = mapped_column(String(255))
    model_id: Mapped[str] = mapped_column(String(32), index=True)
    model_name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))
    device: Mapped[str] = mapped_column(String(16))
    dataset_id: Mapped[str] = mapped_column(String(32))
    tokenization_id: Mapped[str] = mapped_column(String(32))
    # The analysed sequences are rows first_sequence … first_sequence + num_sequences − 1 of the tokenization.
    source: Mapped[str] = mapped_column(String(16))  # holdout | tokenization
    first_sequence: Mapped[int] = mapped_column(BigInteger)
    num_sequences: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    # lens AnalysisConfig fields (ignore_token_ids filled by the first run from the tokenizer) and the extras.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    phase: Mapped[str | None] = mapped_column(String(16))
    sequences_done: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_per_second: Mapped[float | None] = mapped_column(Float)
    tokens: Mapped[int | None] = mapped_column(BigInteger)  # counted tokens, once complete
    dead_count: Mapped[int | None] = mapped_column(Integer)
    seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Feature(Base):
    """One latent of a completed analysis: what the browser sorts, filters and edits (the arrays stay on disk)."""

    __tablename__ = "features"
    __table_args__ = (
        # Every browser query is within one analysis: each sort key leads with it, so a page is an index range.
        Index("ix_features_frequency", "analysis_id", "frequency"),
        Index("ix_features_max_activation", "analysis_id", "max_activation"),
        Index("ix_features_label_score", "analysis_id", "label_score"),
        Index("ix_features_favourite", "analysis_id", "favourite"),
    )

    analysis_id: Mapped[str] = mapped_column(String(32), ForeignKey("feature_analyses.id", ondelete="CASCADE"),
                                             primary_key=True)
    latent: Mapped[int] = mapped_column(Integer, primary_key=True)
    frequency: Mapped[float] = mapped_column(Float)
    max_activation: Mapped[float] = mapped_column(Float)
    mean_activation: Mapped[float] = mapped_column(Float)
    dead: Mapped[bool] = mapped_column(Boolean)
    label: Mapped[str | None] = mapped_column(Text)
    label_kind: Mapped[str | None] = mapped_column(String(16))  # automatic | llm | user
    # An LLM label's author and its scores (balanced accuracy); label_score is their mean, what the browser sorts.
    label_model: Mapped[str | None] = mapped_column(String(255))
    label_prompt_version: Mapped[str | None] = mapped_column(String(64))
    detection_score: Mapped[float | None] = mapped_column(Float)
    fuzzing_score: Mapped[float | None] = mapped_column(Float)
    label_score: Mapped[float | None] = mapped_column(Float)
    favourite: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)


class FeatureToken(Base):
    """A token a latent is about: a peak token of its top examples or a promoted logit-lens token, by its text
    folded as labels fold it (lower case, stripped). The search by token is one index lookup, not a scan of
    every latent's examples."""

    __tablename__ = "feature_tokens"
    __table_args__ = (Index("ix_feature_tokens_lookup", "analysis_id", "token", "latent"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    analysis_id: Mapped[str] = mapped_column(String(32), ForeignKey("feature_analyses.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64))
    latent: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8))  # peak | logit


class FeatureLabelEvidence(Base):
    """What an LLM label rests on: the explainer's raw answer and each scored context with its truth and the
    LLM's verdict (null: unparsed). Written in the same transaction as the label, so neither exists alone."""

    __tablename__ = "feature_label_evidence"

    analysis_id: Mapped[str] = mapped_column(String(32), ForeignKey("feature_analyses.id", ondelete="CASCADE"),
                                             primary_key=True)
    latent: Mapped[int] = mapped_column(Integer, primary_key=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
