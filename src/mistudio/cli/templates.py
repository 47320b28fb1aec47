"""`mistudio templates list|export|import`: saved extraction and training settings, and the file that carries them
(with the steering presets)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mistudio.cli.common import console, fail, guarded, open_runtime
from mistudio.templates import service, training_service

templates_app = typer.Typer(help="Extraction and training templates: list, export to a file, import from one.",
                            no_args_is_help=True)


def _sae_summary(sae: Any) -> str:
    size = f"w{sae.width:,}" if sae.width is not None else f"x{sae.expansion_factor}"
    k = f" k{sae.k}" if sae.architecture in training_service.K_FAMILY and sae.k is not None else ""
    return f"{sae.architecture} {size}{k}"


def _list_training(templates: list[Any], total: int) -> None:
    table = Table("", "id", "name", "SAEs", "hook", "length", "batch tokens", "updated")
    for t in templates:
        hook = " ".join(part for part in (t.hook_type, None if t.layer is None else f"layer {t.layer}") if part)
        length = f"{t.steps:,} steps" if t.steps else f"{t.total_tokens:,} tokens" if t.total_tokens else "2 epochs"
        table.add_row("★" if t.is_favorite else "", t.id, escape(t.name), ", ".join(map(_sae_summary, t.saes)),
                      hook or "any", length, f"{t.batch_tokens:,}", f"{t.updated_at.astimezone():%Y-%m-%d %H:%M}")
    console.print(table)
    console.print(f"{len(templates)} of {total} training template(s)")


@templates_app.command("list")
def list_templates(page: Annotated[int, typer.Option(min=1)] = 1,
                   limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
                   training: Annotated[bool, typer.Option("--training", help="list training templates")] = False,
                   as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List extraction (or, with --training, training) templates, favourites (★) first, then the most recent."""
    runtime = open_runtime()
    kind = training_service if training else service
    templates, total = guarded(lambda: kind.list_templates(runtime, page=page, limit=limit))
    if as_json:
        console.print_json(json.dumps({"items": [t.model_dump(mode="json") for t in templates], "total": total}))
        return
    if training:
        _list_training(templates, total)
        return
    table = Table("", "id", "name", "layers", "hook points", "samples", "batch", "dtype", "updated")
    for t in templates:
        table.add_row("★" if t.is_favorite else "", t.id, escape(t.name), ", ".join(map(str, t.layers)),
                      ", ".join(t.hook_points), "all" if t.max_samples is None else f"{t.max_samples:,}",
                      str(t.batch_size), t.dtype, f"{t.updated_at.astimezone():%Y-%m-%d %H:%M}")
    console.print(table)
    console.print(f"{len(templates)} of {total} template(s)")


@templates_app.command("export")
def export(path: Annotated[Path | None, typer.Argument(
        help="file to write, or a folder for mistudio-templates-YYYYMMDD.json; stdout if omitted")] = None) -> None:
    """Write every template to one JSON file that `mistudio templates import` (or the web UI) reads back."""
    document = guarded(lambda: service.export_file(open_runtime()))
    text = json.dumps(document, indent=2) + "\n"
    if path is None:
        sys.stdout.write(text)  # not through rich: the output must stay valid JSON at any terminal width
        return
    target = path / service.export_filename() if path.is_dir() else path
    try:
        target.write_text(text)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc}", 1)
    extraction, training = len(document["extraction_templates"]), len(document["training_templates"])
    presets = len(document["steering_presets"])
    console.print(f"exported {extraction + training} template(s) ({extraction} extraction, {training} training) "
                  f"and {presets} steering preset(s) to {target}", highlight=False)


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}", 1)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path} is not a JSON file: {exc}", 1)
    if not isinstance(document, dict):
        fail(f"{path} is not a miStudio templates file: expected a JSON object with \"version\", "
             "\"extraction_templates\" and \"training_templates\"", 1)
    return document


@templates_app.command("import")
def import_templates(path: Annotated[Path, typer.Argument(help="a file written by `mistudio templates export`")]
                     ) -> None:
    """Add a file's templates, all or none: names already taken get `_imported_{timestamp}`."""
    document = _read(path)
    result = guarded(lambda: service.import_file(open_runtime(), document))
    count = len(result.imported) + len(result.imported_training)
    console.print(f"imported {count} template(s) and {len(result.imported_presets)} steering preset(s) from {path}",
                  highlight=False)
    for kind, imported in (("extraction", result.imported), ("training", result.imported_training),
                           ("steering preset", result.imported_presets)):
        for template in imported:
            console.print(f"  {kind}: {escape(template.name)} ({template.id})", highlight=False)
    for rename in [*result.renamed, *result.renamed_training, *result.renamed_presets]:
        console.print(f"renamed {escape(rename.original)} -> {escape(rename.imported_as)} (the name was taken)",
                      highlight=False)
    for skipped in result.skipped_sections:
        count = f" ({skipped.items} item(s))" if skipped.items is not None else ""
        console.print(f"skipped section {escape(skipped.section)}{count}: {skipped.reason}", highlight=False)
