"""`mistudio extract run|estimate|list|show|resume|delete|cancel`: activations of a tokenized dataset, stored."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from mistudio.cli.common import (
    console,
    err_console,
    fail,
    follow_job,
    guarded,
    id_table,
    open_runtime,
    resolve,
    server_running,
    shortened,
    size,
    styled,
)
from mistudio.errors import Conflict, UserError
from mistudio.extraction import service
from mistudio.extraction.schemas import EstimateOut, ExtractIn, ExtractionOut

extract_app = typer.Typer(help="Activation extraction: estimate, run, follow, resume, inspect, delete.",
                          no_args_is_help=True)
# Request fields as the user typed them: a service or validation error names the option, not the API field.
OPTION_OF = {"dataset_id": "--dataset", "tokenization_id": "--tokenization", "layers": "--layers",
             "hook_points": "--hooks", "max_samples": "--max-samples", "batch_size": "--batch-size",
             "dtype": "--dtype", "format": "--format", "device": "--device", "name": "--name"}
STOP_WAIT_EXTRA_S = 30.0  # after the cancel grace period, a stopping job is killed; this covers the bookkeeping
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]
DetachOption = Annotated[bool, typer.Option("--detach", help="return once the job is queued; do not follow it")]
T = TypeVar("T")


def _status(status: str) -> str:
    return styled(status)


def _inputs(runtime: Any, model_id: str, dataset_id: str, tokenization_id: str) -> tuple[str, str, str]:
    """The full model, dataset and tokenization ids the user's prefixes mean."""
    dataset = resolve(runtime, "dataset", dataset_id)
    return (resolve(runtime, "model", model_id), dataset, resolve(runtime, "tokenization", tokenization_id, dataset))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def _resume_hint(extraction_id: str) -> str:
    return f"completed batches are kept; continue with: mistudio extract resume {extraction_id}"


def parse_layers(text: str) -> list[int]:
    """'3,15,29' or '3-6,15' → [3, 15, 29] / [3, 4, 5, 6, 15]; anything else is one clear error."""
    layers: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        first, dash, last = part.partition("-")
        if not first.strip().isdigit() or (dash and not last.strip().isdigit()):
            fail(f"--layers: expected layer numbers like 3,15,29 or ranges like 3-6,15; got {text!r}")
        start, end = int(first), int(last) if dash else int(first)
        if end < start:
            fail(f"--layers: the range {part!r} runs backwards; write {end}-{start}")
        layers.extend(range(start, end + 1))
    return layers


def _named(action: Callable[[], T]) -> T:
    """`guarded`, with an input error prefixed by the option it is about (the service names API fields)."""
    def call() -> T:
        try:
            return action()
        except UserError as exc:
            field = exc.details.get("field") if isinstance(exc.details, dict) else None
            if field in OPTION_OF:
                exc.message = f"{OPTION_OF[field]}: {exc.message}"
            raise
    return guarded(call)


