"""lens.data: real files in every source format, a real fast tokenizer (the tiny byte-level BPE), real .npy output."""

from __future__ import annotations

import collections
import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mistudio.lens.data import (
    DataFileError,
    ImportCancelled,
    ImportProgress,
    Packer,
    SourceFile,
    TextTable,
    TokenizeCancelled,
    TokenizedSequences,
    TokenizeProgress,
    TokenizeSettings,
    column_names,
    compute_statistics,
    detect_text_column,
    discover_files,
    format_of,
    import_texts,
    load_tokenizer,
    preview_tokenization,
    split_of,
    text_splits,
    tokenize_batch,
    tokenize_to_disk,
)
from mistudio.lens.errors import Conflict, InvalidArgument
from tests.support.tiny_models import _WORDS as WORDS
from tests.support.tiny_models import BOS_ID, EOS_ID, tiny_tokenizer

REPO_ROOT = Path(__file__).resolve().parents[2]
SENTENCES = [
    "The king walks to the river at night.",
    "A quiet garden in the early morning light, where the queen reads a letter.",
    "Sparse features in a dense model.",
    "Attention is a kind of memory; the layer reads and writes the residual stream.",
    "Paris is the capital of France.",
    "Snow",
    "The old man and the sea: a story of the ocean, a boat, a fish and a long, long fight with the water.",
]


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny models' tokenizer (what `tiny_models(family)` saves), without building a model around it."""
    folder = tmp_path_factory.mktemp("tokenizer")
    tiny_tokenizer().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tokenizer(tokenizer_dir: Path):
    return load_tokenizer(tokenizer_dir)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def imported(tmp_path: Path, texts: list[str], split: str = "train") -> TextTable:
    """Texts imported through a JSON Lines file: the table every tokenization test starts from."""
    source = write_jsonl(tmp_path / "source" / f"{split}.jsonl", [{"text": t} for t in texts])
    import_texts(discover_files(source), tmp_path / "text", text_column="text")
    return TextTable.open(tmp_path / "text", split)


def left_nothing(dest: Path) -> bool:
    return not dest.exists() or not any(dest.iterdir())


# --- finding files -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "split"), [
    ("train.jsonl", "train"), ("train-00000-of-00002.parquet", "train"), ("data/test.csv", "test"),
    ("validation.txt", "validation"), ("my_valid_set.jsonl", "validation"), ("dev.csv", "validation"),
    ("val-0001.parquet", "validation"), ("eval.jsonl", "test"), ("corpus.txt", "train"),
    ("contest.txt", "train"), ("interval.csv", "train"), ("test/part-0.parquet", "test"),
    ("validation/train-like-name.txt", "train"), ("Dev/shard.txt", "validation"),
])
def test_split_of_follows_hf_file_naming(name: str, split: str) -> None:
    assert split_of(name) == split


def test_format_of_reads_the_suffix_and_refuses_other_files(tmp_path: Path) -> None:
    assert [format_of(Path(n)) for n in ("a.txt", "a.jsonl", "a.JSON", "a.csv", "a.parquet")] == \
        ["txt", "jsonl", "jsonl", "csv", "parquet"]
    assert format_of(Path("notes.md"), "txt") == "txt"
    with pytest.raises(DataFileError, match=r"notes\.md.*unsupported file type '\.md'"):
        format_of(Path("notes.md"))
    with pytest.raises(InvalidArgument, match="unknown source format 'xml'"):
        format_of(Path("a.txt"), "xml")


