"""`mistudio features label ANALYSIS --top N [--endpoint URL --model NAME | --local-model MODEL_ID]`: label and
score latents with an LLM as one job (the same service the API calls)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from mistudio.cli.common import console, fail, follow_job, guarded, open_runtime, resolve
from mistudio.cli.features import AnalysisArgument


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def label(
    analysis_id: AnalysisArgument,
    top: Annotated[int, typer.Option(min=1, max=10_000, help="label the top N live latents by --sort")] = 20,
    sort: Annotated[str, typer.Option(help="frequency, max_activation, mean_activation or index")] = "frequency",
    latent: Annotated[list[int] | None, typer.Option("--latent", min=0, help="this latent (repeat) instead of "
                                                     "the top N")] = None,
    endpoint: Annotated[str | None, typer.Option(help="an OpenAI-compatible base URL, e.g. "
                                                 "http://localhost:8000/v1 (its key: MISTUDIO_LLM_API_KEY or "
                                                 "OPENAI_API_KEY in the environment)")] = None,
    model: Annotated[str | None, typer.Option(help="with --endpoint: the model it serves")] = None,
    local_model: Annotated[str | None, typer.Option("--local-model", help="a ready studio model id (or prefix) "
                                                    "that writes the labels, run locally")] = None,
    model_format: Annotated[str, typer.Option("--format", help="with --local-model: the variant to run")] = "fp32",
    explain_examples: Annotated[int, typer.Option(min=1, max=100)] = 10,
    score_examples: Annotated[int, typer.Option(min=1, max=100)] = 10,
    detach: Annotated[bool, typer.Option("--detach", help="return once the job is queued")] = False,
) -> None:
    """Label latents with an LLM and score each label (detection, fuzzing: balanced accuracy, 0.5 is chance).

    The key is read from the environment by the job, so it never appears on a command line or in the studio."""
    from mistudio.features import browser, labels_service
    from mistudio.features.labels_schemas import LabelIn
    from mistudio.system import service as system

    runtime = open_runtime()
    analysis_id = resolve(runtime, "analysis", analysis_id)
    if local_model is not None:
        local_model = resolve(runtime, "model", local_model)
    try:
        body = LabelIn(top=top, sort=sort, latents=latent or None, endpoint=endpoint, model=model,  # type: ignore[arg-type]
                       local_model_id=local_model, format=model_format, explain_examples=explain_examples,
                       score_examples=score_examples)
    except ValueError as exc:
        fail(str(exc).splitlines()[-1])
    started = guarded(lambda: labels_service.start_labelling(runtime, analysis_id, body))
    console.print(f"labelling {len(started.latents)} latent(s) with {escape(started.writer)} (job {started.job_id})",
                  highlight=False)
    if detach:
        return
    try:
        follow_job(runtime, started.job_id, "labelling")
    except KeyboardInterrupt:
        guarded(lambda: system.cancel_job(runtime, started.job_id))
        console.print("cancelled; the latents labelled so far keep their labels", highlight=False)
        raise typer.Exit(130) from None
    job = system.get_job(runtime, started.job_id)
    if job.status != "completed":
        fail(job.error or job.message or job.status, 1)
    for latent_index in started.latents:
        row = guarded(lambda index=latent_index: browser.feature_detail(runtime, analysis_id, index))
        if row.label_kind == "llm" and row.label_model == started.writer:
            console.print(f"  {row.latent:>6}  detection {_score(row.detection_score)}  fuzzing "
                          f"{_score(row.fuzzing_score)}  {escape(row.label or '')}", highlight=False)
    console.print(job.message or job.status, highlight=False)
