"""Response bodies of the features exports and the label import."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LabelsImported(BaseModel):
    """What a label import did: every label in the file was checked before any was written."""

    analysis_id: str
    format: Literal["csv", "neuronpedia"] = Field(description="our feature-table CSV, or Neuronpedia explanations "
                                                  "(JSON lines, gzipped or not)")
    imported: int = Field(description="latents whose label was set (kind `imported`, no score)")
    skipped: int = Field(description="rows without a label text (left as they were)")
    duplicates: int = Field(description="further labels of a latent already labelled by this file (the first wins)")
