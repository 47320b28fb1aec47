"""The data directory: every folder comes from Storage, built from validated ids, where the settings say."""

from __future__ import annotations

from pathlib import Path

import pytest

from mistudio.config import Settings
from mistudio.errors import InvalidInput
from mistudio.platform.storage import Storage, prepare_home


def test_dataset_folders_sit_under_the_dataset_and_refuse_ids_that_escape(tmp_path: Path) -> None:
    storage = Storage(home=tmp_path)
    assert storage.dataset_text_dir("d1") == tmp_path / "datasets" / "d1" / "text"
    assert storage.dataset_source_dir("d1") == tmp_path / "datasets" / "d1" / "source"
    assert storage.tokenization_dir("d1", "t1") == tmp_path / "datasets" / "d1" / "tokenizations" / "t1"
    for bad in ("../t1", "t1/..", "", "a/b"):
        with pytest.raises(InvalidInput, match="not a valid id"):
            storage.tokenization_dir("d1", bad)
    with pytest.raises(InvalidInput):
        storage.dataset_text_dir("..")


def test_examples_live_in_the_examples_setting_or_the_home(tmp_path: Path) -> None:
    home, shared = tmp_path / "home", tmp_path / "shared-examples"
    assert prepare_home(Settings(home=home, examples_dir=None)).examples_dir == home / "examples"
    assert prepare_home(Settings(home=home, examples_dir=shared)).examples_dir == shared
    assert not shared.exists()  # a layout creates nothing; the examples cache makes its folder when it fetches


def test_a_models_quantized_folders_are_every_format_of_that_model_only(tmp_path: Path) -> None:
    storage = Storage(home=tmp_path)
    for folder in (storage.model_quantized_dir("m1", "q4"), storage.model_quantized_dir("m1", "q8"),
                   storage.model_quantized_dir("m10", "q4")):
        folder.mkdir(parents=True)
    assert storage.model_quantized_dirs("m1") == [storage.model_quantized_dir("m1", "q4"),
                                                  storage.model_quantized_dir("m1", "q8")]
    assert storage.model_quantized_dirs("m2") == []
