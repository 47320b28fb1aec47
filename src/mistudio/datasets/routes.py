"""HTTP routes of the datasets domain: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from mistudio.datasets import service, tokenizations
from mistudio.datasets.schemas import (
    DatasetAccepted,
    DatasetOut,
    DatasetPatch,
    DatasetSource,
    DeleteOut,
    DownloadIn,
    ExampleIn,
    ExampleOut,
    HubPreviewIn,
    HubPreviewOut,
    ImportIn,
    RetryIn,
    SampleDetailOut,
    SampleOut,
    SourceFormat,
    TokenizationAccepted,
    TokenizationOut,
    TokenizeIn,
    TokenizePreviewIn,
    TokenizePreviewOut,
    TxtMode,
)
from mistudio.envelopes import ERROR_RESPONSES, SAFE_INT, Accepted, Item, Page, Pagination
from mistudio.platform.lifecycle import StatusName
from mistudio.platform.runtime import Runtime

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=ERROR_RESPONSES)


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@router.post("/preview", response_model=Item[HubPreviewOut])
async def preview_dataset(request: Request, body: HubPreviewIn) -> Item[HubPreviewOut]:
    """A hub dataset repo's configs, splits and sizes, before anything is downloaded."""
    return Item(data=await run_in_threadpool(service.preview, _runtime(request), body))


@router.post("/download", status_code=202, response_model=Accepted[DatasetAccepted])
def download_dataset(request: Request, body: DownloadIn) -> Accepted[DatasetAccepted]:
    return Accepted(data=service.start_download(_runtime(request), body))


@router.post("/import", status_code=202, response_model=Accepted[DatasetAccepted])
def import_dataset(request: Request, body: ImportIn) -> Accepted[DatasetAccepted]:
    """Import a file or folder on the server's disk (read in place; the normalized text is stored)."""
    return Accepted(data=service.start_import(_runtime(request), body))


@router.post("/upload", status_code=202, response_model=Accepted[DatasetAccepted])
def upload_dataset(
    request: Request,
    files: Annotated[list[UploadFile], File(description=".txt, .jsonl, .csv or .parquet files")],
    format: Annotated[SourceFormat | None, Form()] = None,
    text_column: Annotated[str | None, Form()] = None,
    txt_mode: Annotated[TxtMode, Form()] = "line",
    name: Annotated[str | None, Form(max_length=255)] = None,
) -> Accepted[DatasetAccepted]:
    """Upload files from the browser (limit: MISTUDIO_UPLOAD_MAX_BYTES); they are kept under the dataset."""
    uploads = [(upload.filename, upload.file) for upload in files]
    return Accepted(data=service.start_upload(_runtime(request), uploads, fmt=format, text_column=text_column,
                                              txt_mode=txt_mode, name=name))


@router.get("/examples", response_model=Item[list[ExampleOut]])
def list_examples(request: Request) -> Item[list[ExampleOut]]:
    return Item(data=service.list_examples(_runtime(request)))


@router.post("/examples", status_code=202, response_model=Accepted[DatasetAccepted])
def add_example(request: Request, body: ExampleIn) -> Accepted[DatasetAccepted]:
    """Add an example corpus (Shakespeare) as a dataset: real text without the HuggingFace Hub."""
    return Accepted(data=service.start_example(_runtime(request), body.name))


