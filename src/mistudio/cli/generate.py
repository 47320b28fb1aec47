"""`mistudio generate MODEL "prompt"`: generate with a ready model, tokens printed as the model host makes them.

The command starts its own model host (a child process: the model is never loaded in the CLI's process), so the
first token waits for the model to load; `mistudio serve` keeps its host warm between requests instead.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from mistudio.cli.common import body, err_console, guarded, open_runtime, resolve
from mistudio.models import generate as generation
from mistudio.models.generate_schemas import GenerateAccepted, GenerateDone, GenerateIn, GenerateToken

OPTION_OF = {"max_new_tokens": "--max-new-tokens", "temperature": "--temperature", "top_p": "--top-p",
             "seed": "--seed", "format": "--format", "prompt": "PROMPT"}


def generate(
    model: Annotated[str, typer.Argument(help="a ready model's id, or a unique prefix of one")],
    prompt: Annotated[str, typer.Argument(help="the text to continue (a user turn when a chat template is used)")],
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="at most this many new tokens")] = 64,
    temperature: Annotated[float, typer.Option(help="0: greedy, the same text every time")] = 0.0,
    top_p: Annotated[float, typer.Option("--top-p", help="nucleus sampling, with a temperature above 0")] = 1.0,
    seed: Annotated[int | None, typer.Option(help="the same seed gives the same text (default: random)")] = None,
    no_chat_template: Annotated[bool, typer.Option("--no-chat-template",
                                                   help="the prompt as plain text, even if the model has a "
                                                        "chat template")] = False,
    format: Annotated[str | None, typer.Option("--format", help="fp32, fp16, bf16, q8, q4 or q2 (default: the "
                                                                "model's ready variant)")] = None,
) -> None:
    """Generate from a prompt with a ready model, streaming the tokens to the terminal."""
    request = body(GenerateIn, OPTION_OF, prompt=prompt, max_new_tokens=max_new_tokens, temperature=temperature,
                   top_p=top_p, seed=seed, format=format, use_chat_template=False if no_chat_template else None)
    runtime = open_runtime()
    accepted: list[GenerateAccepted] = []
    try:
        model_id = resolve(runtime, "model", model)

        def on_token(token: GenerateToken) -> None:
            sys.stdout.write(token.text)
            sys.stdout.flush()

        try:
            done = guarded(lambda: generation.generate(runtime, model_id, request, on_token, started=accepted.append))
        except KeyboardInterrupt:
            if accepted:
                generation.stop_generation(runtime, accepted[0].request_id)
            sys.stdout.write("\n")
            err_console.print("[yellow]stopped[/]")
            raise typer.Exit(130) from None
        sys.stdout.write("\n")
        _print_figures(done)
    finally:
        runtime.close()


def _print_figures(done: GenerateDone) -> None:
    first = f", first token after {done.first_token_seconds:.2f}s" if done.first_token_seconds is not None else ""
    load = "model already loaded" if done.warm else f"model loaded in {done.load_seconds:.1f}s"
    err_console.print(f"[dim]{done.tokens} tokens in {done.seconds:.2f}s{first} ({load}; {done.format} on "
                      f"{done.device}); seed {done.seed}; ended by {done.finish_reason}[/]", highlight=False)