def test_discover_files_walks_a_folder_sorted_skipping_hidden_and_other_files(tmp_path: Path) -> None:
    for name in ("b/train.txt", "a/test.jsonl", "validation.csv", "README.md", ".hidden.txt", ".git/x.txt",
                 "c/shard-1.parquet"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")
    found = discover_files(tmp_path)
    assert [(f.path.relative_to(tmp_path).as_posix(), f.format, f.split) for f in found] == [
        ("a/test.jsonl", "jsonl", "test"), ("b/train.txt", "txt", "train"), ("c/shard-1.parquet", "parquet", "train"),
        ("validation.csv", "csv", "validation")]
    assert [f.path.name for f in discover_files(tmp_path, "txt")] == ["train.txt"]
    assert discover_files(tmp_path / "a" / "test.jsonl") == [SourceFile(tmp_path / "a" / "test.jsonl", "jsonl",
                                                                          "test")]
    with pytest.raises(InvalidArgument, match="does not exist"):
        discover_files(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidArgument, match="holds no supported text files"):
        discover_files(tmp_path / "empty")


# --- importing each format ---------------------------------------------------------------------------------
def test_txt_line_mode_gives_one_row_per_non_blank_line(tmp_path: Path) -> None:
    source = tmp_path / "corpus.txt"
    source.write_bytes("\ufeffFirst line\r\n\n   \nSecond line with ünïcödé\nlast line without newline".encode())
    result = import_texts(discover_files(source), tmp_path / "text", text_column=None)
    assert result.splits == {"train": 3} and result.num_rows == 3 and result.text_column is None
    table = TextTable.open(tmp_path / "text", "train")
    assert table.rows(0, 10) == ["First line", "Second line with ünïcödé", "last line without newline"]
    assert result.size_bytes == (tmp_path / "text" / "train.arrow").stat().st_size


def test_txt_document_mode_gives_one_row_per_file(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("Chapter one.\n\nIt begins.\n")
    (tmp_path / "src" / "b.txt").write_text("Chapter two.")
    result = import_texts(discover_files(tmp_path / "src"), tmp_path / "text", text_column=None, txt_mode="document")
    assert result.splits == {"train": 2}
    assert TextTable.open(tmp_path / "text", "train").rows(0, 5) == ["Chapter one.\n\nIt begins.\n", "Chapter two."]


def test_folder_of_txt_files_is_imported_per_split_in_file_order(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train-2.txt").write_text("t3\n")
    (src / "train-1.txt").write_text("t1\nt2\n")
    (src / "test.txt").write_text("x1\n")
    (src / "dev.txt").write_text("v1\nv2\n")
    result = import_texts(discover_files(src), tmp_path / "text", text_column=None, batch_rows=1)
    assert result.splits == {"validation": 2, "test": 1, "train": 3}
    assert text_splits(tmp_path / "text") == {"test": 1, "train": 3, "validation": 2}
    assert TextTable.open(tmp_path / "text", "train").rows(0, 10) == ["t1", "t2", "t3"]
    assert TextTable.open(tmp_path / "text", "validation").rows(0, 10) == ["v1", "v2"]


def test_jsonl_and_json_lines_files_import_the_chosen_field_skipping_nulls(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "src" / "train.jsonl", [{"text": "one", "id": 1}, {"text": None, "id": 2},
                                                   {"text": "three", "id": 3}])
    (tmp_path / "src" / "more.json").write_text('{"text": "four"}\n\n{"text": "fünf"}\n')
    result = import_texts(discover_files(tmp_path / "src"), tmp_path / "text", text_column="text", batch_rows=2)
    assert result.splits == {"train": 4} and result.text_column == "text"
    assert TextTable.open(tmp_path / "text", "train").rows(0, 10) == ["four", "fünf", "one", "three"]


def test_csv_import_keeps_quoted_newlines_and_numeric_looking_text(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "train.csv", ["id", "body"],
                       [[1, "plain"], [2, "two\nlines, with a comma"], [3, "42"], [4, ""]])
    result = import_texts(discover_files(source), tmp_path / "text", text_column="body")
    assert result.splits == {"train": 4}
    assert TextTable.open(tmp_path / "text", "train").rows(0, 10) == ["plain", "two\nlines, with a comma", "42", ""]


def test_parquet_import_streams_row_groups_of_the_text_column(tmp_path: Path) -> None:
    texts = [f"row {i}" for i in range(25)]
    table = pa.table({"id": list(range(25)), "content": texts})
    pq.write_table(table, tmp_path / "train-00000-of-00001.parquet", row_group_size=7)
    progress: list[ImportProgress] = []
    result = import_texts(discover_files(tmp_path / "train-00000-of-00001.parquet"), tmp_path / "text",
                          text_column="content", batch_rows=4, on_progress=progress.append)
    assert result.splits == {"train": 25}
    assert TextTable.open(tmp_path / "text", "train").rows(0, 30) == texts
    assert progress[-1].rows == 25 and progress[-1].bytes_read == progress[-1].bytes_total > 0


def test_text_column_is_text_if_present_else_the_longest_string_column(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a" / "train.jsonl", [{"title": "a much longer title than text", "text": "t"}])
    files = discover_files(tmp_path / "a")
    assert column_names(files) == ["title", "text"] and detect_text_column(files) == "text"

    write_csv(tmp_path / "b" / "train.csv", ["id", "title", "body"], [[1, "short", "a long body of text"]] * 3)
    pq.write_table(pa.table({"id": [1], "title": ["t"], "body": ["b"], "extra": ["e"]}), tmp_path / "b" / "x.parquet")
    files = discover_files(tmp_path / "b")
    assert column_names(files) == ["id", "title", "body"]  # the columns every file has
    assert detect_text_column(files) == "body"

    write_csv(tmp_path / "c" / "train.csv", ["id", "score"], [[1, 0.5]])
    with pytest.raises(DataFileError, match=r"train\.csv: no column holds text \(columns: id, score\)"):
        detect_text_column(discover_files(tmp_path / "c"))
    assert detect_text_column(discover_files(tmp_path / "a" / "train.jsonl")) == "text"
    (tmp_path / "d.txt").write_text("x")
    assert column_names(discover_files(tmp_path / "d.txt")) == [] and detect_text_column(
        discover_files(tmp_path / "d.txt")) is None


def test_text_column_none_detects_and_an_override_is_used(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "train.jsonl", [{"title": "Short", "body": "A longer body of text"}] * 3)
    assert import_texts(discover_files(source), tmp_path / "auto", text_column=None).text_column == "body"
    assert TextTable.open(tmp_path / "auto", "train").rows(0, 1) == ["A longer body of text"]
    assert import_texts(discover_files(source), tmp_path / "override", text_column="title").text_column == "title"
    assert TextTable.open(tmp_path / "override", "train").rows(0, 1) == ["Short"]


# --- bad input: a clear error, nothing left behind ----------------------------------------------------------
def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str, str, int | None]]:
    """name -> (file, text column, message pattern, line in details)."""
    src = tmp_path / "bad"
    src.mkdir()
    (src / "latin1.txt").write_bytes(b"fine\nstill fine\ncaf\xe9 au lait\n")
    (src / "latin1.jsonl").write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    (src / "latin1.csv").write_bytes(b"text\nok\nfine\ncaf\xe9\n")
    (src / "empty.txt").write_bytes(b"")
    (src / "blank.txt").write_bytes(b"\n  \n\n")
    (src / "empty.jsonl").write_bytes(b"")
    (src / "empty.csv").write_bytes(b"")
    (src / "header_only.csv").write_bytes(b"text\n")
    (src / "bad_line.jsonl").write_text('{"text": "a"}\n{"text": "b"}\n{"text": "c",}\n')
    (src / "not_object.jsonl").write_text('{"text": "a"}\n"just a string"\n')
    (src / "array.json").write_text('[{"text": "a"}, {"text": "b"}]')
    (src / "nocol.jsonl").write_text('{"text": "a"}\n{"body": "b", "id": 2}\n')
    (src / "number.jsonl").write_text('{"text": 5}\n')
    write_csv(src / "nocol.csv", ["id", "body"], [[1, "x"]])
    (src / "ragged.csv").write_text("id,text\n1,a\n2,b,extra\n")
    pq.write_table(pa.table({"id": [1], "body": ["x"]}), src / "nocol.parquet")
    pq.write_table(pa.table({"text": [1, 2]}), src / "ints.parquet")
    (src / "fake.parquet").write_bytes(b"not parquet at all")
    return {
        "latin1.txt": (src / "latin1.txt", "text", r"latin1\.txt: line 3 is not valid UTF-8", 3),
        "latin1.jsonl": (src / "latin1.jsonl", "text", r"latin1\.jsonl: line 2 is not valid UTF-8", 2),
        "latin1.csv": (src / "latin1.csv", "text", r"latin1\.csv: line 4 is not valid UTF-8", 4),
        "empty.txt": (src / "empty.txt", "text", r"empty\.txt: the file is empty", None),
        "blank.txt": (src / "blank.txt", "text", r"blank\.txt: the file holds no text rows", None),
        "empty.jsonl": (src / "empty.jsonl", "text", r"empty\.jsonl: the file is empty", None),
        "empty.csv": (src / "empty.csv", "text", r"empty\.csv: the file is empty", None),
        "header_only.csv": (src / "header_only.csv", "text", r"header_only\.csv: the file holds no text rows", None),
        "bad_line.jsonl": (src / "bad_line.jsonl", "text", r"bad_line\.jsonl: line 3 is not valid JSON", 3),
        "not_object.jsonl": (src / "not_object.jsonl", "text", r"line 2 is a JSON str, not an object", 2),
        "array.json": (src / "array.json", "text", r"array\.json: holds a JSON array; convert it to JSON Lines", 1),
        "nocol.jsonl": (src / "nocol.jsonl", "text", r"line 2 has no field 'text'; it has: body, id", 2),
        "number.jsonl": (src / "number.jsonl", "text", r"line 1: field 'text' is a JSON int, not a string", 1),
        "nocol.csv": (src / "nocol.csv", "text", r"nocol\.csv: has no column 'text'; it has: id, body", None),
        "ragged.csv": (src / "ragged.csv", "text", r"ragged\.csv: row 3 cannot be read as CSV", 3),
        "nocol.parquet": (src / "nocol.parquet", "text", r"nocol\.parquet: has no column 'text'; it has: id, body",
                          None),
        "ints.parquet": (src / "ints.parquet", "text", r"column 'text' holds int64, not text", None),
        "fake.parquet": (src / "fake.parquet", "text", r"fake\.parquet: cannot be read as Parquet", None),
    }


BAD_CASES = ["latin1.txt", "latin1.jsonl", "latin1.csv", "empty.txt", "blank.txt", "empty.jsonl", "empty.csv",
             "header_only.csv", "bad_line.jsonl", "not_object.jsonl", "array.json", "nocol.jsonl", "number.jsonl",
             "nocol.csv", "ragged.csv", "nocol.parquet", "ints.parquet", "fake.parquet"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_a_bad_file_is_named_with_its_line_and_leaves_nothing_behind(tmp_path: Path, case: str) -> None:
    path, column, message, line = bad_files(tmp_path)[case]
    good = write_jsonl(tmp_path / "good" / "a.jsonl", [{"text": f"row {i}"} for i in range(50)])
    files = [SourceFile(good, "jsonl", "train"), SourceFile(path, format_of(path), "train")]
    dest = tmp_path / "dataset" / "text"
    with pytest.raises(DataFileError, match=message) as caught:
        import_texts(files, dest, text_column=column, batch_rows=7)
    assert caught.value.code == "invalid_data_file"
    assert caught.value.details == {"file": str(path), "line": line}
    assert left_nothing(dest)


def test_detecting_the_column_of_a_bad_file_names_the_problem(tmp_path: Path) -> None:
    cases = bad_files(tmp_path)
    for case in ("latin1.csv", "latin1.jsonl", "bad_line.jsonl", "array.json", "fake.parquet", "empty.csv"):
        path, _, message, line = cases[case]
        with pytest.raises(DataFileError, match=message) as caught:
            detect_text_column([SourceFile(path, format_of(path), "train")])
        assert caught.value.details == {"file": str(path), "line": line}, case


def test_a_failed_reimport_keeps_the_earlier_import_and_adds_no_partial_file(tmp_path: Path) -> None:
    dest = tmp_path / "text"
    import_texts(discover_files(write_jsonl(tmp_path / "a" / "train.jsonl", [{"text": "kept"}])), dest,
                 text_column="text")
    before = sorted(p.name for p in dest.iterdir())
    bad = tmp_path / "b" / "train.jsonl"
    bad.parent.mkdir()
    bad.write_text('{"text": "x"}\nnot json\n')
    with pytest.raises(DataFileError, match="line 2"):
        import_texts(discover_files(bad), dest, text_column="text")
    assert sorted(p.name for p in dest.iterdir()) == before == ["train.arrow"]
    assert TextTable.open(dest, "train").rows(0, 5) == ["kept"]


def test_import_cancel_raises_and_leaves_nothing_behind(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "train.jsonl", [{"text": f"row {i}"} for i in range(100)])
    files = [SourceFile(source, "jsonl", "train"), SourceFile(source, "jsonl", "test")]
    asked: list[int] = []

    def should_stop() -> bool:
        asked.append(1)
        return True

    with pytest.raises(ImportCancelled):
        import_texts(files, tmp_path / "text", text_column="text", should_stop=should_stop)
    assert asked and left_nothing(tmp_path / "text")


def test_import_reports_progress_up_to_every_byte(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "train.jsonl", [{"text": f"row {i}"} for i in range(1000)])
    progress: list[ImportProgress] = []
    import_texts(discover_files(source), tmp_path / "text", text_column="text", batch_rows=100,
                 on_progress=progress.append)
    last = progress[-1]
    assert (last.rows, last.bytes_read, last.bytes_total) == (1000, source.stat().st_size, source.stat().st_size)
    assert last.current_file == str(source) and last.rows_per_second > 0


# --- reading an imported split -----------------------------------------------------------------------------
def test_text_table_pages_rows_and_searches_case_insensitively(tmp_path: Path) -> None:
    texts = [f"Line {i}: {'The KING speaks' if i % 10 == 3 else 'a plain line'} (a.b)" for i in range(95)]
    source = write_jsonl(tmp_path / "train.jsonl", [{"text": t} for t in texts])
    import_texts(discover_files(source), tmp_path / "text", text_column="text", batch_rows=20)  # several chunks
    table = TextTable.open(tmp_path / "text", "train")
    assert table.num_rows == 95
    assert table.rows(90, 10) == texts[90:]
    assert table.rows(200, 5) == []
    expected = [(i, t) for i, t in enumerate(texts) if "king" in t.lower()]
    assert table.search("king", 0, 100) == (expected, 10)
    assert table.search("the king", 3, 4) == (expected[3:7], 10)  # a page across chunk boundaries
    assert table.search("A.B", 0, 2)[1] == 95  # literal, not a pattern
    assert table.search("a?b", 0, 2) == ([], 0)
    assert max(len(batch) for batch in table.iter_batches(40)) <= 40
    assert [t for batch in table.iter_batches(40) for t in batch] == texts


def test_opening_a_missing_split_names_the_available_ones(tmp_path: Path) -> None:
    imported(tmp_path, ["a"], split="test")
    with pytest.raises(InvalidArgument, match="split 'train' does not exist; available: test") as caught:
        TextTable.open(tmp_path / "text", "train")
    assert caught.value.code == "split_not_found"
    with pytest.raises(InvalidArgument, match="available: none"):
        TextTable.open(tmp_path / "nowhere", "../train")
    assert text_splits(tmp_path / "nowhere") == {}


# --- tokenization ------------------------------------------------------------------------------------------
def direct(tokenizer, text: str, settings: TokenizeSettings) -> list[list[int]]:
    """What the tokenizer itself gives for one document with these settings."""
    ids = tokenizer(text, add_special_tokens=settings.add_special_tokens, truncation=True,
                    max_length=settings.max_length, stride=settings.stride,
                    return_overflowing_tokens=settings.stride > 0)["input_ids"]
    windows = ids if ids and isinstance(ids[0], list) else [ids]
    return [w for w in windows if len(w) >= settings.min_length]


TRUNCATE_SETTINGS = [
    TokenizeSettings(max_length=8),
    TokenizeSettings(max_length=8, stride=3),
    TokenizeSettings(max_length=12, stride=5, min_length=6),
    TokenizeSettings(max_length=5, add_special_tokens=False, min_length=3),
    TokenizeSettings(max_length=512),
]


@pytest.mark.parametrize("settings", TRUNCATE_SETTINGS, ids=repr)
def test_truncate_mode_equals_the_tokenizers_own_output(tmp_path: Path, tokenizer, settings) -> None:
    expected = [seq for text in SENTENCES for seq in direct(tokenizer, text, settings)]
    assert tokenize_batch(SENTENCES, tokenizer, settings) == expected
    table = imported(tmp_path, SENTENCES)
    result = tokenize_to_disk(table, tokenizer, settings, tmp_path / "tok", batch_rows=3)
    seqs = TokenizedSequences.open(tmp_path / "tok")
    assert [seqs[i].tolist() for i in range(len(seqs))] == expected
    assert (result.num_sequences, result.num_tokens, result.dtype) == (len(expected), sum(map(len, expected)),
                                                                       "uint16")
    assert seqs.tokens.dtype == np.uint16 and seqs.offsets.dtype == np.int64
    assert seqs.meta["settings"]["max_length"] == settings.max_length and seqs.meta["num_sequences"] == len(expected)


def stream_of(tokenizer, settings: TokenizeSettings) -> list[int]:
    """The pack stream built by hand: kept documents (never with per-document specials) joined by EOS."""
    documents = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in SENTENCES]
    stream: list[int] = []
    for ids in (d for d in documents if len(d) >= settings.min_length):
        stream += ([EOS_ID] if stream else []) + ids
    return stream


PACK_SETTINGS = [
    TokenizeSettings(max_length=16, packing=True),
    TokenizeSettings(max_length=16, packing=True, bos_per_sequence=False),
    TokenizeSettings(max_length=10, packing=True, stride=4),
    TokenizeSettings(max_length=7, packing=True, add_special_tokens=False, min_length=5, stride=1),
    TokenizeSettings(max_length=1000, packing=True),
]


@pytest.mark.parametrize("settings", PACK_SETTINGS, ids=repr)
def test_pack_mode_cuts_the_eos_joined_stream_into_the_formula_count(tmp_path: Path, tokenizer, settings) -> None:
    stream = stream_of(tokenizer, settings)
    body = settings.max_length - (1 if settings.bos_per_sequence else 0)
    step = body - settings.stride
    count = 0 if len(stream) < body else (len(stream) - body) // step + 1
    table = imported(tmp_path, SENTENCES)
    if count == 0:
        with pytest.raises(InvalidArgument, match="give no sequence"):
            tokenize_to_disk(table, tokenizer, settings, tmp_path / "tok")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["source", "text"]
        return
    result = tokenize_to_disk(table, tokenizer, settings, tmp_path / "tok", batch_rows=2)
    seqs = TokenizedSequences.open(tmp_path / "tok")
    assert result.num_sequences == len(seqs) == count
    assert result.num_tokens == count * settings.max_length
    assert set(seqs.lengths().tolist()) == {settings.max_length}
    bodies = [seqs[i].tolist()[settings.max_length - body:] for i in range(count)]
    if settings.bos_per_sequence:
        assert {seqs[i][0] for i in range(count)} == {BOS_ID}
    # Every chunk is the stream window at its step, so without overlap the bodies concatenate to the stream.
    assert bodies == [stream[i * step:i * step + body] for i in range(count)]
    if settings.stride == 0:
        assert sum(bodies, []) == stream[:count * body]


def test_packer_output_does_not_depend_on_how_documents_are_batched(tokenizer) -> None:
    settings = TokenizeSettings(max_length=9, packing=True, stride=2)
    documents = [tokenizer(t)["input_ids"] for t in SENTENCES * 3]
    whole = Packer(tokenizer, settings).feed(documents)
    packer = Packer(tokenizer, settings)
    pieces = [packer.feed(documents[i:i + 2]) for i in range(0, len(documents), 2)]
    assert np.array_equal(np.concatenate(pieces), whole)
    assert packer.sequences_for(packer.stream_tokens) == len(whole) and whole.shape[1] == 9


def test_preview_shows_the_first_sequences_and_exact_estimates_when_all_rows_are_sampled(tmp_path: Path,
                                                                                         tokenizer) -> None:
    table = imported(tmp_path, SENTENCES)
    settings = TokenizeSettings(max_length=8, stride=2)
    expected = [seq for text in SENTENCES for seq in direct(tokenizer, text, settings)]
    preview = preview_tokenization(table, tokenizer, settings, n=3)
    assert [s.ids for s in preview.samples] == expected[:3]
    assert preview.samples[0].tokens == tokenizer.convert_ids_to_tokens(expected[0])
    assert preview.samples[0].text == tokenizer.decode(expected[0])
    assert (preview.sequences_estimate, preview.tokens_estimate, preview.rows_sampled) == \
        (len(expected), sum(map(len, expected)), len(SENTENCES))

    pack = TokenizeSettings(max_length=16, packing=True)
    preview = preview_tokenization(table, tokenizer, pack, n=2)
    tokenize_to_disk(table, tokenizer, pack, tmp_path / "packed")
    seqs = TokenizedSequences.open(tmp_path / "packed")
    assert [s.ids for s in preview.samples] == [seqs[0].tolist(), seqs[1].tolist()]
    assert (preview.sequences_estimate, preview.tokens_estimate) == (len(seqs), len(seqs) * 16)


def test_preview_extrapolates_a_sample_to_the_whole_split(tmp_path: Path, tokenizer) -> None:
    table = imported(tmp_path, SENTENCES[:2] * 50)  # 100 rows, alternating lengths
    settings = TokenizeSettings(max_length=512)
    per_pair = sum(len(tokenizer(t)["input_ids"]) for t in SENTENCES[:2])
    preview = preview_tokenization(table, tokenizer, settings, n=1, sample_rows=10)
    assert preview.rows_sampled == 10
    assert (preview.sequences_estimate, preview.tokens_estimate) == (100, 50 * per_pair)


def test_preview_reads_past_the_sample_to_fill_its_samples(tmp_path: Path, tokenizer) -> None:
    table = imported(tmp_path, SENTENCES * 10)
    settings = TokenizeSettings(max_length=64, packing=True)
    preview = preview_tokenization(table, tokenizer, settings, n=3, sample_rows=2)
    tokenize_to_disk(table, tokenizer, settings, tmp_path / "packed")
    seqs = TokenizedSequences.open(tmp_path / "packed")
    assert [s.ids for s in preview.samples] == [seqs[i].tolist() for i in range(3)]
    lengths = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in SENTENCES[:2]]
    stream_per_row = (sum(lengths) + 1) / 2  # packed documents carry no specials of their own; EOS between them
    assert preview.rows_sampled == 2
    assert preview.sequences_estimate == (round(stream_per_row * 70) - 63) // 63 + 1


def test_packed_chunks_never_start_with_two_bos_tokens_and_equal_lengths_make_one_bin(tmp_path: Path,
                                                                                    tokenizer) -> None:
    table = imported(tmp_path, SENTENCES * 4)
    settings = TokenizeSettings(max_length=12, packing=True, add_special_tokens=True).normalized()
    assert settings.add_special_tokens is False
    tokenize_to_disk(table, tokenizer, settings, tmp_path / "packed")
    seqs = TokenizedSequences.open(tmp_path / "packed")
    bos = tokenizer.bos_token_id
    assert all(seqs[i][0] == bos and seqs[i][1] != bos for i in range(len(seqs)))
    histogram = compute_statistics(seqs, tokenizer)["length"]["histogram"]
    assert histogram == [{"start": 12.0, "end": 13.0, "count": len(seqs)}]


def test_tokenized_sequences_read_back_through_a_memory_map(tmp_path: Path, tokenizer) -> None:
    table = imported(tmp_path, SENTENCES)
    tokenize_to_disk(table, tokenizer, TokenizeSettings(max_length=10), tmp_path / "tok")
    seqs = TokenizedSequences.open(tmp_path / "tok")
    expected = tokenize_batch(SENTENCES, tokenizer, TokenizeSettings(max_length=10))
    assert isinstance(seqs.tokens, np.memmap)
    assert np.load(tmp_path / "tok" / "tokens.npy", mmap_mode="r").shape == (sum(map(len, expected)),)
    assert len(seqs) == len(expected) and seqs[-1].tolist() == expected[-1]
    assert seqs.lengths().tolist() == [len(s) for s in expected]
    assert [[s.tolist() for s in batch] for batch in seqs.iter_batches(3)] == \
        [expected[i:i + 3] for i in range(0, len(expected), 3)]
    with pytest.raises(IndexError, match="out of range"):
        seqs[len(expected)]
    with pytest.raises(InvalidArgument,
                       match="not a finished tokenization: tokens.npy, offsets.npy, meta.json missing"):
        TokenizedSequences.open(tmp_path)


def test_statistics_match_a_direct_count_over_all_ids(tmp_path: Path, tokenizer) -> None:
    table = imported(tmp_path, SENTENCES * 3)
    tokenize_to_disk(table, tokenizer, TokenizeSettings(max_length=12, stride=4), tmp_path / "tok")
    seqs = TokenizedSequences.open(tmp_path / "tok")
    stats = compute_statistics(seqs, tokenizer, top_k=5, bins=4)
    all_ids = [int(i) for s in seqs.iter_batches(100) for seq in s for i in seq]
    counter = collections.Counter(all_ids)
    lengths = [len(seq) for batch in seqs.iter_batches(100) for seq in batch]
    assert stats["num_sequences"] == len(lengths) and stats["total_tokens"] == len(all_ids)
    assert stats["unique_tokens"] == len(np.unique(all_ids)) == len(counter)
    assert stats["vocab_size"] == len(tokenizer) and stats["vocab_coverage"] == len(counter) / len(tokenizer)
    top = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:5]
    assert [(t["id"], t["count"]) for t in stats["top_tokens"]] == top
    assert stats["top_tokens"][0]["token"] == tokenizer.convert_ids_to_tokens(top[0][0])
    assert stats["top_tokens"][0]["fraction"] == top[0][1] / len(all_ids)
    assert stats["length"]["min"] == min(lengths) and stats["length"]["max"] == max(lengths)
    assert stats["length"]["mean"] == pytest.approx(np.mean(lengths))
    assert stats["length"]["median"] == np.median(lengths)
    assert sum(b["count"] for b in stats["length"]["histogram"]) == len(lengths)
    assert len(stats["length"]["histogram"]) == 4


