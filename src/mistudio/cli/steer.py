"""`mistudio steer MODEL --sae S --feature 123=4.0 "prompt"`: the model's text without and with the steering.

Both runs are generated in one batch by a model host this command starts (the model is never loaded in the CLI's
process), with the same seed; on a terminal their tokens appear live side by side (on stderr), then both texts and
the metrics are printed. The comparison is kept in the studio's steering history, as one made in the UI.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from mistudio.cli.common import body, console, err_console, fail, open_runtime, resolve, resolve_id
from mistudio.errors import MistudioError, UserError, status_of

OPTION_OF = {"max_new_tokens": "--max-new-tokens", "temperature": "--temperature", "top_p": "--top-p",
             "seed": "--seed", "format": "--format", "prompt": "PROMPT", "tokens": "--token",
             "interventions": "--feature / --direction", "model_id": "MODEL"}
_PAIR = re.compile(r"^\s*([^=\s]+)\s*=\s*(\S+)\s*$")


def _pairs(values: list[str], option: str, key_is_int: bool) -> list[tuple[Any, float]]:
    """`KEY=STRENGTH` options; a malformed one is one line naming the option."""
    pairs = []
    for value in values:
        match = _PAIR.match(value)
        try:
            if match is None:
                raise ValueError
            key = int(match.group(1)) if key_is_int else match.group(1)
            strength = float(match.group(2))
        except ValueError:
            fail(f"{option}: expected {'INDEX' if key_is_int else 'ID'}=STRENGTH (e.g. 123=4.0); got {value!r}")
        if not math.isfinite(strength):
            fail(f"{option}: the strength must be a finite number; got {value!r}")
        pairs.append((key, strength))
    return pairs


def _option_for(field: str, options: list[str]) -> str:
    match = re.match(r"^interventions\[(\d+)\]", field)
    if match and field.endswith(".sae_id") and options[int(match.group(1))].startswith("--feature"):
        return "--sae"
    if match and int(match.group(1)) < len(options):
        return options[int(match.group(1))]
    return OPTION_OF.get(field.split(".")[0], field)


def _positions(value: str) -> str | int:
    if value.isdigit():
        return int(value)
    if value not in ("all", "prompt", "generated"):
        fail(f"--positions: all, prompt, generated or a position p (from p on); got {value!r}")
    return value


def _live_table(texts: dict[str, str]) -> Table:
    table = Table(expand=True)
    table.add_column("baseline")
    table.add_column("steered")
    table.add_row(escape(texts["baseline"]), escape(texts["steered"]))
    return table


def steer(
    model: Annotated[str, typer.Argument(help="a ready model's id, or a unique prefix of one")],
    prompt: Annotated[str, typer.Argument(help="the text to continue")],
    sae: Annotated[str | None, typer.Option("--sae", help="the stored SAE the --feature options refer to")] = None,
    feature: Annotated[list[str] | None, typer.Option("--feature", help="INDEX=STRENGTH, repeatable")] = None,
    direction: Annotated[list[str] | None, typer.Option("--direction", help="a saved direction, "
                                                        "ID=STRENGTH (added), repeatable")] = None,
    mode: Annotated[str, typer.Option(help="what --feature does: add, clamp (to STRENGTH) or ablate")] = "add",
    positions: Annotated[str, typer.Option(help="all, prompt, generated, or p: from position p on")] = "all",
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="at most this many new tokens")] = 48,
    temperature: Annotated[float, typer.Option(help="0: greedy")] = 0.0,
    top_p: Annotated[float, typer.Option("--top-p", help="nucleus sampling, with a temperature above 0")] = 1.0,
    seed: Annotated[int | None, typer.Option(help="both runs use it (default: random, printed)")] = None,
    token: Annotated[list[str] | None, typer.Option("--token", help="report this token's probability shift; "
                                                    "repeatable")] = None,
    no_chat_template: Annotated[bool, typer.Option("--no-chat-template", help="the prompt as plain text")] = False,
    format: Annotated[str | None, typer.Option("--format", help="fp32, fp16, bf16, q8, q4 or q2")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole result as JSON")] = False,
) -> None:
    """Generate without and with SAE features or saved directions (same seed), and measure the difference."""
    from mistudio.steering import directions as stored_directions
    from mistudio.steering import service
    from mistudio.steering.schemas import CompareIn, SteeringToken

    if mode not in ("add", "clamp", "ablate"):
        fail(f"--mode: add, clamp or ablate; got {mode!r}")
    features = _pairs(feature or [], "--feature", key_is_int=True)
    added = _pairs(direction or [], "--direction", key_is_int=False)
    if features and sae is None:
        fail("--sae: the SAE the --feature options refer to")
    if not features and not added:
        fail("--feature / --direction: give at least one intervention")
    where = _positions(positions)
    runtime = open_runtime()
    try:
        model_id = resolve(runtime, "model", model)
        items: list[dict[str, Any]] = []
        options: list[str] = []
        if features:
            sae_id = resolve(runtime, "sae", sae or "")
            items += [{"sae_id": sae_id, "feature": index, "mode": mode, "strength": strength, "positions": where}
                      for index, strength in features]
            options += [f"--feature {index}={strength:g}" for index, strength in features]
        for typed, strength in added:
            direction_id = _guarded(lambda typed=typed: resolve_id("direction", typed, lambda: [
                d.id for d in stored_directions.list_directions(runtime, limit=200)[0]]), options)
            items.append({"direction_id": direction_id, "strength": strength, "positions": where})
            options.append(f"--direction {typed}={strength:g}")
        request = body(CompareIn, OPTION_OF, model_id=model_id, prompt=prompt, interventions=items,
                       max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed,
                       tokens=token or [], format=format, use_chat_template=False if no_chat_template else None)
        texts = {"baseline": "", "steered": ""}
        live = Live(_live_table(texts), console=err_console, transient=True, auto_refresh=False)

        def on_token(event: SteeringToken) -> None:
            texts[event.run] = texts.get(event.run, "") + event.text
            live.update(_live_table(texts), refresh=True)

        request.request_id = uuid.uuid4().hex  # known here, so that Ctrl-C can stop it
        try:
            if err_console.is_terminal and not as_json:
                with live:
                    result = _guarded(lambda: service.compare(runtime, request, on_token), options)
            else:
                result = _guarded(lambda: service.compare(runtime, request), options)
        except KeyboardInterrupt:
            service.stop_request(runtime, request.request_id)
            err_console.print("[yellow]stopped[/]")
            raise typer.Exit(130) from None
    finally:
        runtime.close()
    if as_json:
        console.print_json(json.dumps(result.model_dump(mode="json")))
        return
    _print_result(result)


def _guarded(action: Any, options: list[str]) -> Any:
    """Errors as one line; an invalid field is named by the option the user typed."""
    try:
        return action()
    except MistudioError as error:
        field = (error.details or {}).get("field") if isinstance(error.details, dict) else None
        prefix = f"{_option_for(field, options)}: " if field and status_of(error) < 500 else ""
        fail(prefix + error.message, 1 if status_of(error) < 500 else 2)
    except UserError as error:
        fail(error.message, 1 if status_of(error) < 500 else 2)


def _figure(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _print_result(result: Any) -> None:
    for name, run in (("baseline", result.baseline), ("steered", result.steered)):
        label = name if name == "baseline" else f"steered: {'; '.join(result.interventions)}"
        console.print(f"[bold]── {escape(label)} ──[/]", highlight=False, soft_wrap=True)
        console.print(escape(run.text), highlight=False, soft_wrap=True)
    metrics = result.metrics
    console.print("[bold]── metrics ──[/]")
    console.print(f"KL steered‖baseline (mean per position): {_figure(metrics.kl_mean)}", highlight=False)
    console.print(f"perplexity (unsteered model): baseline {_figure(metrics.perplexity_baseline)}, steered "
                  f"{_figure(metrics.perplexity_steered)}", highlight=False)
    console.print(f"word overlap: {metrics.word_overlap:.3f}", highlight=False)
    for shift in metrics.token_shifts:
        console.print(f"p({shift.token!r}) next: {shift.baseline_next:.4f} → {shift.steered_next:.4f} (mean shift "
                      f"{shift.mean_shift:+.4f})", highlight=False)
    for active in metrics.feature_activations:
        console.print(f"feature {active.feature} at {active.hook_point}: mean {_figure(active.baseline_mean)} → "
                      f"{_figure(active.steered_mean)}", highlight=False)
    err_console.print(f"[dim]seed {result.seed}; {result.format} on {result.device}; {result.seconds:.2f}s; "
                      f"experiment {result.experiment_id}[/]", highlight=False)
