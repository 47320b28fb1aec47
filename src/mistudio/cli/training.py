"""`mistudio train run|watch|list|show|pause|stop|resume|checkpoints|delete`: SAEs (one, or a sweep of several over
one read of the activations) trained on a stored extraction or on activations streamed from a model. Following a
run: `mistudio.cli.training_follow`. The SAEs themselves: `mistudio train saes …`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mistudio.cli.common import (
    body,
    console,
    fail,
    guarded,
    id_table,
    open_runtime,
    resolve,
    shortened,
    size,
    styled,
)
from mistudio.cli.saes import saes_app
from mistudio.cli.training_follow import duration, follow, number, queued
from mistudio.training import service
from mistudio.training.schemas import SAESpec, StreamIn, TrainIn, TrainingOut

train_app = typer.Typer(help="SAE training: run (one SAE or a sweep), follow, pause, stop, resume, inspect; "
                             "export and import SAEs.", no_args_is_help=True)
train_app.add_typer(saes_app, name="saes")

# Request fields as the user typed them: a validation error names the option, not the API field.
OPTION_OF = {"architecture": "--architecture", "expansion_factor": "--expansion-factor", "width": "--width",
             "k": "--k", "lr": "--lr", "sparsity_coefficient": "--l1", "extraction_id": "EXTRACTION_ID",
             "hook_point": "--hook-point", "target_hook_point": "--target-hook-point", "name": "--name",
             "saes": "--sweep/--sae", "total_tokens": "--tokens", "steps": "--steps", "batch_tokens": "--batch-tokens",
             "seed": "--seed", "device": "--device", "log_every": "--log-every",
             "checkpoint_every": "--checkpoint-every"}
STREAM_OPTION_OF = {"model_id": "--model", "dataset_id": "--dataset", "tokenization_id": "--tokenization",
                    "format": "--format", "max_samples": "--max-samples", "forward_batch_size": "--forward-batch-size"}
# --sweep names a field as its option does (l1, expansion-factor) or as the API does (sparsity_coefficient).
SWEEP_ALIASES = {"l1": "sparsity_coefficient"}
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]
NoFollowOption = Annotated[bool, typer.Option("--no-follow", help="return once the run is queued, printing its id")]
TrainingArgument = Annotated[str, typer.Argument(help="a training id, or a unique prefix of one")]


# --- the request ------------------------------------------------------------------------------------------
def parse_sweep(text: str) -> tuple[str, list[str]]:
    """'k=16,32,64' → ('k', ['16', '32', '64']); the field as SAESpec names it (l1 → sparsity_coefficient)."""
    field, equals, values = text.partition("=")
    field = field.strip().lstrip("-").replace("-", "_")
    field = SWEEP_ALIASES.get(field, field)
    listed = [value.strip() for value in values.split(",") if value.strip()]
    if not equals or field not in SAESpec.model_fields or not listed:
        fail(f"--sweep: expected FIELD=V1,V2,… with FIELD one of {', '.join(sorted(SAESpec.model_fields))} "
             f"(or l1); got {text!r}")
    return field, listed


def sae_specs(base: dict[str, Any], sweep: str | None, sae_json: list[str]) -> list[SAESpec]:
    """The run's SAEs: the options as one SAE, or one per --sweep value, or one per --sae JSON over the options."""
    if sweep and sae_json:
        fail("--sweep and --sae: give one or the other")
    if sweep:
        field, values = parse_sweep(sweep)
        drop = {"width"} if field == "expansion_factor" else set()  # a width would override every factor
        return [body(SAESpec, {**OPTION_OF, field: f"--sweep {field}={value}"},
                     **{**{k: v for k, v in base.items() if k not in drop}, field: value}) for value in values]
    specs = []
    for text in sae_json:
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as exc:
            fail(f"--sae: not valid JSON ({exc.msg}): {text!r}")
        if not isinstance(fields, dict):
            fail(f"--sae: expected a JSON object of SAE fields, like '{{\"k\": 16}}'; got {text!r}")
        specs.append(body(SAESpec, {**OPTION_OF, **{name: f"--sae {text}" for name in fields}}, **{**base, **fields}))
    return specs or [body(SAESpec, OPTION_OF, **base)]


