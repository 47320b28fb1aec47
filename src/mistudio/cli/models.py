"""`mistudio models preview|download|import|list|show|architecture|quantize|compare|cancel|retry|delete`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from mistudio.cli.common import (
    console,
    follow_job,
    guarded,
    id_table,
    local_path,
    open_runtime,
    resolve,
    shortened,
    size,
)
from mistudio.models import service
from mistudio.models.schemas import DownloadIn, ImportIn, ModelOut, ModelPatch, PreviewIn, QuantizeIn

models_app = typer.Typer(help="Models: download, import, quantize, inspect, compare, delete.", no_args_is_help=True)
FIT_STYLE = {"green": "green", "yellow": "yellow", "red": "red"}
FormatOption = Annotated[str | None, typer.Option("--format", help="fp32, fp16, bf16, q8, q4 or q2")]
# Without --token the job uses the user's own HF login (HF_TOKEN or `hf auth login`); a token is never stored.
TokenOption = Annotated[str | None, typer.Option(help="HF token for a gated repo (default: HF_TOKEN / hf login)")]
ModelArgument = Annotated[str, typer.Argument(help="a model id, or a unique prefix of one")]


def _params(count: int | None) -> str:
    return "—" if count is None else f"{count / 1e9:.2f}B" if count >= 1e9 else f"{count / 1e6:.1f}M"


def _print_model(model: ModelOut) -> None:
    console.print(f"[bold]{model.name}[/] ({model.id})  status [bold]{model.status}[/]"
                  + (f": {model.message}" if model.message else "")
                  + (f" (incompatible: {model.incompatible_reason})" if model.incompatible_reason else ""))
    console.print(f"  source {model.source} {model.repo_id or model.source_path or ''}  family {model.family or '—'}"
                  f"  parameters {_params(model.parameter_count)}  on disk {size(model.size_bytes)}")
    for variant in model.variants:
        console.print(f"  variant {variant.id}: {variant.requested_format}→{variant.format or '?'} on {variant.device}"
                      f"  {variant.status}  measured {size(variant.footprint_bytes)} "
                      f"(estimate {size(variant.estimate_bytes)})  {variant.message or ''}")


@models_app.command("preview")
def preview(repo_id: str, revision: Annotated[str | None, typer.Option()] = None, token: TokenOption = None,
            budget_gb: Annotated[float | None, typer.Option(help="memory budget for the fit colours")] = None
            ) -> None:
    """What a hub repo holds and the memory each format needs, before downloading anything."""
    runtime = open_runtime()
    info = guarded(lambda: service.preview(runtime, PreviewIn(repo_id=repo_id, revision=revision, token=token,
                                                              budget_gb=budget_gb)))
    console.print(f"[bold]{info.repo_id}[/] @ {info.revision[:12]}  family {info.family or info.model_type or '—'}"
                  f"  parameters {_params(info.parameter_count)} ({info.parameter_source or 'unknown'})")
    console.print(f"  {len(info.files)} of {info.total_files} files to download, {size(info.download_bytes)};"
                  f" licence {info.license or '—'}; {'gated' if info.gated else 'not gated'}")
    if not info.compatible:
        console.print(f"  [red]incompatible:[/] {info.incompatible_reason}")
    table = Table("format", "spec estimate", "estimate", "fit", "available on " + info.device)
    for f in info.formats:
        table.add_row(f.format, size(f.spec_bytes), size(f.estimate_bytes), f"[{FIT_STYLE[f.fit]}]{f.fit}[/]",
                      "yes" if f.available else f"no: {f.unavailable_reason}")
    if info.formats:
        console.print(table)


@models_app.command("download")
def download(repo_id: str, revision: Annotated[str | None, typer.Option()] = None, fmt: FormatOption = None,
             name: Annotated[str | None, typer.Option()] = None, token: TokenOption = None,
             trust_remote_code: Annotated[bool, typer.Option(help="run code shipped in the repo")] = False,
             wait: Annotated[bool, typer.Option(help="follow the download with a progress bar")] = True) -> None:
    """Download a model from the hub (resumable, verified); --format also loads it in that format."""
    runtime = open_runtime()
    body = DownloadIn(repo_id=repo_id, revision=revision, token=token, format=fmt, name=name,  # type: ignore[arg-type]
                      trust_remote_code=trust_remote_code)
    model = guarded(lambda: service.start_download(runtime, body))
    console.print(f"model {model.id}: downloading {repo_id} (job {model.job_id})")
    if wait:
        follow_job(runtime, model.job_id, f"download {repo_id}")
        _print_model(service.get_model(runtime, model.id))


@models_app.command("import")
def import_model(path: Annotated[str, typer.Argument(help="a HF model folder or a .gguf file")],
                 mode: Annotated[str, typer.Option(help="copy or link (folders)")] = "copy",
                 fmt: FormatOption = None, name: Annotated[str | None, typer.Option()] = None,
                 wait: Annotated[bool, typer.Option()] = True) -> None:
    """Import a HF model folder or a GGUF file from this machine's disk."""
    runtime = open_runtime()
    body = ImportIn(path=local_path(path), mode=mode, format=fmt, name=name)  # type: ignore[arg-type]
    model = guarded(lambda: service.start_import(runtime, body))
    console.print(f"model {model.id}: importing {body.path} (job {model.job_id})", highlight=False)
    if wait:
        follow_job(runtime, model.job_id, f"import {model.name}")
        _print_model(service.get_model(runtime, model.id))


