"""The API's response envelopes, shared by every domain's routes (and hence the generated TS types)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Item(BaseModel, Generic[T]):
    data: T


class Pagination(BaseModel):
    page: int
    limit: int
    total: int


class Page(BaseModel, Generic[T]):
    data: list[T]
    pagination: Pagination


class Accepted(BaseModel, Generic[T]):
    """202 body of long work: the resource plus the job that produces it."""

    data: T


class Deleted(BaseModel):
    """What a delete removed: the id and the bytes it gave back to the disk."""

    id: str
    bytes_freed: int


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (400, 403, 404, 409, 413, 422, 429, 500, 503)
}
