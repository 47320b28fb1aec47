"""Tokenizations of a dataset: preview, start (a `datasets.tokenize` job), list, cancel, delete, open.

Each tokenization is a folder of .npy arrays under datasets/{id}/tokenizations/{tokenization_id}/ that extraction,
training and feature analysis memory-map (`open_tokenized`); its row's status follows its job.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from mistudio.datasets.rows import default_split, load_dataset, ready_dataset, tokenization_of
from mistudio.datasets.schemas import (
    DeleteOut,
    TokenizationAccepted,
    TokenizationOut,
    TokenizedSample,
    TokenizeIn,
    TokenizePreviewIn,
    TokenizePreviewOut,
    TokenOut,
    settings_dict,
)
from mistudio.datasets.tables import Dataset, Tokenization
from mistudio.errors import Conflict, InvalidInput
from mistudio.lens import data
from mistudio.models import service as models
from mistudio.platform.db import session_scope
from mistudio.platform.jobs import resources
from mistudio.platform.lifecycle import cancellable_job
from mistudio.platform.runtime import Runtime

TOKENIZE_KIND = "datasets.tokenize"


def tokenizer_of(runtime: Runtime, model_id: str) -> Any:
    """The tokenizer of a ready, compatible model; anything else is a 400 naming the fix."""
    model = models.get_model(runtime, model_id)
    if not model.ready:
        raise InvalidInput(f"model {model_id!r} is {models.describe(model)}; tokenize with a ready, compatible model",
                           details={"model_id": model_id, "status": model.status})
    return data.load_tokenizer(runtime.storage.model_raw_dir(model_id))


def _token_settings(body: TokenizeIn) -> data.TokenizeSettings:
    settings = data.TokenizeSettings(**settings_dict(body)).normalized()
    settings.validate()
    return settings


def preview_tokenization(runtime: Runtime, dataset_id: str, body: TokenizePreviewIn) -> TokenizePreviewOut:
    with session_scope(runtime.sessions) as session:
        split = default_split(ready_dataset(session, dataset_id), body.split)
    settings = _token_settings(body)
    tokenizer = tokenizer_of(runtime, body.model_id)
    table = data.TextTable.open(runtime.storage.dataset_text_dir(dataset_id), split)
    result = data.preview_tokenization(table, tokenizer, settings, n=body.samples)
    return TokenizePreviewOut(
        split=split, samples=tokenized_samples(tokenizer, [s.ids for s in result.samples]),
        sequences_estimate=result.sequences_estimate, tokens_estimate=result.tokens_estimate,
        rows_sampled=result.rows_sampled, rows_total=table.num_rows, exact=result.rows_sampled >= table.num_rows)


def start_tokenize(runtime: Runtime, dataset_id: str, body: TokenizeIn) -> TokenizationAccepted:
    stored = asdict(_token_settings(body))  # as they take effect; invalid ones fail before anything is stored
    tokenizer_of(runtime, body.model_id)  # a model without a usable tokenizer fails now, not in the job
    model_name = models.get_model(runtime, body.model_id).name
    with session_scope(runtime.sessions) as session:
        dataset = ready_dataset(session, dataset_id)
        split = default_split(dataset, body.split)
        for other in dataset.tokenizations:
            same = other.model_id == body.model_id and other.split == split and other.settings == stored
            if same and not other.retryable:
                raise Conflict(f"tokenization {other.id} already has this model, split and settings "
                               f"({other.status}); delete it first to redo it", details={"id": other.id})
        tokenization = Tokenization(dataset_id=dataset_id, model_id=body.model_id, tokenizer_name=model_name,
                                    split=split, settings=stored)
        session.add(tokenization)
        session.flush()
        tokenization_id = tokenization.id
    # It reads the dataset's text and the model's tokenizer files: neither may be deleted under it.
    job = runtime.runner.submit(TOKENIZE_KIND, {"dataset_id": dataset_id, "tokenization_id": tokenization_id},
                                reads=[(Dataset.resource, dataset_id), (models.MODEL_RESOURCE, body.model_id)],
                                writes=[(Tokenization.resource, tokenization_id)])
    with session_scope(runtime.sessions) as session:
        tokenization = _find(session, dataset_id, tokenization_id)
        return TokenizationAccepted.model_validate(
            {**TokenizationOut.model_validate(tokenization).model_dump(), "job_id": job.id})


def _find(session: Session, dataset_id: str, tokenization_id: str) -> Tokenization:
    return tokenization_of(session, load_dataset(session, dataset_id), tokenization_id)


def list_tokenizations(runtime: Runtime, dataset_id: str) -> list[TokenizationOut]:
    with session_scope(runtime.sessions) as session:
        return [TokenizationOut.model_validate(t) for t in load_dataset(session, dataset_id).tokenizations]


def get_tokenization(runtime: Runtime, dataset_id: str, tokenization_id: str) -> TokenizationOut:
    with session_scope(runtime.sessions) as session:
        return TokenizationOut.model_validate(_find(session, dataset_id, tokenization_id))


def cancel_tokenization(runtime: Runtime, dataset_id: str, tokenization_id: str) -> TokenizationOut:
    with session_scope(runtime.sessions) as session:
        tokenization = _find(session, dataset_id, tokenization_id)
        job_id = cancellable_job(tokenization, f"tokenization {tokenization_id!r}")
    runtime.runner.cancel(job_id)  # one that had not started ended with its job: it wrote no files
    return get_tokenization(runtime, dataset_id, tokenization_id)


def delete_tokenization(runtime: Runtime, dataset_id: str, tokenization_id: str) -> DeleteOut:
    with session_scope(runtime.sessions) as session:
        tokenization = _find(session, dataset_id, tokenization_id)
        resources.refuse_if_used(session, f"tokenization {tokenization_id!r}",
                                 [(Tokenization.resource, tokenization_id)])
        session.delete(tokenization)
    folder = runtime.storage.tokenization_dir(dataset_id, tokenization_id)
    freed = models.folder_bytes(folder)
    shutil.rmtree(folder, ignore_errors=True)
    return DeleteOut(id=tokenization_id, bytes_freed=freed)


def open_tokenized(runtime: Runtime, dataset_id: str, tokenization_id: str) -> data.TokenizedSequences:
    """A ready tokenization's sequences, memory-mapped: what activation extraction streams."""
    with session_scope(runtime.sessions) as session:
        tokenization = _find(session, dataset_id, tokenization_id)
        if not tokenization.ready:
            raise Conflict(f"tokenization {tokenization_id!r} is {tokenization.status}, not ready")
    return data.TokenizedSequences.open(runtime.storage.tokenization_dir(dataset_id, tokenization_id))


def tokenized_samples(tokenizer: Any, ids_list: Iterable[list[int]]) -> list[TokenizedSample]:
    out = []
    for ids in ids_list:
        tokens = tokenizer.convert_ids_to_tokens(list(ids))
        out.append(TokenizedSample(text=tokenizer.decode(list(ids)),
                                   tokens=[TokenOut(id=int(i), token=str(t))
                                           for i, t in zip(ids, tokens, strict=True)]))
    return out