def check_source(extraction_id: str | None, model_id: str | None, dataset_id: str | None,
                 tokenization_id: str | None, stream_options: dict[str, Any]) -> None:
    """Usage errors of the source, before the database is opened: an extraction, or a model + tokenization."""
    if (extraction_id is None) == (model_id is None):
        fail("give EXTRACTION_ID (train on stored activations) or --model with --dataset and --tokenization "
             "(stream them from the model, no disk cache); not both")
    if model_id is None:
        passed = [STREAM_OPTION_OF[name] for name, value in
                  {"dataset_id": dataset_id, "tokenization_id": tokenization_id, **stream_options}.items()
                  if value is not None]
        if passed:
            fail(f"{', '.join(passed)}: only for a streamed run (--model); EXTRACTION_ID already holds the activations")
    elif dataset_id is None or tokenization_id is None:
        fail("--model streams from the model: give --dataset and --tokenization (a ready tokenization of it) too")


def source_fields(runtime: Any, extraction_id: str | None, model_id: str | None, dataset_id: str | None,
                  tokenization_id: str | None, stream_options: dict[str, Any]) -> dict[str, Any]:
    """The request's source: `extraction_id`, or `stream` with the ids resolved from what the user typed."""
    if extraction_id is not None:
        return {"extraction_id": resolve(runtime, "extraction", extraction_id)}
    assert model_id is not None and dataset_id is not None and tokenization_id is not None
    dataset = resolve(runtime, "dataset", dataset_id)
    options = {name: value for name, value in stream_options.items() if value is not None}
    return {"stream": body(StreamIn, STREAM_OPTION_OF, model_id=resolve(runtime, "model", model_id),
                           dataset_id=dataset, tokenization_id=resolve(runtime, "tokenization", tokenization_id,
                                                                       dataset), **options)}


