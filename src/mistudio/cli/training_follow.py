"""Following a training run from the command line: a live table of its logged metrics until it ends, then how it
ended; Ctrl-C stops following (or, when this process runs the job, pauses the run at a checkpoint).

It reads the metrics table the API's `/metrics` serves, twice a second, so it works alike whether the server or
this command runs the job.
"""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from mistudio.cli.common import console, err_console, fail, run_jobs_here, server_running, styled
from mistudio.errors import Conflict
from mistudio.training import service
from mistudio.training.schemas import TrainingOut

POLL_S = 0.5
TAIL_STEPS = 12  # logged steps the live table keeps on screen
PAUSE_WAIT_EXTRA_S = 30.0


def number(values: dict[str, float], key: str, fmt: str) -> str:
    value = values.get(key)
    return "—" if value is None else format(value, fmt)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _metrics_view(training: TrainingOut, logged: dict[tuple[int, int], dict[str, float]]) -> Group:
    """The live table: the newest logged steps, one row per SAE of the run, under a status line."""
    sweep = len(training.members) > 1
    table = Table("step", *(["SAE"] if sweep else []), "loss", "FVU", "L0", "dead %", "lr", "tokens/s")
    steps = sorted({step for step, _ in logged})[-TAIL_STEPS:]
    for step in steps:
        for member in range(len(training.members)):
            values = logged.get((step, member))
            if values is not None:
                table.add_row(f"{step:,}", *([str(member)] if sweep else []), number(values, "loss", ".4g"),
                              number(values, "fvu", ".3f"), number(values, "l0", ".1f"),
                              number(values, "dead_fraction", ".1%"), number(values, "lr", ".2e"),
                              number(values, "tokens_per_second", ",.0f"))
    left = f", about {duration(training.eta_seconds)} left" if training.eta_seconds is not None else ""
    status = Text.from_markup(f"training {training.id} {styled(training.status)}: step {training.steps_done:,} of "
                              f"{training.total_steps:,}{left}")
    return Group(status, table)


def _print_resume_hint(training_id: str) -> None:
    err_console.print(f"continue it from its newest checkpoint with: mistudio train resume {training_id}",
                      highlight=False)


def _pause_here(runtime: Any, training_id: str) -> None:
    """Ctrl-C when this process runs the job: the run cannot go on without it, so it is paused at a checkpoint."""
    err_console.print("no server runs this training, so it cannot go on without this command: pausing it at its "
                      "current step (Ctrl-C again to leave without waiting)…", highlight=False)
    try:
        service.pause(runtime, training_id)
    except Conflict:
        pass  # it ended in the meantime: its status below says how
    deadline = time.monotonic() + runtime.settings.cancel_grace_seconds + PAUSE_WAIT_EXTRA_S
    training = service.get_training(runtime, training_id)
    while training.active and time.monotonic() < deadline:
        time.sleep(POLL_S)
        training = service.get_training(runtime, training_id)
    err_console.print(f"training {training_id}: {training.status}" +
                      (f": {training.message}" if training.message else ""), highlight=False)


def _interrupted(runtime: Any, training_id: str, here: bool) -> None:
    if not here:
        err_console.print(f"stopped following; the training goes on in the server. Follow it again with: mistudio "
                          f"train watch {training_id}  (pause it with: mistudio train pause {training_id})",
                          highlight=False)
        raise typer.Exit(130)
    try:
        _pause_here(runtime, training_id)
    except KeyboardInterrupt:
        err_console.print("left without waiting", highlight=False)
    _print_resume_hint(training_id)
    runtime.close()  # a job still running here is recorded as interrupted rather than left running
    raise typer.Exit(130)


def follow(runtime: Any, training_id: str) -> None:
    """A live metrics table until the run ends (running its job here when no server is), then how it ended.

    Ctrl-C stops following only; the run goes on in the server (a run this process executes is paused instead).
    """
    here = service.get_training(runtime, training_id).active and run_jobs_here(runtime)
    logged: dict[tuple[int, int], dict[str, float]] = {}
    after = -1
    try:
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            while True:
                training = service.get_training(runtime, training_id)  # before the metrics: none can be missed
                # A step can be logged twice (a run's last step; a resumed run's steps since its checkpoint):
                # the table keeps one row per step and SAE.
                for point in service.metrics(runtime, training_id, after_step=after):
                    logged[(point.step, point.member)] = point.values
                after = max([after, *(step for step, _ in logged)])
                live.update(_metrics_view(training, logged))
                if not training.active:
                    break
                time.sleep(POLL_S)
    except KeyboardInterrupt:
        _interrupted(runtime, training_id, here)
    finally:
        if not console.is_terminal:
            console.line()  # rich ends a live display with a newline only on a terminal
    if here:
        runtime.close()
    _ended(training)


def _ended(training: TrainingOut) -> None:
    if training.status != "completed":
        hint = f"; continue it with: mistudio train resume {training.id}" if training.resumable else ""
        fail(f"training {training.id} {training.status}: {training.message or ''}{hint}", 1)
    console.print(f"{escape(training.message or 'completed')}; SAE(s): {', '.join(training.sae_ids)}",
                  highlight=False)
    console.print(f"export one with: mistudio train saes export {training.sae_ids[0]} DEST", highlight=False)


def queued(runtime: Any, training: TrainingOut, no_follow: bool) -> None:
    if not no_follow:
        follow(runtime, training.id)
        return
    if runtime.settings.runner_mode == "local" and not server_running(runtime):
        console.print("[dim]no miStudio server is running: the run waits in the queue until `mistudio serve` "
                      "starts[/]")
    console.print(f"follow it with: mistudio train watch {training.id}", highlight=False)