@models_app.command("list")
def list_models(status: Annotated[str | None, typer.Option()] = None,
                family: Annotated[str | None, typer.Option()] = None, fmt: FormatOption = None,
                search: Annotated[str | None, typer.Option()] = None,
                limit: Annotated[int, typer.Option(min=1, max=200)] = 50) -> None:
    """List models, newest first."""
    runtime = open_runtime()
    models, total = guarded(lambda: service.list_models(runtime, status=status, family=family, fmt=fmt,
                                                        search=search, limit=limit))
    short = shortened(runtime, "model", [m.id for m in models])
    table = id_table("name", "status", "family", "parameters", "on disk", "variants", ids=short.values())
    for m in models:
        variants = ", ".join(f"{v.format or v.requested_format}@{v.device}:{v.status}" for v in m.variants)
        table.add_row(short[m.id], m.name, m.status, m.family or "—", _params(m.parameter_count), size(m.size_bytes),
                      variants or "—")
    console.print(table)
    console.print(f"{len(models)} of {total} model(s)")


@models_app.command("show")
def show(model_id: ModelArgument, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One model with its variants."""
    runtime = open_runtime()
    model = guarded(lambda: service.get_model(runtime, resolve(runtime, "model", model_id)))
    if as_json:
        console.print_json(model.model_dump_json())
    else:
        _print_model(model)


@models_app.command("architecture")
def show_architecture(model_id: ModelArgument, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Layers, heads, parameters per block and hook points (from stored metadata, no weights loaded)."""
    runtime = open_runtime()
    arch = guarded(lambda: service.get_architecture(runtime, resolve(runtime, "model", model_id)))
    if as_json:
        console.print_json(arch.model_dump_json())
        return
    console.print(f"[bold]{arch.family or arch.model_type}[/]: {arch.num_layers} layers, hidden {arch.hidden_size},"
                  f" heads {arch.num_attention_heads} (kv {arch.num_key_value_heads}), vocab {arch.vocab_size},"
                  f" context {arch.context_length}, {_params(arch.parameters.total)} parameters")
    table = Table("layer", "parameters", "attention", "mlp", "hook points")
    for layer in arch.layers:
        table.add_row(str(layer.index), _params(layer.parameters), layer.attention.type,
                      layer.mlp.type + (f" ×{layer.mlp.num_experts}" if layer.mlp.num_experts else ""),
                      " ".join(point.split(".")[-1] for point in layer.hook_points))
    console.print(table)


@models_app.command("quantize")
def quantize(model_id: ModelArgument, fmt: Annotated[str, typer.Argument(help="fp32, fp16, bf16, q8, q4 or q2")],
             device: Annotated[str | None, typer.Option()] = None,
             wait: Annotated[bool, typer.Option()] = True) -> None:
    """Load a model in another format as a variant (raw files reused), measuring its real memory."""
    runtime = open_runtime()
    model_id = resolve(runtime, "model", model_id)
    variant = guarded(lambda: service.start_quantize(runtime, model_id, QuantizeIn(format=fmt, device=device)))  # type: ignore[arg-type]
    console.print(f"variant {variant.id}: {fmt} on {variant.device} (job {variant.job_id})")
    if wait:
        follow_job(runtime, variant.job_id, f"quantize {fmt}")
        _print_model(service.get_model(runtime, model_id))


@models_app.command("compare")
def compare(a: ModelArgument, b: ModelArgument, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Two models side by side: differing config fields, sizes, layers, hook points."""
    runtime = open_runtime()
    result = guarded(lambda: service.compare(runtime, resolve(runtime, "model", a), resolve(runtime, "model", b)))
    if as_json:
        console.print_json(result.model_dump_json())
        return
    table = Table("", result.a.name, result.b.name)
    table.add_row("parameters", _params(result.parameters.a), _params(result.parameters.b))
    table.add_row("layers", str(result.num_layers.a), str(result.num_layers.b))
    table.add_row("on disk", size(result.size_bytes.a), size(result.size_bytes.b))
    for diff in result.config_differences:
        table.add_row(diff.key, json.dumps(diff.a), json.dumps(diff.b))
    console.print(table)
    console.print(f"hook points: {result.hook_points.common} common, {len(result.hook_points.only_a)} only in "
                  f"{result.a.name}, {len(result.hook_points.only_b)} only in {result.b.name}")


@models_app.command("rename")
def rename(model_id: ModelArgument, name: str, notes: Annotated[str | None, typer.Option()] = None) -> None:
    """Rename a model (and optionally set its notes)."""
    runtime = open_runtime()
    patch = ModelPatch(name=name, notes=notes) if notes is not None else ModelPatch(name=name)
    _print_model(guarded(lambda: service.update_model(runtime, resolve(runtime, "model", model_id), patch)))


@models_app.command("cancel")
def cancel(model_id: ModelArgument) -> None:
    """Cancel a download or import; partial files are removed."""
    runtime = open_runtime()
    model = guarded(lambda: service.cancel_download(runtime, resolve(runtime, "model", model_id)))
    console.print(f"{model.id}: {model.status} (stop requested)" if model.status != "cancelled" else
                  f"{model.id}: cancelled")


@models_app.command("retry")
def retry(model_id: ModelArgument, token: TokenOption = None, wait: Annotated[bool, typer.Option()] = True) -> None:
    """Run a failed, interrupted or cancelled download/import again (verified files are kept)."""
    runtime = open_runtime()
    model = guarded(lambda: service.retry(runtime, resolve(runtime, "model", model_id), token=token))
    if wait:
        follow_job(runtime, model.job_id, f"retry {model.name}")
        _print_model(service.get_model(runtime, model.id))


@models_app.command("delete")
def delete(model_id: ModelArgument,
           yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False) -> None:
    """Delete a model, its variants and its files (refused while a job uses it)."""
    runtime = open_runtime()
    model_id = resolve(runtime, "model", model_id)
    model = guarded(lambda: service.get_model(runtime, model_id))
    if not yes and not typer.confirm(f"delete {model.name} ({size(model.size_bytes)} on disk)?"):
        raise typer.Exit(1)
    result = guarded(lambda: service.delete_model(runtime, model_id))
    console.print(f"deleted {model_id}: {size(result.bytes_freed)} freed, {result.variants_removed} variant(s)")
