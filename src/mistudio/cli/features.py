"""`mistudio features analyze|list|show|pause|resume`: analyse a stored SAE's latents and browse them."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from mistudio.cli.common import (
    console,
    err_console,
    fail,
    follow_job,
    guarded,
    id_table,
    open_runtime,
    resolve,
)

features_app = typer.Typer(help="Feature analyses of stored SAEs: analyse, list latents, show one.",
                           no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]
AnalysisArgument = Annotated[str, typer.Argument(help="an analysis id, or a unique prefix of one")]


def _follow(runtime: Any, analysis_id: str, job_id: str) -> None:
    """The live bar; Ctrl-C pauses the analysis (its state is saved, `features resume` continues it)."""
    from mistudio.features import service

    try:
        follow_job(runtime, job_id, "analysing")
    except KeyboardInterrupt:
        guarded(lambda: service.pause(runtime, analysis_id))
        err_console.print(f"paused; `mistudio features resume {analysis_id}` continues it", highlight=False)
        raise typer.Exit(130) from None


@features_app.command("analyze")
def analyze(
    sae_id: Annotated[str, typer.Argument(help="a stored SAE id, or a unique prefix of one")],
    dataset_id: Annotated[str | None, typer.Option("--dataset", help="analyse over this dataset's tokenization "
                                                   "(default: the training's hold-out)")] = None,
    tokenization_id: Annotated[str | None, typer.Option("--tokenization")] = None,
    max_sequences: Annotated[int | None, typer.Option(min=1)] = None,
    top_k: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    context: Annotated[int, typer.Option(min=0, max=4096)] = 16,
    ablation_top: Annotated[int, typer.Option(min=0, max=100, help="ablate each latent's first N top examples")] = 0,
    batch_size: Annotated[int, typer.Option(min=1, max=4096)] = 8,
    model_format: Annotated[str, typer.Option("--format")] = "fp32",
    device: Annotated[str | None, typer.Option()] = None,
    detach: Annotated[bool, typer.Option("--detach", help="return once the job is queued")] = False,
) -> None:
    """Analyse an SAE's latents (statistics, examples, logit lens, neighbours, labels) as a resumable job."""
    from mistudio.features import service
    from mistudio.features.schemas import AnalyzeIn

    runtime = open_runtime()
    sae_id = resolve(runtime, "sae", sae_id)
    if dataset_id is not None:
        dataset_id = resolve(runtime, "dataset", dataset_id)
        if tokenization_id is not None:
            tokenization_id = resolve(runtime, "tokenization", tokenization_id, dataset_id)
    try:
        body = AnalyzeIn(dataset_id=dataset_id, tokenization_id=tokenization_id, max_sequences=max_sequences,
                         top_k=top_k, context=context, ablation_top=ablation_top, batch_size=batch_size,
                         format=model_format, device=device)
    except ValueError as exc:
        fail(str(exc).splitlines()[-1])
    started = guarded(lambda: service.start_analysis(runtime, sae_id, body))
    console.print(f"analysis {started.id}: {started.num_sequences:,} sequences of tokenization "
                  f"{started.tokenization_id} ({started.source}), {started.width:,} latents", highlight=False)
    if not detach:
        _follow(runtime, started.id, started.job_id)
        done = service.get_analysis(runtime, started.id)
        console.print(done.message or done.status, highlight=False)


@features_app.command("resume")
def resume(analysis_id: AnalysisArgument,
           detach: Annotated[bool, typer.Option("--detach", help="return once the job is queued")] = False) -> None:
    """Continue a paused or interrupted analysis from its saved state."""
    from mistudio.features import service

    runtime = open_runtime()
    analysis_id = resolve(runtime, "analysis", analysis_id)
    started = guarded(lambda: service.resume(runtime, analysis_id))
    if not detach:
        _follow(runtime, analysis_id, started.job_id)


@features_app.command("pause")
def pause(analysis_id: AnalysisArgument) -> None:
    """Pause a running analysis (its state is saved)."""
    from mistudio.features import service

    runtime = open_runtime()
    done = guarded(lambda: service.pause(runtime, resolve(runtime, "analysis", analysis_id)))
    console.print(f"{done.id}: {done.status}", highlight=False)


