"""Stored rows that name a row of another domain by id, found without the owner knowing who points at it.

A domain's table that keeps another domain's id (an analysis keeps its SAE's) declares it:
`__references__ = {"sae": "sae_id"}` (resource type → column). Deleting the referenced row asks `referencing()` and
refuses while anything still names it, so no stored result is left pointing at nothing and none is lost silently.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mistudio.platform.db import Base
from mistudio.platform.tables import import_all_tables


def referencing(session: Session, resource: str, resource_id: str) -> list[dict[str, str]]:
    """Every stored row that names `resource_id` as its `resource`: [{"type": its resource type, "id": its id}]."""
    import_all_tables()
    found: list[dict[str, str]] = []
    for mapper in Base.registry.mappers:
        table = mapper.class_
        column = getattr(table, "__references__", {}).get(resource)
        if column is None:
            continue
        ids = session.scalars(select(table.id).where(getattr(table, column) == resource_id)).all()
        kind = getattr(table, "resource", table.__tablename__)
        found.extend({"type": kind, "id": row_id} for row_id in ids)
    return found
