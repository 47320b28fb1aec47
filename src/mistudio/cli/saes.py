"""`mistudio train saes list|show|export|import|delete`: stored SAEs, each a folder in the SAELens layout."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mistudio.cli.common import (
    body,
    console,
    fail,
    guarded,
    id_table,
    local_path,
    open_runtime,
    resolve,
    shortened,
    size,
)
from mistudio.training import saes as stored_saes
from mistudio.training.schemas import SAEImportIn, SAEOut

saes_app = typer.Typer(help="Stored SAEs (SAELens layout): list, show, export, import, delete.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]
SAEArgument = Annotated[str, typer.Argument(help="an SAE id, or a unique prefix of one")]


def _print_sae(sae: SAEOut) -> None:
    reads = (sae.hook_point or "—") + (f" → {sae.target_hook_point}" if sae.target_hook_point else "")
    console.print(f"[bold]{escape(sae.name)}[/] ({sae.id})  {sae.origin} {sae.architecture}, d_in {sae.d_in}, "
                  f"width {sae.d_sae:,}" + (f", k {sae.k}" if sae.k else "") + f"; {reads}", highlight=False)
    console.print(f"  model {escape(sae.model_name or '—')}; {size(sae.size_bytes)} at {sae.path}", highlight=False,
                  soft_wrap=True)


@saes_app.command("list")
def list_saes(training_id: Annotated[str | None, typer.Option("--training", help="only this run's")] = None,
              model_id: Annotated[str | None, typer.Option("--model", help="only this model's")] = None,
              limit: Annotated[int, typer.Option(min=1, max=200)] = 50, as_json: JsonOption = False) -> None:
    """List stored SAEs, newest first."""
    runtime = open_runtime()
    training_id = resolve(runtime, "training", training_id) if training_id else None
    model_id = resolve(runtime, "model", model_id) if model_id else None
    found, total = guarded(lambda: stored_saes.list_saes(runtime, model_id=model_id, training_id=training_id,
                                                     limit=limit))
    if as_json:
        console.print_json(data={"items": [s.model_dump(mode="json") for s in found], "total": total})
        return
    short = shortened(runtime, "sae", [s.id for s in found])
    table = id_table("name", "origin", "architecture", "width", "k", "hook point", "FVU", "size", ids=short.values())
    for s in found:
        fvu = (s.metrics or {}).get("holdout_fvu")
        table.add_row(short[s.id], escape(s.name), s.origin, s.architecture, f"{s.d_sae:,}", str(s.k or "—"),
                      s.hook_point or "—", "—" if fvu is None else f"{fvu:.3f}", size(s.size_bytes))
    console.print(table)
    console.print(f"{len(found)} of {total} SAE(s)")


@saes_app.command("show")
def show_sae(sae_id: SAEArgument, as_json: JsonOption = False) -> None:
    """One SAE: shape, hook point, where its SAELens folder is, and its metrics."""
    runtime = open_runtime()
    sae = guarded(lambda: stored_saes.get_sae(runtime, resolve(runtime, "sae", sae_id)))
    if as_json:
        console.print_json(sae.model_dump_json())
        return
    _print_sae(sae)
    for key, value in sorted((sae.metrics or {}).items()):
        console.print(f"  {key:<28} {value:.6g}", highlight=False)


@saes_app.command("export")
def export(sae_id: SAEArgument, dest: Annotated[Path, typer.Argument(help="a new (or empty) folder")]) -> None:
    """Copy an SAE's folder (SAELens layout: cfg.json, sae_weights.safetensors, sparsity.safetensors) to DEST."""
    runtime = open_runtime()
    sae = guarded(lambda: stored_saes.get_sae(runtime, resolve(runtime, "sae", sae_id)))
    target = Path(local_path(dest))
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        fail(f"{target} is not empty: choose a new or empty folder (nothing is overwritten)", 1)
    shutil.copytree(sae.path, target, dirs_exist_ok=True)
    files = sorted(path.name for path in target.iterdir())
    console.print(f"exported {sae.id} to {target}: {', '.join(files)}", highlight=False, soft_wrap=True)


@saes_app.command("import")
def import_sae(path: Annotated[str, typer.Argument(help="a SAELens or sparsify SAE folder")],
               name: Annotated[str | None, typer.Option(help="default: the folder's name")] = None,
               model_id: Annotated[str | None, typer.Option("--model", help="the studio model it belongs to")] = None
               ) -> None:
    """Copy a SAELens or sparsify SAE folder from this machine into the studio."""
    runtime = open_runtime()
    model_id = resolve(runtime, "model", model_id) if model_id else None
    request = body(SAEImportIn, {"path": "PATH", "name": "--name", "model_id": "--model"}, path=local_path(path),
                   name=name, model_id=model_id)
    sae = guarded(lambda: stored_saes.import_sae(runtime, request))
    console.print(f"SAE {sae.id}: imported from {request.path}", highlight=False, soft_wrap=True)
    _print_sae(sae)


@saes_app.command("delete")
def delete_sae(sae_id: SAEArgument, yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False
               ) -> None:
    """Delete a stored SAE and its folder."""
    runtime = open_runtime()
    sae = guarded(lambda: stored_saes.get_sae(runtime, resolve(runtime, "sae", sae_id)))
    if not yes and not typer.confirm(f"delete SAE {sae.name} ({size(sae.size_bytes)})?"):
        raise typer.Exit(1)
    result = guarded(lambda: stored_saes.delete_sae(runtime, sae.id))
    console.print(f"deleted {result.id}: {size(result.bytes_freed)} freed", highlight=False)
