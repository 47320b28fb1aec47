"""`mistudio templates list|export|import` as a user runs them: real subprocesses on a temp home."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.cli_studio import mistudio

TEMPLATES = [
    {"name": "favourite sweep", "description": None, "layers": [3, 15], "hook_points": ["resid_post"],
     "max_samples": 1000, "batch_size": 32, "dtype": "fp16", "is_favorite": True},
    {"name": "mlp everywhere", "description": "all of them", "layers": [0, 1, 2], "hook_points": ["mlp_out"],
     "max_samples": None, "batch_size": 8, "dtype": "fp32", "is_favorite": False},
]


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_import_list_export_and_import_again(studio_home: Path, tmp_path: Path) -> None:
    empty = mistudio("templates", "list", home=studio_home)
    assert empty.returncode == 0, empty.stderr
    assert "0 of 0 template(s)" in empty.stdout

    source = write(tmp_path / "mine.json", {"version": "1.0", "extraction_templates": TEMPLATES,
                                            "prompt_templates": [{"name": "a"}, {"name": "b"}]})
    imported = mistudio("templates", "import", str(source), home=studio_home)
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 template(s)" in imported.stdout and "favourite sweep" in imported.stdout
    assert "skipped section prompt_templates (2 item(s)): not supported by this version of miStudio" \
        in imported.stdout

    listed = mistudio("templates", "list", home=studio_home)
    rows = [line for line in listed.stdout.splitlines() if "sweep" in line or "everywhere" in line]
    assert "★" in rows[0] and "favourite sweep" in rows[0] and "★" not in rows[1], listed.stdout
    assert "2 of 2 template(s)" in listed.stdout
    as_json = json.loads(mistudio("templates", "list", "--json", home=studio_home).stdout)
    assert as_json["total"] == 2 and [t["name"] for t in as_json["items"]] == ["favourite sweep", "mlp everywhere"]

    exported_file = tmp_path / "out.json"
    to_file = mistudio("templates", "export", str(exported_file), home=studio_home)
    assert to_file.returncode == 0, to_file.stderr
    assert "exported 2 template(s)" in to_file.stdout
    assert json.loads(exported_file.read_text()) == {"version": "1.0", "extraction_templates": TEMPLATES,
                                                     "training_templates": [], "steering_presets": []}
    to_stdout = mistudio("templates", "export", home=studio_home)
    assert json.loads(to_stdout.stdout) == json.loads(exported_file.read_text())
    into_folder = mistudio("templates", "export", str(tmp_path), home=studio_home)
    assert into_folder.returncode == 0, into_folder.stderr
    assert len(list(tmp_path.glob("mistudio-templates-[0-9]*.json"))) == 1

    again = mistudio("templates", "import", str(exported_file), home=studio_home)
    assert again.returncode == 0, again.stderr
    assert re.search(r"renamed favourite sweep -> favourite sweep_imported_\d{14}", again.stdout), again.stdout
    assert "4 of 4 template(s)" in mistudio("templates", "list", home=studio_home).stdout


def test_bad_files_fail_with_one_clear_line_and_import_nothing(studio_home: Path, tmp_path: Path) -> None:
    not_json = tmp_path / "broken.json"
    not_json.write_text('{"version": "1.0", oops')
    invalid = write(tmp_path / "invalid.json", {"version": "1.0", "extraction_templates": [
        TEMPLATES[0], {**TEMPLATES[1], "layers": [-3]}]})
    cases = [
        (tmp_path / "missing.json", "cannot read"),
        (not_json, "is not a JSON file"),
        (write(tmp_path / "list.json", [TEMPLATES[0]]), "not a miStudio templates file"),
        (write(tmp_path / "future.json", {"version": "9.0", "extraction_templates": []}), "version '9.0'"),
        (invalid, "extraction_templates[1] ('mlp everywhere'): layers must be layer indices >= 0"),
    ]
    for path, says in cases:
        result = mistudio("templates", "import", str(path), home=studio_home)
        assert result.returncode == 1, (path, result.stdout, result.stderr)
        assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "0 of 0 template(s)" in mistudio("templates", "list", home=studio_home).stdout


def test_training_templates_import_list_and_export(studio_home: Path, tmp_path: Path) -> None:
    training = [{"name": "topk sweep", "saes": [{"architecture": "topk", "expansion_factor": 16, "k": 64},
                                                {"architecture": "jumprelu", "width": 8192}],
                 "hook_type": "resid_post", "layer": 6, "steps": 1000, "is_favorite": True},
                {"name": "plain", "saes": [{"architecture": "standard"}]}]
    source = write(tmp_path / "both.json", {"version": "1.0", "extraction_templates": TEMPLATES[:1],
                                            "training_templates": training})
    imported = mistudio("templates", "import", str(source), home=studio_home)
    assert imported.returncode == 0, imported.stderr
    assert "imported 3 template(s)" in imported.stdout and "training: topk sweep" in imported.stdout, imported.stdout

    listed = mistudio("templates", "list", "--training", home=studio_home)
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if "sweep" in line or "plain" in line]
    assert "★" in rows[0] and "topk x16 k64, jumprelu w8,192" in rows[0] and "resid_post layer 6" in rows[0]
    assert "1,000 steps" in rows[0] and "standard x8" in rows[1] and "2 epochs" in rows[1], listed.stdout
    assert "2 of 2 training template(s)" in listed.stdout
    assert "1 of 1 template(s)" in mistudio("templates", "list", home=studio_home).stdout
    as_json = json.loads(mistudio("templates", "list", "--training", "--json", home=studio_home).stdout)
    assert [t["name"] for t in as_json["items"]] == ["topk sweep", "plain"] and as_json["items"][0]["steps"] == 1000

    exported = mistudio("templates", "export", str(tmp_path / "out.json"), home=studio_home)
    assert "exported 3 template(s) (1 extraction, 2 training)" in exported.stdout, exported.stdout
    document = json.loads((tmp_path / "out.json").read_text())
    assert [t["name"] for t in document["training_templates"]] == ["topk sweep", "plain"]
    assert document["training_templates"][1]["saes"][0]["lr"] == 4e-4  # written out in full, defaults included

    bad = write(tmp_path / "bad.json", {"version": "1.0", "training_templates": [{"saes": [{"lr": 0}]}]})
    refused = mistudio("templates", "import", str(bad), home=studio_home)
    assert refused.returncode == 1 and "training_templates[0]: saes[0].lr: Input should be greater than 0" \
        in refused.stderr, refused.stderr