@features_app.command("list")
def list_features(
    analysis_id: AnalysisArgument,
    sort: Annotated[str, typer.Option(help="index, frequency, max_activation, mean_activation, label_score")] =
    "index",
    order: Annotated[str | None, typer.Option(help="asc or desc (default: desc for statistics)")] = None,
    search: Annotated[str | None, typer.Option(help="text in the label")] = None,
    token: Annotated[str | None, typer.Option(help="latents peaking on or promoting this token")] = None,
    dead: Annotated[bool | None, typer.Option("--dead/--alive", help="only dead / only live latents")] = None,
    dense: Annotated[bool | None, typer.Option("--dense/--not-dense")] = None,
    favourite: Annotated[bool | None, typer.Option("--favourite/--not-favourite")] = None,
    labelled: Annotated[bool | None, typer.Option("--labelled/--unlabelled")] = None,
    min_frequency: Annotated[float | None, typer.Option(min=0, max=1)] = None,
    max_frequency: Annotated[float | None, typer.Option(min=0, max=1)] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    as_json: JsonOption = False,
) -> None:
    """An analysis' latents, sorted, filtered and searched like the browser."""
    from typing import get_args

    from mistudio.features import browser
    from mistudio.features.schemas import SortField

    if sort not in get_args(SortField):
        fail(f"--sort must be one of {', '.join(get_args(SortField))}; got {sort!r}")
    if order not in (None, "asc", "desc"):
        fail(f"--order must be asc or desc; got {order!r}")
    runtime = open_runtime()
    analysis_id = resolve(runtime, "analysis", analysis_id)
    query = browser.FeatureQuery(sort=sort, descending=None if order is None else order == "desc",  # type: ignore[arg-type]
                                 dead=dead, dense=dense, min_frequency=min_frequency, max_frequency=max_frequency,
                                 labelled=labelled, favourite=favourite, search=search, token=token)
    rows, total = guarded(lambda: browser.list_features(runtime, analysis_id, query, page=page, limit=limit))
    if as_json:
        console.print_json(data={"items": [row.model_dump(mode="json") for row in rows], "total": total})
        return
    table = id_table("frequency", "max", "mean", "label", "★", header="latent")
    for row in rows:
        label = "dead" if row.dead else escape(row.label or "—")
        table.add_row(str(row.latent), f"{row.frequency:.4%}", f"{row.max_activation:.3g}",
                      f"{row.mean_activation:.3g}", label, "★" if row.favourite else "")
    console.print(table)
    console.print(f"{len(rows)} of {total:,} latent(s)", highlight=False)


def _window(example: Any) -> str:
    """The example's text with the peak token bracketed and each active token in bold."""
    parts = []
    centre = len(example.tokens) // 2
    for index, (text, value) in enumerate(zip(example.texts, example.activations, strict=True)):
        shown = escape(text)
        if index == centre:
            shown = f"[reverse]{shown}[/]"
        elif value > 0:
            shown = f"[bold]{shown}[/]"
        parts.append(shown)
    return "".join(parts).replace("\n", "⏎")


@features_app.command("show")
def show(analysis_id: AnalysisArgument, latent: Annotated[int, typer.Argument(min=0)],
         examples: Annotated[int, typer.Option(min=0, help="top examples shown")] = 5,
         as_json: JsonOption = False) -> None:
    """One latent: statistics, label, top examples, logit lens, neighbours and correlations."""
    from mistudio.features import browser

    runtime = open_runtime()
    analysis_id = resolve(runtime, "analysis", analysis_id)
    detail = guarded(lambda: browser.feature_detail(runtime, analysis_id, latent))
    if as_json:
        console.print_json(detail.model_dump_json())
        return
    console.print(f"[bold]latent {detail.latent}[/]  {escape(detail.label or '—')} ({detail.label_kind or 'no'} "
                  f"label){'  ★' if detail.favourite else ''}", highlight=False)
    console.print(f"  frequency {detail.frequency:.4%}, max {detail.max_activation:.4g}, mean "
                  f"{detail.mean_activation:.4g}" + ("  (dead)" if detail.dead else ""), highlight=False)
    for example in [e for e in detail.examples if e.kind == "top"][:examples]:
        console.print(f"  {example.activation:8.3f}  {_window(example)}", highlight=False)
    if detail.promoted:
        console.print("  promotes  " + ", ".join(f"{escape(t.text)!r} {t.value:+.2f}" for t in detail.promoted),
                      highlight=False)
        console.print("  suppresses " + ", ".join(f"{escape(t.text)!r} {t.value:+.2f}" for t in detail.suppressed),
                      highlight=False)
    for name, related in (("neighbours", detail.neighbours), ("correlated", detail.correlations)):
        if related:
            console.print(f"  {name}  " + ", ".join(f"{r.latent} ({r.value:.2f})" for r in related), highlight=False)
    if detail.ablation_mean_delta_loss is not None:
        console.print(f"  ablation: mean Δ next-token loss {detail.ablation_mean_delta_loss:+.4f}", highlight=False)
    if detail.notes:
        console.print(f"  notes: {escape(detail.notes)}", highlight=False)
