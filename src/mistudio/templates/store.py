"""What every kind of template shares: names (cleaned, unique, free ones found), loading, listing and writing rows.

Each kind has its own table and its own names: an extraction template and a training template may share a name.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mistudio.errors import Conflict, InvalidInput
from mistudio.platform.db import row_or_404
from mistudio.templates.schemas import Renamed
from mistudio.templates.tables import ExtractionTemplate, TrainingTemplate

NAME_MAX = 255
Row = TypeVar("Row", ExtractionTemplate, TrainingTemplate)
NOUNS: dict[type, str] = {ExtractionTemplate: "extraction template", TrainingTemplate: "training template"}


def clean_name(name: str | None) -> str | None:
    """The name without surrounding blanks; None when nothing is left (the template gets an automatic name)."""
    stripped = (name or "").strip()
    return stripped or None


def unused(base: str, taken: Collection[str]) -> str:
    """`base`, else `base_2`, `base_3`, …, each cut to fit the name column."""
    candidate, number = base[:NAME_MAX], 1
    while candidate in taken:
        number += 1
        suffix = f"_{number}"
        candidate = base[:NAME_MAX - len(suffix)] + suffix
    return candidate


def taken_names(session: Session, table: type[Row]) -> set[str]:
    return set(session.scalars(select(table.name)))


def import_name(wanted: str | None, automatic: Callable[[], str], taken: set[str],
                stamp: str) -> tuple[str, Renamed | None]:
    """The name an imported template gets (and now takes): its own, else `{name}_imported_{stamp}`, else automatic."""
    wanted = clean_name(wanted)
    renamed = None
    if wanted is None:
        name = unused(automatic(), taken)
    elif wanted in taken:
        suffix = f"_imported_{stamp}"
        name = unused(wanted[:NAME_MAX - len(suffix)] + suffix, taken)
        renamed = Renamed(original=wanted, imported_as=name)
    else:
        name = wanted
    taken.add(name)
    return name, renamed


def changed_name(changes: dict[str, Any], allowed: Any = None) -> None:
    """Clean a PATCH's `name` in place; a blank one is refused (only a new template gets an automatic name)."""
    if "name" in changes:
        changes["name"] = clean_name(changes["name"])
        if changes["name"] is None:
            raise InvalidInput("name must not be empty", details={"field": "name", "allowed": allowed})


def refuse_duplicate(session: Session, table: type[Row], name: str, template_id: str | None = None) -> None:
    existing = session.scalar(select(table).where(table.name == name))
    if existing is not None and existing.id != template_id:
        raise Conflict(f"an {NOUNS[table]} named {name!r} already exists (id {existing.id}); "
                       "choose another name or edit that template",
                       details={"field": "name", "id": existing.id, "name": name})


def flush(session: Session, name: str, noun: str = "template") -> None:
    """Flush; a unique-name race with another writer becomes the same 409 as a checked duplicate."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"an {noun} named {name!r} already exists; choose another name",
                       details={"field": "name", "name": name}) from exc


def load(session: Session, table: type[Row], template_id: str) -> Row:
    return row_or_404(session, table, template_id, NOUNS[table])


def page_of(session: Session, table: type[Row], page: int, limit: int) -> tuple[list[Row], int]:
    """Favourites first, then the most recently changed."""
    query = (select(table).order_by(table.is_favorite.desc(), table.updated_at.desc(), table.id)
             .offset((page - 1) * limit).limit(limit))
    total = session.scalar(select(func.count()).select_from(table)) or 0
    return list(session.scalars(query)), total


def oldest_first(session: Session, table: type[Row]) -> list[Row]:
    return list(session.scalars(select(table).order_by(table.created_at, table.id)))