def test_tokenize_cancel_leaves_nothing_behind(tmp_path: Path, tokenizer) -> None:
    table = imported(tmp_path, SENTENCES)
    dest = tmp_path / "tokenizations" / "t1"
    with pytest.raises(TokenizeCancelled):
        tokenize_to_disk(table, tokenizer, TokenizeSettings(max_length=8), dest, should_stop=lambda: True)
    assert left_nothing(dest.parent)


def test_tokenize_reports_progress_and_refuses_an_existing_destination(tmp_path: Path, tokenizer) -> None:
    table = imported(tmp_path, SENTENCES)
    progress: list[TokenizeProgress] = []
    result = tokenize_to_disk(table, tokenizer, TokenizeSettings(max_length=8), tmp_path / "tok",
                              on_progress=progress.append, batch_rows=2)
    assert (progress[-1].rows_done, progress[-1].rows_total) == (len(SENTENCES), len(SENTENCES))
    assert (progress[-1].sequences, progress[-1].tokens) == (result.num_sequences, result.num_tokens)
    assert progress[-1].eta_seconds == 0
    with pytest.raises(Conflict, match="already exists"):
        tokenize_to_disk(table, tokenizer, TokenizeSettings(max_length=8), tmp_path / "tok")


def test_settings_that_give_no_sequence_are_refused_and_leave_nothing(tmp_path: Path, tokenizer) -> None:
    table = imported(tmp_path, ["a", "b"])
    dest = tmp_path / "tokenizations" / "t1"
    with pytest.raises(InvalidArgument, match="give no sequence from 2 rows"):
        tokenize_to_disk(table, tokenizer, TokenizeSettings(max_length=8, min_length=5), dest)
    assert left_nothing(dest.parent)


