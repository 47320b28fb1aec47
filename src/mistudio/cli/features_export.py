"""`mistudio features export ANALYSIS --format csv|parquet|neuronpedia -o PATH`: the same files the API serves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mistudio.cli.common import console, fail, guarded, open_runtime, resolve


def export(
    analysis_id: Annotated[str, typer.Argument(help="an analysis id, or a unique prefix of one")],
    export_format: Annotated[str, typer.Option("--format", help="csv or parquet (the feature table), or "
                                               "neuronpedia (a zip of Neuronpedia's import layout)")] = "csv",
    output: Annotated[Path, typer.Option("-o", "--output", help="the file to write, or a folder to write it in "
                                         "under its default name")] = Path("."),
    model_id: Annotated[str | None, typer.Option(help="neuronpedia: their model id (default: the model's name)")]
    = None,
    source_set: Annotated[str | None, typer.Option(help="neuronpedia: the source set name, without the layer")]
    = None,
    creator_id: Annotated[str | None, typer.Option(help="neuronpedia: your Neuronpedia user id")] = None,
) -> None:
    """Export an analysis' feature table (CSV, Parquet) or a Neuronpedia upload (features, activations,
    explanations as jsonl.gz in a zip)."""
    import shutil

    from mistudio.features import export as exports

    if export_format not in exports.EXPORT_FORMATS:
        fail(f"--format must be one of {', '.join(exports.EXPORT_FORMATS)}; got {export_format!r}")
    target = output.expanduser()
    if not target.is_dir() and not target.parent.is_dir():
        fail(f"-o: the folder {str(target.parent)!r} does not exist; create it or give another path")
    runtime = open_runtime()
    analysis_id = resolve(runtime, "analysis", analysis_id)
    options = {name: value for name, value in (("model_id", model_id), ("source_set", source_set),
                                               ("creator_id", creator_id)) if value is not None}
    # Written in the data directory first and moved into place: a failed export leaves no partial file at -o.
    made = guarded(lambda: exports.export_to_scratch(runtime, analysis_id, export_format, **options))
    if target.is_dir():
        target = target / made.name
    shutil.move(made, target)
    shutil.rmtree(made.parent, ignore_errors=True)
    console.print(f"wrote {target} ({target.stat().st_size:,} bytes)", highlight=False)