def _request(dataset_id: str, tokenization_id: str, layers: str, hooks: str, max_samples: int | None,
             batch_size: int, dtype: str, fmt: str, device: str | None, name: str | None) -> ExtractIn:
    fields: dict[str, Any] = {
        "dataset_id": dataset_id, "tokenization_id": tokenization_id, "layers": parse_layers(layers),
        "hook_points": [h.strip() for h in hooks.split(",") if h.strip()], "max_samples": max_samples,
        "batch_size": batch_size, "dtype": dtype, "format": fmt, "device": device, "name": name}
    try:
        return ExtractIn(**fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else ""
        fail(f"{OPTION_OF.get(field, 'an option')}: {problem['msg']}")
        raise AssertionError("unreachable") from exc


def _print_estimate(estimate: EstimateOut) -> None:
    console.print(f"{estimate.samples:,} samples × {estimate.seq_len:,} tokens (d_model {estimate.d_model}) through "
                  f"{estimate.layers_run} layer(s); hook points {', '.join(estimate.hook_points)}", highlight=False)
    calibration = estimate.calibration
    if calibration is None:
        console.print("  time     not measured (--no-calibrate)", highlight=False)
    else:
        measured = (f"measured {calibration.samples} samples as {calibration.format} on {calibration.device}"
                    + (", reused" if calibration.reused else ""))
        console.print(f"  time     about {_duration(estimate.seconds)} ({measured})", highlight=False)
    console.print(f"  storage  {size(estimate.storage_bytes)} ({estimate.storage_bytes:,} bytes) of "
                  f"{size(estimate.free_disk_bytes)} free", highlight=False)
    available = ("" if estimate.available_memory_bytes is None
                 else f" of {size(estimate.available_memory_bytes)} available")
    console.print(f"  memory   {size(estimate.peak_memory_bytes)} at peak{available}", highlight=False)
    for warning in estimate.warnings:
        console.print(f"  [yellow]warning:[/] {escape(warning)}", highlight=False)


def _print_extraction(extraction: ExtractionOut) -> None:
    console.print(f"[bold]{escape(extraction.name)}[/] ({extraction.id})  status {_status(extraction.status)}"
                  + (f": {escape(extraction.message)}" if extraction.message else ""), highlight=False)
    console.print(f"  model {escape(extraction.model_name)} ({extraction.model_id}) as {extraction.format} on "
                  f"{extraction.device}; dataset {escape(extraction.dataset_name)}, tokenization "
                  f"{extraction.tokenization_id}", highlight=False)
    console.print(f"  hook points {', '.join(extraction.hook_points)}; {extraction.samples_done:,} of "
                  f"{extraction.num_samples:,} samples × {extraction.seq_len or '—'} tokens, d_model "
                  f"{extraction.d_model or '—'}, stored as {extraction.dtype}", highlight=False)
    rate = f", {extraction.samples_per_second:,.1f} samples/s" if extraction.samples_per_second else ""
    rate += f", about {_duration(extraction.eta_seconds)} left" if extraction.eta_seconds is not None else ""
    batch = f"batch size {extraction.final_batch_size or extraction.batch_size}"
    if extraction.oom_retries:
        batch += f" after {len(extraction.oom_retries)} out-of-memory halving(s)"
    console.print(f"  on disk {size(extraction.size_bytes)} (estimate {size(extraction.estimate_bytes)}); time "
                  f"{_duration(extraction.seconds)}{rate}; {batch}", highlight=False)
    console.print(f"  files {extraction.path}", highlight=False, soft_wrap=True)
    if extraction.resumable:
        console.print(f"  [dim]{_resume_hint(extraction.id)}[/]", highlight=False)


def _print_statistics(statistics: dict[str, Any]) -> None:
    table = Table("hook point", "tokens", "d", "mean norm", "max |x|", "sparsity")
    for point, stats in statistics.items():
        table.add_row(point, f"{stats.tokens:,}", str(stats.d), _number(stats.mean_norm), _number(stats.max_abs),
                      "—" if stats.sparsity is None else f"{stats.sparsity:.1%} (|x| < {stats.sparsity_eps:g})")
    console.print(table)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.4g}"


def _stop(runtime: Any, extraction_id: str) -> None:
    """After Ctrl-C: cancel the extraction and wait (with a deadline) until its job has stopped and said so."""
    err_console.print(f"stopping extraction {extraction_id} (Ctrl-C again to leave without waiting)…",
                      highlight=False)
    try:
        service.cancel(runtime, extraction_id)
    except Conflict:
        pass  # it ended in the meantime: nothing to cancel, its status below says how
    deadline = time.monotonic() + runtime.settings.cancel_grace_seconds + STOP_WAIT_EXTRA_S
    extraction = service.get_extraction(runtime, extraction_id)
    while extraction.active and time.monotonic() < deadline:
        time.sleep(0.5)
        extraction = service.get_extraction(runtime, extraction_id)
    err_console.print(f"extraction {extraction_id}: {extraction.status}; {_resume_hint(extraction_id)}",
                      highlight=False)


def _follow(runtime: Any, extraction_id: str, job_id: str, title: str) -> None:
    """Follow the job with the same live bar as the other commands; Ctrl-C cancels, keeping what is done."""
    try:
        follow_job(runtime, job_id, title)
    except KeyboardInterrupt:
        try:
            _stop(runtime, extraction_id)
        except KeyboardInterrupt:
            err_console.print(f"left without waiting; {_resume_hint(extraction_id)}", highlight=False)
        raise typer.Exit(130) from None
    except typer.Exit:  # the job failed or was cancelled: `follow_job` said so
        if service.get_extraction(runtime, extraction_id).resumable:
            err_console.print(_resume_hint(extraction_id), highlight=False)
        raise
    _print_extraction(service.get_extraction(runtime, extraction_id))


def _queued(runtime: Any, extraction: ExtractionOut, detach: bool, title: str) -> None:
    assert extraction.job_id is not None
    if not detach:
        _follow(runtime, extraction.id, extraction.job_id, title)
        return
    if runtime.settings.runner_mode == "local" and not server_running(runtime):
        console.print("[dim]no miStudio server is running: the job waits in the queue until `mistudio serve` "
                      "starts[/]")
    console.print(f"follow it with: mistudio jobs watch {extraction.job_id}  or  mistudio extract show "
                  f"{extraction.id}", highlight=False)