@router.get("", response_model=Page[DatasetOut])
def list_datasets(
    request: Request,
    status: StatusName | None = None,
    source: DatasetSource | None = None,
    search: Annotated[str | None, Query(max_length=200, description="in name and repo id")] = None,
    page: Annotated[int, Query(ge=1, le=SAFE_INT)] = 1,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[DatasetOut]:
    datasets, total = service.list_datasets(_runtime(request), status=status, source=source, search=search,
                                            page=page, limit=limit)
    return Page(data=datasets, pagination=Pagination(page=page, limit=limit, total=total))


@router.get("/{dataset_id}", response_model=Item[DatasetOut])
def get_dataset(request: Request, dataset_id: str) -> Item[DatasetOut]:
    return Item(data=service.get_dataset(_runtime(request), dataset_id))


@router.patch("/{dataset_id}", response_model=Item[DatasetOut])
def update_dataset(request: Request, dataset_id: str, body: DatasetPatch) -> Item[DatasetOut]:
    return Item(data=service.update_dataset(_runtime(request), dataset_id, body))


@router.delete("/{dataset_id}", response_model=Item[DeleteOut])
def delete_dataset(request: Request, dataset_id: str) -> Item[DeleteOut]:
    """Delete the dataset, its tokenizations and stored files (409 while a job uses it); says the bytes freed."""
    return Item(data=service.delete_dataset(_runtime(request), dataset_id))


@router.post("/{dataset_id}/cancel", response_model=Item[DatasetOut])
def cancel_dataset(request: Request, dataset_id: str) -> Item[DatasetOut]:
    """Stop a download or import; partial files are removed."""
    return Item(data=service.cancel(_runtime(request), dataset_id))


@router.post("/{dataset_id}/retry", status_code=202, response_model=Accepted[DatasetAccepted])
def retry_dataset(request: Request, dataset_id: str, body: RetryIn | None = None) -> Accepted[DatasetAccepted]:
    return Accepted(data=service.retry(_runtime(request), dataset_id, token=body.token if body else None))


@router.get("/{dataset_id}/samples", response_model=Page[SampleOut])
def list_samples(
    request: Request,
    dataset_id: str,
    split: str | None = None,
    search: Annotated[str | None, Query(max_length=500, description="case-insensitive substring")] = None,
    page: Annotated[int, Query(ge=1, le=SAFE_INT)] = 1,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Page[SampleOut]:
    rows, total = service.samples(_runtime(request), dataset_id, split=split, search=search, page=page, limit=limit)
    return Page(data=rows, pagination=Pagination(page=page, limit=limit, total=total))


@router.get("/{dataset_id}/samples/{index}", response_model=Item[SampleDetailOut])
def get_sample(request: Request, dataset_id: str, index: int, split: str | None = None,
               tokenization_id: str | None = None) -> Item[SampleDetailOut]:
    return Item(data=service.sample_detail(_runtime(request), dataset_id, index, split=split,
                                           tokenization_id=tokenization_id))


@router.post("/{dataset_id}/tokenize/preview", response_model=Item[TokenizePreviewOut])
async def preview_tokenization(request: Request, dataset_id: str, body: TokenizePreviewIn) -> Item[TokenizePreviewOut]:
    """The first sequences as tokens and the expected sequence/token counts, before anything runs."""
    return Item(data=await run_in_threadpool(tokenizations.preview_tokenization, _runtime(request), dataset_id, body))


@router.post("/{dataset_id}/tokenize", status_code=202, response_model=Accepted[TokenizationAccepted])
def tokenize_dataset(request: Request, dataset_id: str, body: TokenizeIn) -> Accepted[TokenizationAccepted]:
    return Accepted(data=tokenizations.start_tokenize(_runtime(request), dataset_id, body))


@router.get("/{dataset_id}/tokenizations", response_model=Item[list[TokenizationOut]])
def list_tokenizations(request: Request, dataset_id: str) -> Item[list[TokenizationOut]]:
    return Item(data=tokenizations.list_tokenizations(_runtime(request), dataset_id))


@router.get("/{dataset_id}/tokenizations/{tokenization_id}", response_model=Item[TokenizationOut])
def get_tokenization(request: Request, dataset_id: str, tokenization_id: str) -> Item[TokenizationOut]:
    """With its statistics once ready (lengths, histogram, vocabulary coverage, top tokens)."""
    return Item(data=tokenizations.get_tokenization(_runtime(request), dataset_id, tokenization_id))


@router.post("/{dataset_id}/tokenizations/{tokenization_id}/cancel", response_model=Item[TokenizationOut])
def cancel_tokenization(request: Request, dataset_id: str, tokenization_id: str) -> Item[TokenizationOut]:
    return Item(data=tokenizations.cancel_tokenization(_runtime(request), dataset_id, tokenization_id))


@router.delete("/{dataset_id}/tokenizations/{tokenization_id}", response_model=Item[DeleteOut])
def delete_tokenization(request: Request, dataset_id: str, tokenization_id: str) -> Item[DeleteOut]:
    return Item(data=tokenizations.delete_tokenization(_runtime(request), dataset_id, tokenization_id))