# --- run and resume ---------------------------------------------------------------------------------------
@train_app.command("run")
def run(
    # First though it is an option: the optional EXTRACTION_ID after it needs a default, and this one has none.
    hook_point: Annotated[str, typer.Option("--hook-point", help="the activations the SAE reads: "
                                                                 "blocks.6.resid_post")],
    extraction_id: Annotated[str | None, typer.Argument(
        help="a completed extraction id (or a unique prefix); or, instead, stream with --model")] = None,
    model_id: Annotated[str | None, typer.Option(
        "--model", help="stream instead of EXTRACTION_ID: run this model over --dataset/--tokenization as training "
                        "reads (no disk; a forward pass per batch, every epoch)")] = None,
    dataset_id: Annotated[str | None, typer.Option("--dataset", help="streamed: the dataset id (or a prefix)")] = None,
    tokenization_id: Annotated[str | None, typer.Option(
        "--tokenization", help="streamed: a ready tokenization of the dataset, made with the model's tokenizer")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="streamed: the model's format, fp32, fp16, bf16, q8, "
                                                             "q4 or q2 (default: fp32)")] = None,
    max_samples: Annotated[int | None, typer.Option(help="streamed: at most this many sequences (default: all)")
                           ] = None,
    forward_batch_size: Annotated[int | None, typer.Option(
        help="streamed: sequences per forward pass, a power of 2 (default: 8)")] = None,
    target_hook_point: Annotated[str | None, typer.Option(
        "--target-hook-point", help="train a transcoder: reconstruct this hook point from --hook-point")] = None,
    architecture: Annotated[str | None, typer.Option(help="standard, topk, batchtopk, jumprelu, gated or "
                                                          "matryoshka (default: topk)")] = None,
    expansion_factor: Annotated[int | None, typer.Option(help="width = factor × d_model (default: 8)")] = None,
    width: Annotated[int | None, typer.Option(help="the number of latents (instead of --expansion-factor)")] = None,
    k: Annotated[int | None, typer.Option("--k", help="active latents per token, topk family (default: 32)")] = None,
    lr: Annotated[float | None, typer.Option(help="learning rate (default: 4e-4)")] = None,
    l1: Annotated[float | None, typer.Option(help="sparsity coefficient: l1 for standard and gated, l0 for "
                                                  "jumprelu (default: 5)")] = None,
    steps: Annotated[int | None, typer.Option(help="optimizer steps (instead of --tokens)")] = None,
    tokens: Annotated[int | None, typer.Option(help="training tokens (default: 2 epochs of the extraction)")] = None,
    batch_tokens: Annotated[int | None, typer.Option(help="tokens per step (default: 4096)")] = None,
    seed: Annotated[int | None, typer.Option(help="default: 0")] = None,
    name: Annotated[str | None, typer.Option(help="default: architecture, width, hook point and extraction")] = None,
    sweep: Annotated[str | None, typer.Option(
        help="one SAE per value of one field: 'k=16,32,64', 'lr=1e-4,4e-4', 'l1=1,5', 'expansion-factor=4,8', "
             "'hook-point=blocks.0.resid_post,blocks.1.resid_post' (one read of the data for all)")
    ] = None,
    sae: Annotated[list[str] | None, typer.Option(
        "--sae", help="instead of --sweep, repeated: one SAE each, as JSON over the options: '{\"k\": 16, "
                      "\"lr\": 1e-3}'")] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda or cuda:N (default: the studio's)")] = None,
    log_every: Annotated[int | None, typer.Option(help="log metrics every N steps (default: 25)")] = None,
    checkpoint_every: Annotated[int | None, typer.Option(help="checkpoint every N steps (default: 200)")] = None,
    evaluate: Annotated[bool, typer.Option(help="CE loss recovered and KL in the model at the end")] = True,
    no_follow: NoFollowOption = False,
) -> None:
    """Train an SAE (or a sweep of SAEs) on a completed extraction, or on activations streamed from a model,
    following its metrics live.

    The source: EXTRACTION_ID reads stored activations (disk once, fast reads, reusable across runs); --model with
    --dataset and --tokenization runs the model as training reads (no disk, but a forward pass on every batch,
    repeated each epoch).

    A sweep trains several SAEs over one read of the activations. --sweep FIELD=V1,V2,… makes one SAE per value,
    the other options applying to each; FIELD is k, lr, l1, expansion-factor, width, architecture, hook-point (SAEs
    on several hook points share one read, one forward pass when streamed) or any other SAE field. For SAEs that
    differ in more than one field, repeat --sae with a JSON object laid over the options.

    Ctrl-C stops following only: the run goes on in the server (pause it with `mistudio train pause ID`).
    """
    if steps is not None and tokens is not None:
        fail("--steps and --tokens: give one or the other")
    stream_options = {"format": fmt, "max_samples": max_samples, "forward_batch_size": forward_batch_size}
    check_source(extraction_id, model_id, dataset_id, tokenization_id, stream_options)
    base = {field: value for field, value in {
        "architecture": architecture, "expansion_factor": expansion_factor, "width": width, "k": k, "lr": lr,
        "sparsity_coefficient": l1}.items() if value is not None}
    specs = sae_specs(base, sweep, sae or [])  # usage errors before the database is opened
    shared = {field: value for field, value in {
        "total_tokens": tokens, "steps": steps, "batch_tokens": batch_tokens, "seed": seed, "device": device,
        "log_every": log_every, "checkpoint_every": checkpoint_every}.items() if value is not None}
    runtime = open_runtime()
    source = source_fields(runtime, extraction_id, model_id, dataset_id, tokenization_id, stream_options)
    request = body(TrainIn, OPTION_OF, **source, hook_point=hook_point, target_hook_point=target_hook_point,
                   name=name, saes=specs, evaluate_in_model=evaluate, **shared)
    training = guarded(lambda: service.start_training(runtime, request))
    console.print(f"training {training.id}: {escape(training.name)}: {len(training.members)} SAE(s), "
                  f"{training.total_steps:,} steps (job {training.job_id})", highlight=False)
    queued(runtime, training, no_follow)


