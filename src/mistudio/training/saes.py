"""Use cases of stored SAEs: those a training produced and those imported from SAELens or sparsify folders.

Each lives in saes/{sae_id}/ in the SAELens layout (`lens.sae.formats`); the `saes` table is what the studio lists.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mistudio.envelopes import Deleted
from mistudio.errors import Conflict, InvalidInput
from mistudio.models import service as models
from mistudio.platform.db import newest_first_page, row_or_404, session_scope
from mistudio.platform.jobs import resources
from mistudio.platform.references import referencing
from mistudio.platform.runtime import Runtime
from mistudio.platform.storage import Storage
from mistudio.training.schemas import SAEImportIn, SAEOut
from mistudio.training.tables import StoredSAE

SAE_RESOURCE = StoredSAE.resource


def sae_out(storage: Storage, row: StoredSAE) -> SAEOut:
    fields = {name: getattr(row, name) for name in SAEOut.model_fields if hasattr(row, name)}
    return SAEOut.model_validate({**fields, "path": str(storage.sae_dir(row.id))})


def _load_sae(session: Any, sae_id: str) -> StoredSAE:
    return row_or_404(session, StoredSAE, sae_id, "SAE")


def get_sae(runtime: Runtime, sae_id: str) -> SAEOut:
    with session_scope(runtime.sessions) as session:
        return sae_out(runtime.storage, _load_sae(session, sae_id))


def list_saes(runtime: Runtime, *, model_id: str | None = None, training_id: str | None = None, page: int = 1,
              limit: int = 50) -> tuple[list[SAEOut], int]:
    query = select(StoredSAE)
    if model_id:
        query = query.where(StoredSAE.model_id == model_id)
    if training_id:
        query = query.where(StoredSAE.training_id == training_id)
    with session_scope(runtime.sessions) as session:
        rows, total = newest_first_page(session, query, StoredSAE, page, limit)
        return [sae_out(runtime.storage, row) for row in rows], total


def delete_sae(runtime: Runtime, sae_id: str) -> Deleted:
    with session_scope(runtime.sessions) as session:
        _load_sae(session, sae_id)
        users = resources.users(session, [(SAE_RESOURCE, sae_id)])
        if users:
            raise Conflict(f"SAE {sae_id!r} cannot be deleted: job {users[0].id} ({users[0].kind}) uses it",
                           details={"job_id": users[0].id})
        kept = referencing(session, SAE_RESOURCE, sae_id)
        if kept:
            names = ", ".join(f"{row['type'].replace('_', ' ')} {row['id']}" for row in kept[:5])
            raise Conflict(f"SAE {sae_id!r} cannot be deleted: {len(kept)} stored result(s) were made with it "
                           f"({names}{', …' if len(kept) > 5 else ''}); delete those first",
                           details={"used_by": kept})
        session.delete(session.get(StoredSAE, sae_id))
    folder = runtime.storage.sae_dir(sae_id)
    freed = models.folder_bytes(folder)
    shutil.rmtree(folder, ignore_errors=True)
    return Deleted(id=sae_id, bytes_freed=freed)


def record_sae(session: Any, storage: Storage, sae: Any, *, name: str, origin: str, training_id: str | None,
               model_id: str | None, model_name: str | None, metrics: dict[str, float] | None,
               source_path: str | None = None, log10_sparsity: Any = None) -> StoredSAE:
    """Save `sae` (a lens SparseAutoencoder) in the SAELens layout under a new id and record it."""
    from mistudio.lens.sae.formats import save_saelens

    config = sae.config
    row = StoredSAE(name=name[:255], origin=origin, training_id=training_id, model_id=model_id, model_name=model_name,
                    hook_point=config.hook_point, target_hook_point=config.target_hook_point,
                    architecture=config.architecture, d_in=config.d_in, d_sae=config.d_sae, k=config.k,
                    metrics=metrics, source_path=source_path, size_bytes=0)
    session.add(row)
    session.flush()
    folder = storage.sae_dir(row.id)
    save_saelens(sae, folder, log10_sparsity=log10_sparsity, metadata={"mistudio_sae_id": row.id})
    row.size_bytes = models.folder_bytes(folder)
    return row


def import_sae(runtime: Runtime, body: SAEImportIn) -> SAEOut:
    """Read a SAELens or sparsify folder from disk and keep a copy in the studio's SAELens layout."""
    from mistudio.lens.sae.formats import load

    path = Path(body.path)
    if not path.is_absolute():
        raise InvalidInput(f"path {body.path!r} must be absolute (the server resolves no relative paths)",
                           details={"field": "path"})
    if not path.is_dir():
        raise InvalidInput(f"{path} is not a folder: give the folder holding cfg.json and the weights",
                           details={"field": "path"})
    sae = load(path)  # UnsupportedSAEFormat (400) says what is wrong with the folder
    model_name = None
    if body.model_id:
        model = models.get_model(runtime, body.model_id)
        model_name = model.name
        if model.hidden_size is not None and sae.config.d_in != model.hidden_size:
            raise InvalidInput(f"the SAE reads d_in={sae.config.d_in} but {model.name} has d_model "
                               f"{model.hidden_size}: it belongs to another model", details={"field": "model_id"})
    with session_scope(runtime.sessions) as session:
        row = record_sae(session, runtime.storage, sae, name=body.name or path.name, origin="imported",
                         training_id=None, model_id=body.model_id, model_name=model_name, metrics=None,
                         source_path=str(path))
        return sae_out(runtime.storage, row)
