"""The dataset and tokenization rows the datasets domain's use cases start from, or the error a user should see."""

from __future__ import annotations

from sqlalchemy.orm import Session, selectinload

from mistudio.datasets.tables import Dataset, Tokenization
from mistudio.errors import Conflict, InvalidInput, NotFound


def load_dataset(session: Session, dataset_id: str) -> Dataset:
    dataset = session.get(Dataset, dataset_id, options=[selectinload(Dataset.tokenizations)])
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} not found", details={"id": dataset_id})
    return dataset


def ready_dataset(session: Session, dataset_id: str) -> Dataset:
    dataset = load_dataset(session, dataset_id)
    if not dataset.ready:
        raise Conflict(f"dataset {dataset_id!r} is {dataset.status}; its text can be read once it is ready",
                       details={"status": dataset.status})
    return dataset


def default_split(dataset: Dataset, split: str | None) -> str:
    if split is not None:
        if split not in dataset.splits:
            raise InvalidInput(f"dataset {dataset.id!r} has no split {split!r}; it has: "
                               f"{', '.join(dataset.splits) or 'none'}", details={"splits": list(dataset.splits)})
        return split
    return "train" if "train" in dataset.splits else next(iter(dataset.splits))


def tokenization_of(session: Session, dataset: Dataset, tokenization_id: str) -> Tokenization:
    for tokenization in dataset.tokenizations:
        if tokenization.id == tokenization_id:
            return tokenization
    raise NotFound(f"tokenization {tokenization_id!r} of dataset {dataset.id!r} not found",
                   details={"id": tokenization_id})