def _release_gpu_cache() -> None:
    """The calibration ran in this process; hand its cached GPU memory back before the job loads the model."""
    import torch

    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()


# --- estimate and run -------------------------------------------------------------------------------------
ModelArgument = Annotated[str, typer.Argument(help="a model id, or a unique prefix of one")]
ExtractionArgument = Annotated[str, typer.Argument(help="an extraction id, or a unique prefix of one")]
DatasetOption = Annotated[str, typer.Option("--dataset", help="the dataset id (or a unique prefix)")]
TokenizationOption = Annotated[str, typer.Option("--tokenization", help="a ready tokenization of it, made with "
                                                                        "this model's tokenizer")]
LayersOption = Annotated[str, typer.Option("--layers", help="0-based layers: '3,15,29' or ranges '3-6,15'")]
HooksOption = Annotated[str, typer.Option("--hooks", help="comma-separated: resid_pre, resid_post, mlp_out, "
                                                          "attn_out")]
MaxSamplesOption = Annotated[int | None, typer.Option("--max-samples", help="default: every sequence")]
BatchOption = Annotated[int, typer.Option("--batch-size", help="a power of 2; halved automatically on OOM")]
DtypeOption = Annotated[str, typer.Option("--dtype", help="storage: fp32, fp16 or bf16")]
FormatOption = Annotated[str, typer.Option("--format", help="model format: fp32, fp16, bf16, q8, q4 or q2")]
DeviceOption = Annotated[str | None, typer.Option("--device", help="cpu, cuda or cuda:N (default: the studio's)")]
NameOption = Annotated[str | None, typer.Option("--name", help="default: hooks, layers, samples and dataset")]
CalibrateOption = Annotated[bool, typer.Option(help="time a few real sequences (loads the model once)")]


@extract_app.command("estimate")
def estimate(model_id: ModelArgument, dataset_id: DatasetOption, tokenization_id: TokenizationOption,
             layers: LayersOption, hooks: HooksOption = "resid_post", max_samples: MaxSamplesOption = None,
             batch_size: BatchOption = 32,
             dtype: DtypeOption = "fp32", fmt: FormatOption = "fp32", device: DeviceOption = None,
             name: NameOption = None, calibrate: CalibrateOption = True, as_json: JsonOption = False) -> None:
    """Time, storage and memory an extraction would need, and what to watch out for; starts nothing."""
    runtime = open_runtime()
    model_id, dataset_id, tokenization_id = _inputs(runtime, model_id, dataset_id, tokenization_id)
    body = _request(dataset_id, tokenization_id, layers, hooks, max_samples, batch_size, dtype, fmt, device, name)
    result = _named(lambda: service.estimate(runtime, model_id, body, calibrate=calibrate))
    if as_json:
        console.print_json(result.model_dump_json())
        return
    _print_estimate(result)
    if not result.can_start:
        fail("it cannot start: the activations would not fit on the free disk", 1)


@extract_app.command("run")
def run(model_id: ModelArgument, dataset_id: DatasetOption, tokenization_id: TokenizationOption, layers: LayersOption,
        hooks: HooksOption = "resid_post", max_samples: MaxSamplesOption = None, batch_size: BatchOption = 32,
        dtype: DtypeOption = "fp32", fmt: FormatOption = "fp32", device: DeviceOption = None,
        name: NameOption = None, calibrate: CalibrateOption = True, detach: DetachOption = False) -> None:
    """Estimate, then extract activations at the chosen hook points into memory-mappable .npy files."""
    runtime = open_runtime()
    model_id, dataset_id, tokenization_id = _inputs(runtime, model_id, dataset_id, tokenization_id)
    body = _request(dataset_id, tokenization_id, layers, hooks, max_samples, batch_size, dtype, fmt, device, name)
    planned = _named(lambda: service.estimate(runtime, model_id, body, calibrate=calibrate))
    _print_estimate(planned)
    if not planned.can_start:
        fail("not started: the activations would not fit on the free disk; free some space, or extract fewer "
             "samples, layers or hook points, or store fp16/bf16", 1)
    _release_gpu_cache()
    extraction = _named(lambda: service.start_extraction(runtime, model_id, body))
    console.print(f"extraction {extraction.id}: {escape(extraction.name)} (job {extraction.job_id})", highlight=False)
    _queued(runtime, extraction, detach, f"extract {len(extraction.hook_points)} hook point(s)")