@train_app.command("resume")
def resume(training_id: TrainingArgument, no_follow: NoFollowOption = False) -> None:
    """Continue a paused, interrupted or failed run from its newest checkpoint, then follow it."""
    runtime = open_runtime()
    training = guarded(lambda: service.resume(runtime, resolve(runtime, "training", training_id)))
    console.print(f"training {training.id}: resuming from its newest checkpoint (job {training.job_id})",
                  highlight=False)
    queued(runtime, training, no_follow)


@train_app.command("watch")
def watch(training_id: TrainingArgument) -> None:
    """Follow a run's metrics live until it ends (Ctrl-C stops following only)."""
    runtime = open_runtime()
    training = guarded(lambda: service.get_training(runtime, resolve(runtime, "training", training_id)))
    follow(runtime, training.id)


# --- pause, stop, delete ----------------------------------------------------------------------------------
@train_app.command("pause")
def pause(training_id: TrainingArgument) -> None:
    """Stop after the current step with a checkpoint; `resume` continues exactly from there."""
    runtime = open_runtime()
    training = guarded(lambda: service.pause(runtime, resolve(runtime, "training", training_id)))
    console.print(f"{training.id}: {training.status}" + (" (pause requested)" if training.active else ""),
                  highlight=False)


@train_app.command("stop")
def stop(training_id: TrainingArgument) -> None:
    """Finish early: the run ends after its current step and keeps its SAEs as they are then."""
    runtime = open_runtime()
    training = guarded(lambda: service.stop(runtime, resolve(runtime, "training", training_id)))
    console.print(f"{training.id}: {training.status}" + (" (stop requested: it ends after its current step and "
                                                         "keeps its SAEs)" if training.active else ""),
                  highlight=False)


@train_app.command("delete")
def delete(training_id: TrainingArgument,
           yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False) -> None:
    """Delete a run, its metrics and checkpoints; its SAEs stay (delete them with `train saes delete`)."""
    runtime = open_runtime()
    training = guarded(lambda: service.get_training(runtime, resolve(runtime, "training", training_id)))
    if not yes and not typer.confirm(f"delete training {training.name} and its checkpoints?"):
        raise typer.Exit(1)
    result = guarded(lambda: service.delete_training(runtime, training.id))
    console.print(f"deleted {result.id}: {size(result.bytes_freed)} freed", highlight=False)


# --- browsing ---------------------------------------------------------------------------------------------
@train_app.command("list")
def list_trainings(model_id: Annotated[str | None, typer.Option("--model", help="only this model's")] = None,
                   status: Annotated[str | None, typer.Option(help="queued, running, completed, …")] = None,
                   page: Annotated[int, typer.Option(min=1)] = 1,
                   limit: Annotated[int, typer.Option(min=1, max=200)] = 50, as_json: JsonOption = False) -> None:
    """List training runs, newest first."""
    runtime = open_runtime()
    model_id = resolve(runtime, "model", model_id) if model_id else None
    found, total = guarded(lambda: service.list_trainings(runtime, model_id=model_id, status=status, page=page,
                                                          limit=limit))
    if as_json:
        console.print_json(data={"items": [t.model_dump(mode="json") for t in found], "total": total})
        return
    short = shortened(runtime, "training", [t.id for t in found])
    table = id_table("name", "model", "hook point", "status", "steps", "SAEs", "created", ids=short.values())
    for t in found:
        table.add_row(short[t.id], escape(t.name), escape(t.model_name), t.hook_point, styled(t.status),
                      f"{t.steps_done:,}/{t.total_steps:,}", str(len(t.members)),
                      t.created_at.strftime("%Y-%m-%d %H:%M:%S"))
    console.print(table)
    console.print(f"{len(found)} of {total} training(s)")


def _hook_points(training: TrainingOut) -> list[str]:
    """Where each SAE of the run reads (a run may train SAEs on several hook points over one read)."""
    return [member["config"].get("hook_point") or training.hook_point for member in training.members]