@pytest.mark.parametrize(("settings", "message"), [
    (TokenizeSettings(max_length=0), "max_length must be between 1 and 1048576"),
    (TokenizeSettings(max_length=2_000_000), "max_length must be between"),
    (TokenizeSettings(min_length=0), "min_length must be at least 1"),
    (TokenizeSettings(max_length=4, min_length=5), r"min_length \(5\) must not exceed max_length \(4\)"),
    (TokenizeSettings(max_length=8, stride=8), "stride must be at least 0 and less than max_length = 8"),
    (TokenizeSettings(max_length=8, stride=-1), "stride must be at least 0"),
    (TokenizeSettings(max_length=8, packing=True, stride=7), "less than the body length"),
    (TokenizeSettings(max_length=1, packing=True), "at least 2"),
])
def test_invalid_settings_are_refused_with_the_allowed_range(settings: TokenizeSettings, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        settings.validate()


def test_a_stride_the_tokenizer_cannot_honour_is_an_error_not_a_crash(tokenizer) -> None:
    # max_length 8 minus the BOS token leaves 7: the Rust tokenizer would panic on stride 7.
    with pytest.raises(InvalidArgument, match="special tokens = 7, not 7"):
        tokenize_batch(SENTENCES, tokenizer, TokenizeSettings(max_length=8, stride=7))
    assert tokenize_batch(["x"], tokenizer, TokenizeSettings(max_length=8, stride=7, add_special_tokens=False))


def test_load_tokenizer_names_a_folder_without_one(tmp_path: Path, tokenizer_dir: Path) -> None:
    assert load_tokenizer(tokenizer_dir).is_fast
    with pytest.raises(InvalidArgument, match=f"no tokenizer can be loaded from {tmp_path}"):
        load_tokenizer(tmp_path)


@pytest.mark.slow
def test_smollm2_truncate_and_pack_match_its_tokenizer(tmp_path: Path, smollm2_dir: Path) -> None:
    tokenizer = load_tokenizer(smollm2_dir)
    texts = SENTENCES * 4
    for settings in (TokenizeSettings(max_length=16, stride=4), TokenizeSettings(max_length=32)):
        assert tokenize_batch(texts, tokenizer, settings) == [s for t in texts for s in direct(tokenizer, t, settings)]
    settings = TokenizeSettings(max_length=24, packing=True)
    chunks = Packer(tokenizer, settings).feed([tokenizer(t)["input_ids"] for t in texts])
    separator = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    stream = sum(([*separator, *tokenizer(t)["input_ids"]] for t in texts), [])[len(separator):]
    has_bos = tokenizer.bos_token_id is not None
    body = 24 - has_bos
    assert len(chunks) == (len(stream) - body) // body + 1
    assert chunks[:, has_bos:].ravel().tolist() == stream[:len(chunks) * body]


# --- streaming: memory stays bounded for a million rows ----------------------------------------------------
STREAMING_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from mistudio.lens.data import (TextTable, TokenizeSettings, discover_files, import_texts, load_tokenizer,
                                    tokenize_to_disk)

    def status(field):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

    def import_and_tokenize(source, work):
        result = import_texts(discover_files(source), work / "text", text_column="text")
        imported = time.monotonic()
        table = TextTable.open(work / "text", "train")
        return result, imported, tokenize_to_disk(table, load_tokenizer(tokenizer_dir), settings, work / "tok")

    work, tokenizer_dir = Path(sys.argv[1]), Path(sys.argv[2])
    settings = TokenizeSettings(max_length=64)
    # Warm up on 10 rows: Arrow, the allocator and the tokenizer take ~40 MB once, whatever the size of the data.
    (work / "warm").mkdir()
    (work / "warm" / "train.jsonl").write_text('{"text": "warm up"}\\n' * 10)
    import_and_tokenize(work / "warm" / "train.jsonl", work / "warm")
    baseline = status("VmRSS")
    started = time.monotonic()
    result, imported, tokens = import_and_tokenize(work / "train.jsonl", work)
    done = time.monotonic()
    print(json.dumps({"baseline": baseline, "peak": status("VmHWM"), "rows": result.num_rows,
                      "tokens": tokens.num_tokens, "sequences": tokens.num_sequences,
                      "import_s": imported - started, "tokenize_s": done - imported}))
""")
ROWS = 1_000_000
# Streaming holds one batch (10,000 rows importing, 1,000 tokenizing) plus the pages of the memory-mapped
# 34 MiB text file that the tokenizer has read (file-backed pages count in RSS). Measured growth over the warmed-up
# baseline on a busy 2-core machine: 46 MiB, 34 of them those file pages. Holding the rows as Python strings
# instead adds 85 MiB, holding their ids as lists 444 MiB (measured the same way): 100 MiB catches either and
# leaves twice the measured growth for allocator noise.
GROWTH_CEILING = 100 * 1024 * 1024


def million_rows(path: Path) -> None:
    """1M distinct short sentences over a 300-word vocabulary (like text: the tokenizer's word cache works)."""
    n = len(WORDS)
    with path.open("w") as file:
        for start in range(0, ROWS, 100_000):
            file.write("".join(f'{{"text": "The {WORDS[i % n]} and the {WORDS[i // n % n]} of {WORDS[i // n // n]}"}}\n'
                               for i in range(start, start + 100_000)))


@pytest.mark.slow  # ~30 s on two busy cores: the tokenizer alone needs 15-25 us a row
def test_a_million_rows_import_and_tokenize_in_bounded_memory(tmp_path: Path, tokenizer_dir: Path) -> None:
    million_rows(tmp_path / "train.jsonl")
    run = subprocess.run([sys.executable, "-c", STREAMING_SCRIPT, str(tmp_path), str(tokenizer_dir)],
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    measured = json.loads(run.stdout.strip().splitlines()[-1])
    growth = measured["peak"] - measured["baseline"]
    summary = (f"baseline RSS {measured['baseline'] / 2**20:.0f} MiB, peak {measured['peak'] / 2**20:.0f} MiB, growth "
               f"{growth / 2**20:.0f} MiB (ceiling {GROWTH_CEILING / 2**20:.0f}); import {measured['import_s']:.1f}s, "
               f"tokenize {measured['tokenize_s']:.1f}s for {measured['tokens']:,} tokens")
    print(summary)
    assert measured["rows"] == measured["sequences"] == ROWS, summary
    assert growth < GROWTH_CEILING, summary
    seqs = TokenizedSequences.open(tmp_path / "tok")
    assert len(seqs) == ROWS and seqs.tokens.shape == (measured["tokens"],)
