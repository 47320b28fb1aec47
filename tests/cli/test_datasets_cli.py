"""`mistudio datasets …` as a user runs it, with no server running: the CLI runs the jobs itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from tests.support.cli_studio import mistudio, unused_port
from tests.support.hub_fixtures import HfEnv, TinyModels

DOCS = ["The lantern swung in the wind.", "A quiet morning by the river bank, with birds singing everywhere.",
        "short", "Nobody saw the LANTERN fall.", "Numbers: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16.",
        "Last row of the corpus."]


def _id(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, text
    return found.group(1)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_import_browse_tokenize_stats_and_delete(studio_home: Path, tmp_path: Path, tiny_models: TinyModels) -> None:
    port = unused_port()
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "text": doc}) + "\n" for i, doc in enumerate(DOCS)))
    folder = tmp_path / "plays"
    folder.mkdir()
    (folder / "train.txt").write_text("To be, or not to be\n\nthat is the question\nwhether tis nobler\n")
    (folder / "test.txt").write_text("Friends, Romans, countrymen\n")

    imported = mistudio("datasets", "import", str(corpus), "--name", "lantern-corpus", home=studio_home,
                        timeout=120, MISTUDIO_PORT=port)
    assert imported.returncode == 0, imported.stderr + imported.stdout
    assert "running the job in this process" in imported.stdout and "completed" in imported.stdout
    dataset_id = _id(r"dataset ([0-9a-f]{32}): importing", imported.stdout)
    plays = mistudio("datasets", "import", str(folder), "--txt-mode", "line", home=studio_home, timeout=120,
                     MISTUDIO_PORT=port)
    assert plays.returncode == 0, plays.stderr + plays.stdout
    assert "train 3 rows" in plays.stdout and "test 1 rows" in plays.stdout  # blank line skipped
    model = mistudio("models", "import", str(tiny_models("llama")), "--name", "llama-tiny", home=studio_home,
                     timeout=180, MISTUDIO_PORT=port)
    assert model.returncode == 0, model.stderr + model.stdout
    model_id = _id(r"model ([0-9a-f]{32}): importing", model.stdout)

    listed = mistudio("datasets", "list", home=studio_home)
    assert "lantern-corpus" in listed.stdout and "plays" in listed.stdout and "2 of 2 dataset(s)" in listed.stdout
    shown = json.loads(mistudio("datasets", "show", dataset_id, "--json", home=studio_home).stdout)
    assert shown["status"] == "completed" and shown["splits"] == {"train": len(DOCS)} and shown["text_column"] == "text"
    found = mistudio("datasets", "samples", dataset_id, "--search", "lantern", home=studio_home)
    assert found.returncode == 0, found.stderr
    assert "swung" in found.stdout and "LANTERN fall" in found.stdout and "river" not in found.stdout
    assert "2 row(s) containing 'lantern'" in found.stdout

    preview = mistudio("datasets", "tokenize", dataset_id, "--model", model_id, "--max-length", "8", "--preview",
                       home=studio_home)
    assert preview.returncode == 0, preview.stderr
    assert "(exact)" in preview.stdout and "sequence 0" in preview.stdout and "ids: 1 " in preview.stdout  # BOS
    assert not (studio_home / "datasets" / dataset_id / "tokenizations").exists()  # a preview runs nothing

    tokenized = mistudio("datasets", "tokenize", dataset_id, "--model", model_id, "--max-length", "8",
                         home=studio_home, timeout=120, MISTUDIO_PORT=port)
    assert tokenized.returncode == 0, tokenized.stderr + tokenized.stdout
    tokenization_id = _id(r"tokenization ([0-9a-f]{32}): ", tokenized.stdout)
    assert f"{len(DOCS)} sequences" in tokenized.stdout

    stats = mistudio("datasets", "stats", dataset_id, tokenization_id, "--json", home=studio_home)
    assert stats.returncode == 0, stats.stderr
    statistics = json.loads(stats.stdout)
    stored = studio_home / "datasets" / dataset_id / "tokenizations" / tokenization_id
    tokens, offsets = np.load(stored / "tokens.npy"), np.load(stored / "offsets.npy")
    lengths = np.diff(offsets)
    counts = np.bincount(tokens)
    assert statistics["num_sequences"] == len(lengths) == len(DOCS)
    assert statistics["total_tokens"] == len(tokens) == offsets[-1]
    length = statistics["length"]
    assert (length["min"], length["max"]) == (lengths.min(), lengths.max())
    assert length["mean"] == lengths.mean() and length["median"] == np.median(lengths)
    assert sum(b["count"] for b in length["histogram"]) == len(lengths)
    assert statistics["unique_tokens"] == np.count_nonzero(counts)
    assert statistics["vocab_coverage"] == statistics["unique_tokens"] / statistics["vocab_size"]
    top = statistics["top_tokens"][0]
    assert top["count"] == counts.max() and counts[top["id"]] == counts.max()
    text_stats = mistudio("datasets", "stats", dataset_id, tokenization_id, home=studio_home)
    assert "█" in text_stats.stdout and "coverage" in text_stats.stdout

    from transformers import AutoTokenizer  # the stored sequences are the tokenizer's own output

    tokenizer = AutoTokenizer.from_pretrained(tiny_models("llama"))
    expected = [tokenizer(doc, truncation=True, max_length=8)["input_ids"] for doc in DOCS]
    assert [tokens[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:], strict=True)] == expected

    on_disk = _folder_bytes(studio_home / "datasets" / dataset_id)
    deleted = mistudio("datasets", "delete", dataset_id, "--yes", home=studio_home)
    assert deleted.returncode == 0, deleted.stderr
    assert f"({on_disk:,} bytes)" in deleted.stdout and "freed" in deleted.stdout
    assert not (studio_home / "datasets" / dataset_id).exists()


def test_download_from_the_hub(studio_home: Path, hf_env: HfEnv) -> None:
    rows = "".join(json.dumps({"label": i, "sentence": f"sentence number {i}"}) + "\n" for i in range(5))
    hf_env.hub.add_dataset_repo("cli/sentences", {"data/train.jsonl": rows, "data/test.jsonl": rows[:60],
                                                  "README.md": "# sentences\n"})
    result = mistudio("datasets", "download", "cli/sentences", "--split", "train", home=studio_home, timeout=120,
                      HF_ENDPOINT=hf_env.url, MISTUDIO_PORT=unused_port())
    assert result.returncode == 0, result.stderr + result.stdout
    assert "completed" in result.stdout and "train 5 rows" in result.stdout and "sentence" in result.stdout


def test_bad_input_is_one_clear_line(studio_home: Path, tmp_path: Path) -> None:
    missing = mistudio("datasets", "import", str(tmp_path / "nowhere.jsonl"), home=studio_home)
    assert missing.returncode == 1
    assert len(missing.stderr.strip().splitlines()) == 1 and "does not exist" in missing.stderr, missing.stderr

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "fine"}\n{"text": oops}\n')
    failed = mistudio("datasets", "import", str(broken), home=studio_home, timeout=120, MISTUDIO_PORT=unused_port())
    assert failed.returncode == 1
    assert "broken.jsonl" in failed.stderr and "line 2" in failed.stderr, failed.stderr + failed.stdout
