"""HTTP routes of the templates domain: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from mistudio.envelopes import ERROR_RESPONSES, SAFE_INT, Item, Page, Pagination
from mistudio.platform.runtime import Runtime
from mistudio.templates import service, training_service
from mistudio.templates.schemas import (
    DeleteOut,
    ExtractionTemplateIn,
    ExtractionTemplateOut,
    ExtractionTemplatePatch,
    FavoriteIn,
    ImportOut,
    TemplatesFile,
    TrainingTemplateIn,
    TrainingTemplateOut,
    TrainingTemplatePatch,
)

# A prefix per kind of template, and /templates for the export/import of every kind as one file.
router = APIRouter(tags=["templates"], responses=ERROR_RESPONSES)
TEMPLATES = "/extraction-templates"
TRAINING_TEMPLATES = "/training-templates"


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@router.get(TEMPLATES, response_model=Page[ExtractionTemplateOut])
def list_extraction_templates(request: Request, page: Annotated[int, Query(ge=1, le=SAFE_INT)] = 1,
                              limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Page[ExtractionTemplateOut]:
    """Favourites first, then the most recently changed."""
    templates, total = service.list_templates(_runtime(request), page=page, limit=limit)
    return Page(data=templates, pagination=Pagination(page=page, limit=limit, total=total))


@router.post(TEMPLATES, status_code=201, response_model=Item[ExtractionTemplateOut])
def create_extraction_template(request: Request, body: ExtractionTemplateIn) -> Item[ExtractionTemplateOut]:
    """Save extraction settings; without a name one is made from them (409 if an explicit name is taken)."""
    return Item(data=service.create_template(_runtime(request), body))


@router.get(TEMPLATES + "/{template_id}", response_model=Item[ExtractionTemplateOut])
def get_extraction_template(request: Request, template_id: str) -> Item[ExtractionTemplateOut]:
    return Item(data=service.get_template(_runtime(request), template_id))


@router.patch(TEMPLATES + "/{template_id}", response_model=Item[ExtractionTemplateOut])
def update_extraction_template(request: Request, template_id: str,
                               body: ExtractionTemplatePatch) -> Item[ExtractionTemplateOut]:
    """Change the fields sent; null clears description or max_samples."""
    return Item(data=service.update_template(_runtime(request), template_id, body))


@router.delete(TEMPLATES + "/{template_id}", response_model=Item[DeleteOut])
def delete_extraction_template(request: Request, template_id: str) -> Item[DeleteOut]:
    return Item(data=service.delete_template(_runtime(request), template_id))


@router.put(TEMPLATES + "/{template_id}/favorite", response_model=Item[ExtractionTemplateOut])
def set_extraction_template_favorite(request: Request, template_id: str,
                                     body: FavoriteIn) -> Item[ExtractionTemplateOut]:
    return Item(data=service.set_favorite(_runtime(request), template_id, body.is_favorite))


@router.get(TRAINING_TEMPLATES, response_model=Page[TrainingTemplateOut])
def list_training_templates(request: Request, page: Annotated[int, Query(ge=1, le=SAFE_INT)] = 1,
                            limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Page[TrainingTemplateOut]:
    """Favourites first, then the most recently changed."""
    templates, total = training_service.list_templates(_runtime(request), page=page, limit=limit)
    return Page(data=templates, pagination=Pagination(page=page, limit=limit, total=total))


@router.post(TRAINING_TEMPLATES, status_code=201, response_model=Item[TrainingTemplateOut])
def create_training_template(request: Request, body: TrainingTemplateIn) -> Item[TrainingTemplateOut]:
    """Save SAE training settings; without a name one is made from them (409 if an explicit name is taken)."""
    return Item(data=training_service.create_template(_runtime(request), body))


@router.get(TRAINING_TEMPLATES + "/{template_id}", response_model=Item[TrainingTemplateOut])
def get_training_template(request: Request, template_id: str) -> Item[TrainingTemplateOut]:
    return Item(data=training_service.get_template(_runtime(request), template_id))


@router.patch(TRAINING_TEMPLATES + "/{template_id}", response_model=Item[TrainingTemplateOut])
def update_training_template(request: Request, template_id: str,
                             body: TrainingTemplatePatch) -> Item[TrainingTemplateOut]:
    """Change the fields sent; null clears description, hook_type, layer, total_tokens, steps or checkpoint_every."""
    return Item(data=training_service.update_template(_runtime(request), template_id, body))


@router.delete(TRAINING_TEMPLATES + "/{template_id}", response_model=Item[DeleteOut])
def delete_training_template(request: Request, template_id: str) -> Item[DeleteOut]:
    return Item(data=training_service.delete_template(_runtime(request), template_id))


@router.put(TRAINING_TEMPLATES + "/{template_id}/favorite", response_model=Item[TrainingTemplateOut])
def set_training_template_favorite(request: Request, template_id: str,
                                   body: FavoriteIn) -> Item[TrainingTemplateOut]:
    return Item(data=training_service.set_favorite(_runtime(request), template_id, body.is_favorite))


@router.get("/templates/export", response_model=TemplatesFile)
def export_templates(request: Request, response: Response) -> TemplatesFile:
    """Every template as one versioned JSON file (a download: Content-Disposition attachment)."""
    response.headers["Content-Disposition"] = f'attachment; filename="{service.export_filename()}"'
    return TemplatesFile.model_validate(service.export_file(_runtime(request)))


@router.post("/templates/import", response_model=Item[ImportOut])
def import_templates(request: Request, body: TemplatesFile) -> Item[ImportOut]:
    """Add an exported file's templates, all or none; taken names are renamed, unread sections reported."""
    return Item(data=service.import_file(_runtime(request), body))