@extract_app.command("resume")
def resume(extraction_id: ExtractionArgument, detach: DetachOption = False) -> None:
    """Continue a cancelled, interrupted or failed extraction from its last completed batch."""
    runtime = open_runtime()
    extraction = guarded(lambda: service.resume(runtime, resolve(runtime, "extraction", extraction_id)))
    console.print(f"extraction {extraction.id}: resuming from its last completed batch (job {extraction.job_id})",
                  highlight=False)
    _queued(runtime, extraction, detach, f"extract {len(extraction.hook_points)} hook point(s)")


# --- browsing ---------------------------------------------------------------------------------------------
@extract_app.command("list")
def list_extractions(model_id: Annotated[str | None, typer.Option("--model", help="only this model's")] = None,
                     status: Annotated[str | None, typer.Option(help="queued, running, completed, error, …")] = None,
                     page: Annotated[int, typer.Option(min=1)] = 1,
                     limit: Annotated[int, typer.Option(min=1, max=200)] = 50, as_json: JsonOption = False) -> None:
    """List extractions, newest first."""
    runtime = open_runtime()
    model_id = resolve(runtime, "model", model_id) if model_id else None
    found, total = guarded(lambda: service.list_extractions(runtime, model_id=model_id, status=status, page=page,
                                                            limit=limit))
    if as_json:
        items = [extraction.model_dump(mode="json") for extraction in found]
        console.print_json(data={"items": items, "total": total})
        return
    short = shortened(runtime, "extraction", [e.id for e in found])
    table = id_table("name", "model", "status", "hook points", "samples", "size", "created", ids=short.values())
    for e in found:
        samples = f"{e.num_samples:,}" if e.status == "completed" else f"{e.samples_done:,}/{e.num_samples:,}"
        table.add_row(short[e.id], escape(e.name), escape(e.model_name), _status(e.status), ", ".join(e.hook_points),
                      samples, size(e.size_bytes), e.created_at.strftime("%Y-%m-%d %H:%M:%S"))
    console.print(table)
    console.print(f"{len(found)} of {total} extraction(s)")


@extract_app.command("show")
def show(extraction_id: ExtractionArgument, as_json: JsonOption = False,
         stats: Annotated[bool, typer.Option("--stats", help="statistics per hook point (JSON: per dimension "
                                                             "too)")] = False) -> None:
    """One extraction: what was extracted from what, progress, size, where the files are."""
    runtime = open_runtime()
    extraction_id = resolve(runtime, "extraction", extraction_id)
    extraction = guarded(lambda: service.get_extraction(runtime, extraction_id))
    full = (guarded(lambda: service.get_statistics(runtime, extraction_id))
            if stats and extraction.status == "completed" else None)
    if as_json:
        shown = extraction.model_dump(mode="json")
        if full is not None:
            shown["statistics"] = {point: values.model_dump(mode="json") for point, values in full.items()}
        console.print_json(data=shown)
        return
    _print_extraction(extraction)
    if full is not None:
        _print_statistics(full)
    elif stats:
        console.print(f"  statistics are written when it completes (it is {extraction.status})", highlight=False)


# --- stopping and deleting --------------------------------------------------------------------------------
@extract_app.command("cancel")
def cancel(extraction_id: ExtractionArgument) -> None:
    """Stop a queued or running extraction; completed batches stay on disk for `resume`."""
    runtime = open_runtime()
    extraction = guarded(lambda: service.cancel(runtime, resolve(runtime, "extraction", extraction_id)))
    console.print(f"{extraction.id}: {extraction.status}"
                  + (" (stop requested)" if extraction.status != "cancelled" else ""), highlight=False)
    console.print(_resume_hint(extraction.id), highlight=False)


@extract_app.command("delete")
def delete(extraction_id: ExtractionArgument,
           yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False) -> None:
    """Delete an extraction and its activation files (refused while a job uses it)."""
    runtime = open_runtime()
    extraction_id = resolve(runtime, "extraction", extraction_id)
    extraction = guarded(lambda: service.get_extraction(runtime, extraction_id))
    if not yes and not typer.confirm(f"delete {extraction.name} ({size(extraction.size_bytes)} on disk)?"):
        raise typer.Exit(1)
    result = guarded(lambda: service.delete_extraction(runtime, extraction_id))
    console.print(f"deleted {result.id}: {size(result.bytes_freed)} freed ({result.bytes_freed:,} bytes)",
                  highlight=False)
