"""Use cases of the datasets domain: get text in (hub, disk, upload, examples), browse, delete; tokenizations are
`tokenizations.py`'s, the rows both start from `rows.py`'s.

Text is normalized once into datasets/{id}/text/{split}.arrow. As for models, the row is the truth and its status
follows the job producing it (`platform.lifecycle`), however that job ended.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from mistudio.datasets import examples
from mistudio.datasets.rows import default_split, load_dataset, ready_dataset, tokenization_of
from mistudio.datasets.schemas import (
    ConfigFiles,
    DatasetAccepted,
    DatasetOut,
    DatasetPatch,
    DeleteOut,
    DownloadIn,
    ExampleOut,
    HubPreviewIn,
    HubPreviewOut,
    ImportIn,
    SampleDetailOut,
    SampleOut,
    SplitFiles,
    TokenizedSample,
)
from mistudio.datasets.tables import Dataset, Tokenization
from mistudio.datasets.tokenizations import tokenized_samples, tokenizer_of
from mistudio.errors import Conflict, InvalidInput, NotFound
from mistudio.lens import data, hub, hub_datasets
from mistudio.models import service as models
from mistudio.platform.db import session_scope
from mistudio.platform.jobs import resources
from mistudio.platform.lifecycle import Status, cancellable_job
from mistudio.platform.runtime import Runtime

DOWNLOAD_KIND = "datasets.download"
IMPORT_KIND = "datasets.import"
# How other domains' jobs name a dataset or a tokenization they read.
DATASET_RESOURCE, TOKENIZATION_RESOURCE = Dataset.resource, Tokenization.resource


# --- reading ----------------------------------------------------------------------------------------------
def get_dataset(runtime: Runtime, dataset_id: str) -> DatasetOut:
    with session_scope(runtime.sessions) as session:
        return DatasetOut.model_validate(load_dataset(session, dataset_id))


def list_datasets(runtime: Runtime, *, status: str | None = None, source: str | None = None,
                  search: str | None = None, page: int = 1, limit: int = 50) -> tuple[list[DatasetOut], int]:
    query = select(Dataset)
    if status:
        query = query.where(Dataset.status == status)
    if source:
        query = query.where(Dataset.source == source)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(Dataset.name).like(pattern), func.lower(Dataset.repo_id).like(pattern)))
    with session_scope(runtime.sessions) as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.options(selectinload(Dataset.tokenizations))
                               .order_by(Dataset.created_at.desc(), Dataset.id)
                               .offset((page - 1) * limit).limit(limit)).all()
        return [DatasetOut.model_validate(d) for d in rows], total


def update_dataset(runtime: Runtime, dataset_id: str, patch: DatasetPatch) -> DatasetOut:
    with session_scope(runtime.sessions) as session:
        dataset = load_dataset(session, dataset_id)
        for name, value in patch.model_dump(exclude_unset=True).items():
            setattr(dataset, name, value)
        session.flush()
        return DatasetOut.model_validate(dataset)


# --- getting text in --------------------------------------------------------------------------------------
def preview(runtime: Runtime, body: HubPreviewIn) -> HubPreviewOut:
    info = hub_datasets.preview_dataset_repo(body.repo_id, revision=body.revision, token=hub.resolve_token(body.token),
                                             endpoint=runtime.settings.hf_endpoint)
    configs = [ConfigFiles(config=config, splits=[SplitFiles(split=split, files=len(files),
                                                             bytes=sum(f.size for f in files))
                                                  for split, files in splits.items()])
               for config, splits in info.configs.items()]
    return HubPreviewOut(repo_id=info.repo_id, revision=info.revision, gated=info.gated, private=info.private,
                         license=info.license, configs=configs, download_bytes=info.download_bytes)


def _accepted(runtime: Runtime, dataset_id: str, kind: str, params: dict[str, Any],
              token: str | None = None) -> DatasetAccepted:
    # Only a token the user typed travels, as an in-memory secret; HF_TOKEN / the login file are read by the job.
    job = runtime.runner.submit(kind, {"dataset_id": dataset_id, **params},
                                secrets={"hf_token": token} if token else None, writes=[(Dataset.resource, dataset_id)])
    with session_scope(runtime.sessions) as session:
        dataset = load_dataset(session, dataset_id)
        return DatasetAccepted.model_validate({**DatasetOut.model_validate(dataset).model_dump(), "job_id": job.id})


def _create(runtime: Runtime, **fields: Any) -> str:
    with session_scope(runtime.sessions) as session:
        dataset = Dataset(splits={}, tokenizations=[], **fields)
        session.add(dataset)
        session.flush()
        return dataset.id


def start_download(runtime: Runtime, body: DownloadIn) -> DatasetAccepted:
    """Check the repo (exists, accessible, has the config/split, fits on disk), record it, queue the download."""
    repo_id = hub.validate_repo_id(body.repo_id)
    token = hub.resolve_token(body.token)
    info = hub_datasets.preview_dataset_repo(repo_id, revision=body.revision, token=token,
                                             endpoint=runtime.settings.hf_endpoint)
    files = hub_datasets.select_dataset_files(info, body.config, body.split)
    hub_datasets.check_access(info, files, token=token, endpoint=runtime.settings.hf_endpoint)
    needed = sum(f.size for f in files)
    models.check_disk(runtime.storage, 2 * needed)  # the hub's files, then the normalized text beside them
    config = body.config or (next(iter(info.configs)) if len(info.configs) == 1 else None)
    dataset_id = _create(runtime, name=body.name or repo_id, source="hub", repo_id=repo_id, config=config,
                         split=body.split, revision=body.revision, commit_sha=info.revision,
                         text_column=body.text_column, download_bytes=needed, license=info.license)
    return _accepted(runtime, dataset_id, DOWNLOAD_KIND, {
        "repo_id": repo_id, "revision": info.revision, "config": body.config, "split": body.split,
        "text_column": body.text_column}, body.token)


def _check_import_path(raw_path: str, fmt: str | None) -> Path:
    path = Path(raw_path).expanduser()
    if not path.is_absolute():
        raise InvalidInput(f"import path {raw_path!r} must be absolute (a file or folder on the server)")
    if not path.exists():
        raise InvalidInput(f"import path {raw_path!r} does not exist on the server; check the path",
                           details={"path": raw_path})
    data.discover_files(path, fmt)  # unsupported suffixes and folders without text files fail here, before a job
    return path


def start_import(runtime: Runtime, body: ImportIn) -> DatasetAccepted:
    path = _check_import_path(body.path, body.format)
    dataset_id = _create(runtime, name=body.name or path.name, source="import", source_path=str(path),
                         source_format=body.format, text_column=body.text_column, txt_mode=body.txt_mode)
    return _accepted(runtime, dataset_id, IMPORT_KIND, {"path": str(path)})


def _safe_upload_name(name: str | None) -> str:
    """Uploads keep their base name only; anything that could climb out of the upload folder is refused."""
    raw = (name or "").replace("\\", "/")
    parts = PurePosixPath(raw).parts
    if not raw or raw.startswith("/") or ".." in parts or len(parts) != 1 or raw.startswith("."):
        raise InvalidInput(f"upload file name {name!r} is not allowed: send plain file names (no folders, '..' "
                           "or leading dots)", details={"name": name})
    return raw


def start_upload(runtime: Runtime, uploads: Iterable[tuple[str | None, BinaryIO]], *, fmt: str | None,
                 text_column: str | None, txt_mode: str, name: str | None) -> DatasetAccepted:
    """Store uploaded files under datasets/{id}/source/ and import them like a folder on disk."""
    files = [(_safe_upload_name(filename), stream) for filename, stream in uploads]
    if not files:
        raise InvalidInput("no file was uploaded: send one or more files in the 'files' form field")
    names = [filename for filename, _ in files]
    if len(set(names)) != len(names):
        raise InvalidInput("two uploaded files have the same name; rename one (each is kept under its own name)",
                           details={"names": names})
    for filename, _ in files:
        data.format_of(Path(filename), fmt)
    dataset_id = _create(runtime, name=name or files[0][0], source="upload", source_format=fmt,
                         text_column=text_column, txt_mode=txt_mode,
                         source_path=", ".join(filename for filename, _ in files)[:2000])
    folder = runtime.storage.dataset_source_dir(dataset_id)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for filename, stream in files:
            with (folder / filename).open("wb") as out:
                shutil.copyfileobj(stream, out, 1 << 20)
    except OSError as exc:
        shutil.rmtree(runtime.storage.dataset_dir(dataset_id), ignore_errors=True)
        with session_scope(runtime.sessions) as session:
            session.delete(load_dataset(session, dataset_id))
        raise InvalidInput(f"storing the upload failed: {exc.strerror or exc}; nothing was kept") from exc
    return _accepted(runtime, dataset_id, IMPORT_KIND, {"path": str(folder)})


def list_examples(runtime: Runtime) -> list[ExampleOut]:
    cache = runtime.storage.examples_dir
    return [ExampleOut(name=e.name, title=e.title, description=e.description,  # type: ignore[arg-type]
                       available_offline=examples.is_cached(cache, e.folder)) for e in examples.EXAMPLES.values()]


def start_example(runtime: Runtime, name: str) -> DatasetAccepted:
    example = examples.EXAMPLES.get(name)
    if example is None:
        raise NotFound(f"no example dataset {name!r}; there is: {', '.join(examples.EXAMPLES)}")
    dataset_id = _create(runtime, name=example.title, source="example", source_path=f"example:{name}",
                         source_format="txt", txt_mode="line")
    return _accepted(runtime, dataset_id, IMPORT_KIND, {"example": name})


def retry(runtime: Runtime, dataset_id: str, token: str | None = None) -> DatasetAccepted:
    """Run a stopped download or import again; hub files already verified are not fetched again."""
    with session_scope(runtime.sessions) as session:
        dataset = load_dataset(session, dataset_id)
        if not dataset.retryable:
            raise Conflict(f"dataset {dataset_id!r} is {dataset.status}; only failed, interrupted or cancelled "
                           "downloads and imports can be retried", details={"status": dataset.status})
        fields = {"source": dataset.source, "repo_id": dataset.repo_id, "revision": dataset.commit_sha,
                  "config": dataset.config, "split": dataset.split, "text_column": dataset.text_column,
                  "path": dataset.source_path}
    if fields["source"] == "hub":
        return _accepted(runtime, dataset_id, DOWNLOAD_KIND, {k: fields[k] for k in (
            "repo_id", "revision", "config", "split", "text_column")}, token)
    if fields["source"] == "example":
        return _accepted(runtime, dataset_id, IMPORT_KIND, {"example": fields["path"].removeprefix("example:")})
    if fields["source"] == "upload":
        uploaded = runtime.storage.dataset_source_dir(dataset_id)
        return _accepted(runtime, dataset_id, IMPORT_KIND, {"path": str(uploaded)})
    return _accepted(runtime, dataset_id, IMPORT_KIND, {"path": fields["path"]})


def cancel(runtime: Runtime, dataset_id: str) -> DatasetOut:
    """Stop the download or import producing this dataset; partial files are removed."""
    with session_scope(runtime.sessions) as session:
        job_id = cancellable_job(load_dataset(session, dataset_id), f"dataset {dataset_id!r}")
    job = runtime.runner.cancel(job_id)
    if job.status == Status.CANCELLED.value:  # it had not started (its row ended with it): no job cleans up but us
        shutil.rmtree(runtime.storage.dataset_text_dir(dataset_id), ignore_errors=True)
    return get_dataset(runtime, dataset_id)


# --- delete ------------------------------------------------------------------------------------------------
def delete_dataset(runtime: Runtime, dataset_id: str) -> DeleteOut:
    """Remove a dataset, its tokenizations and its files; refused (409) while any job reads or writes them."""
    with session_scope(runtime.sessions) as session:
        dataset = load_dataset(session, dataset_id)
        resources.refuse_if_used(session, f"dataset {dataset_id!r}", [
            (Dataset.resource, dataset_id), *((Tokenization.resource, t.id) for t in dataset.tokenizations)])
        session.delete(dataset)
    folder = runtime.storage.dataset_dir(dataset_id)
    freed = models.folder_bytes(folder)
    shutil.rmtree(folder, ignore_errors=True)
    return DeleteOut(id=dataset_id, bytes_freed=freed)


# --- browsing ----------------------------------------------------------------------------------------------
def samples(runtime: Runtime, dataset_id: str, *, split: str | None, search: str | None, page: int,
            limit: int) -> tuple[list[SampleOut], int]:
    with session_scope(runtime.sessions) as session:
        dataset = ready_dataset(session, dataset_id)
        split = default_split(dataset, split)
    table = data.TextTable.open(runtime.storage.dataset_text_dir(dataset_id), split)
    offset = (page - 1) * limit
    if search:
        found, total = table.search(search, offset, limit)
    else:
        total = table.num_rows
        found = list(enumerate(table.rows(offset, limit), start=offset))
    return [SampleOut(index=i, split=split, text=text, chars=len(text)) for i, text in found], total


def sample_detail(runtime: Runtime, dataset_id: str, index: int, *, split: str | None,
                  tokenization_id: str | None) -> SampleDetailOut:
    """One row's full text, and, with a tokenization, that row run through the same tokenizer and settings."""
    with session_scope(runtime.sessions) as session:
        dataset = ready_dataset(session, dataset_id)
        split = default_split(dataset, split)
        tokenization = tokenization_of(session, dataset, tokenization_id) if tokenization_id else None
        model_id = tokenization.model_id if tokenization else None
        settings = dict(tokenization.settings) if tokenization else None
    table = data.TextTable.open(runtime.storage.dataset_text_dir(dataset_id), split)
    if not 0 <= index < table.num_rows:
        raise NotFound(f"split {split!r} of dataset {dataset_id!r} has rows 0..{table.num_rows - 1}, not {index}")
    text = table.rows(index, 1)[0]
    sequences: list[TokenizedSample] = []
    if model_id is not None and settings is not None:
        tokenizer = tokenizer_of(runtime, model_id)
        token_settings = data.TokenizeSettings(**settings)
        if token_settings.packing:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]  # a packed document, before chunking
            sequences = tokenized_samples(tokenizer, [ids])
        else:
            sequences = tokenized_samples(tokenizer, data.tokenize_batch([text], tokenizer, token_settings))
    return SampleDetailOut(index=index, split=split, text=text, chars=len(text), tokenization_id=tokenization_id,
                           sequences=sequences)
