"""The `mistudio` command: thin wrappers over the same services the API uses, one module per command group.

Shared helpers (errors, ids, paths, job bars) live in `mistudio.cli.common`; the groups import only that, and
this module puts them together. Nothing here may import torch: `mistudio --help` must stay instant.
"""

from __future__ import annotations

import typer

from mistudio.cli import (
    core,
    datasets,
    extraction,
    features,
    features_export,
    features_label,
    features_map,
    generate,
    jobs,
    models,
    steer,
    templates,
    training,
)

app = typer.Typer(help="miStudio: a local-first studio for mechanistic interpretability.", no_args_is_help=True)
for command in core.COMMANDS:
    app.command()(command)
app.command("generate")(generate.generate)
app.command("steer")(steer.steer)
app.add_typer(core.db_app, name="db")
app.add_typer(jobs.jobs_app, name="jobs")
app.add_typer(models.models_app, name="models")
app.add_typer(datasets.datasets_app, name="datasets")
app.add_typer(extraction.extract_app, name="extract")
app.add_typer(templates.templates_app, name="templates")
app.add_typer(training.train_app, name="train")
features.features_app.command("export")(features_export.export)
features.features_app.command("label")(features_label.label)
features.features_app.command("map")(features_map.map_latents)
app.add_typer(features.features_app, name="features")

__all__ = ["app"]