def _final_table(training: TrainingOut) -> Table:
    """Per SAE: its hook point (when they differ), shape and the final (or, while it runs, the latest) metrics."""
    points = _hook_points(training)
    several = len(set(points)) > 1
    table = id_table("#", *(["hook point"] if several else []), "architecture", "width", "k", "lr", "FVU", "L0",
                     "dead %", "CE recovered", "KL", ids=training.sae_ids, header="SAE id")
    metrics = training.final_metrics or training.latest_metrics or []
    for index, member in enumerate(training.members):
        config, hyper = member["config"], member["hyperparameters"]
        values = metrics[index] if index < len(metrics) else {}
        fvu = "holdout_fvu" if "holdout_fvu" in values else "fvu"
        l0 = "holdout_l0" if "holdout_l0" in values else "l0"
        table.add_row(training.sae_ids[index] if index < len(training.sae_ids) else "—", str(index),
                      *([points[index]] if several else []), config["architecture"], f"{config['d_sae']:,}",
                      str(config.get("k") or "—"),
                      f"{hyper['lr']:.2e}", number(values, fvu, ".3f"), number(values, l0, ".1f"),
                      number(values, "dead_fraction", ".1%"), number(values, "model_ce_recovered", ".3f"),
                      number(values, "model_kl", ".4f"))
    return table


@train_app.command("show")
def show(training_id: TrainingArgument, as_json: JsonOption = False) -> None:
    """One run: what it trains on, progress, and per SAE its final metrics and SAE id."""
    runtime = open_runtime()
    training = guarded(lambda: service.get_training(runtime, resolve(runtime, "training", training_id)))
    if as_json:
        console.print_json(training.model_dump_json())
        return
    console.print(f"[bold]{escape(training.name)}[/] ({training.id})  status {styled(training.status)}"
                  + (f": {escape(training.message)}" if training.message else ""), highlight=False)
    reads = ", ".join(dict.fromkeys(_hook_points(training))) + (
        f" → {training.target_hook_point} (transcoder)" if training.target_hook_point else "")
    origin = (f"extraction {training.extraction_id}" if training.source == "extraction" else
              f"streamed ({training.format}) from dataset {training.dataset_id}, tokenization "
              f"{training.tokenization_id}")
    console.print(f"  model {escape(training.model_name)} ({training.model_id}); {origin}; {reads}, d_in "
                  f"{training.d_in}", highlight=False, soft_wrap=True)  # ids stay whole, copy-pasteable
    settings = training.settings
    rate = f", {training.tokens_per_second:,.0f} tokens/s" if training.tokens_per_second else ""
    console.print(f"  step {training.steps_done:,} of {training.total_steps:,} × {settings.get('batch_tokens', 0):,} "
                  f"tokens{rate}; seed {settings.get('seed')}, device {settings.get('device')}; time "
                  f"{duration(training.seconds)}", highlight=False)
    console.print(_final_table(training))
    if training.sae_ids:
        console.print(f"SAE(s): {', '.join(training.sae_ids)}", highlight=False)
    if training.resumable:
        console.print(f"  [dim]continue it with: mistudio train resume {training.id}[/]", highlight=False)


@train_app.command("checkpoints")
def checkpoints(training_id: TrainingArgument, as_json: JsonOption = False) -> None:
    """A run's checkpoints: the step each resumes from, its hold-out score and size."""
    runtime = open_runtime()
    training_id = resolve(runtime, "training", training_id)
    found = guarded(lambda: service.checkpoints(runtime, training_id))
    if as_json:
        console.print_json(data=[c.model_dump(mode="json") for c in found])
        return
    table = Table("step", "hold-out MSE", "size", "path")
    for c in found:
        table.add_row(f"{c.step:,}", "—" if c.score is None else f"{c.score:.4g}", size(c.size_bytes), c.path)
    console.print(table)
    console.print(f"{len(found)} checkpoint(s)")
