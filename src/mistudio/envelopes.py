"""The API's envelopes and the input bounds every domain's routes share (and hence the generated TS types)."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")
# The largest integer any request may carry, in bodies and query parameters alike: a JavaScript client holds it
# exactly, and page × limit stays far inside the 64 bits of a database integer (beyond them SQLite raises
# OverflowError, which would be a 500).
SAFE_INT = 2**53 - 1
BoundedInt = Annotated[int, Field(le=SAFE_INT)]


def omittable(**constraints: Any) -> Any:
    """A PATCH field that may be left out but not sent as `null`: its column has no "unset" to store.

    The default is never validated, so leaving the field out still works; the schema states a plain type, so
    `null` is a 422 like any other value of the wrong type, and the generated client types say so too.
    """
    return Field(default=None, json_schema_extra=_without_default, **constraints)


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # a `null` default on a non-null type would tell clients null is fine


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
