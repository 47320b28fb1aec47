"""Steering presets travel in the templates file (v1.0, section `steering_presets`): exported with the templates,
imported all or none with them, renamed when the name is taken, refused when their SAE does not exist here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from mistudio.api import create_app
from mistudio.config import Settings
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.config import SAEConfig
from mistudio.lens.sae.formats import save_saelens
from tests.steering.test_steering_api import HOOK, _import_sae
from tests.support.cli_studio import mistudio

EXPORT, IMPORT = "/api/v1/templates/export", "/api/v1/templates/import"
PRESETS = "/api/v1/steering/presets"


@pytest.fixture
def client(tmp_path: Path) -> Any:
    settings = Settings(home=tmp_path / "home", job_modules=[], log_format="text", database_url=None, redis_url=None)
    torch.manual_seed(0)
    folder = save_saelens(SparseAutoencoder(SAEConfig("topk", d_in=64, d_sae=128, k=4, hook_point=HOOK)),
                          tmp_path / "sae")
    with TestClient(create_app(settings)) as client:
        client.sae_id = _import_sae(client, folder, "ours", None)["id"]  # type: ignore[attr-defined]
        yield client


def _preset(sae_id: str, name: str = "push 3", feature: int = 3) -> dict[str, Any]:
    return {"name": name, "description": "feature 3, twice its peak",
            "interventions": [{"sae_id": sae_id, "feature": feature, "mode": "add", "strength": 2.0,
                               "positions": "generated", "unit": "absolute"}]}


def test_presets_are_exported_and_imported_with_the_templates(client: TestClient) -> None:
    created = client.post(PRESETS, json=_preset(client.sae_id))  # type: ignore[attr-defined]
    assert created.status_code == 201, created.text
    exported = client.get(EXPORT).json()
    assert exported["version"] == "1.0"
    [entry] = exported["steering_presets"]
    assert entry["name"] == "push 3" and entry["description"] == "feature 3, twice its peak"
    assert entry["interventions"][0]["positions"] == "generated" and "id" not in entry

    result = client.post(IMPORT, json=exported).json()["data"]
    [imported] = result["imported_presets"]
    assert imported["name"].startswith("push 3_imported_")
    assert result["renamed_presets"] == [{"original": "push 3", "imported_as": imported["name"]}]
    assert imported["interventions"] == created.json()["data"]["interventions"]
    assert result["skipped_sections"] == []
    names = sorted(p["name"] for p in client.get(PRESETS).json()["data"])
    assert names == ["push 3", imported["name"]]


def test_a_preset_whose_sae_is_not_here_refuses_the_whole_file(client: TestClient) -> None:
    file = {"version": "1.0", "extraction_templates": [{"name": "ok", "layers": [1], "hook_points": ["resid_post"]}],
            "steering_presets": [_preset(client.sae_id, "fine"),  # type: ignore[attr-defined]
                                 _preset("f" * 32, "elsewhere")]}
    refused = client.post(IMPORT, json=file)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["message"].startswith("steering_presets[1] ('elsewhere'): intervention 0: ")
    assert "import or train it here first" in error["message"] and "nothing was imported" in error["message"]
    assert error["details"]["field"] == "interventions[0].sae_id"
    beyond = {"version": "1.0", "steering_presets": [_preset(client.sae_id, feature=128)]}  # type: ignore[attr-defined]
    assert client.post(IMPORT, json=beyond).json()["error"]["details"]["field"] == "interventions[0].feature"
    assert client.get(PRESETS).json()["data"] == []
    assert client.get("/api/v1/extraction-templates").json()["data"] == []


def test_the_cli_counts_the_presets(client: TestClient, tmp_path: Path) -> None:
    client.post(PRESETS, json=_preset(client.sae_id))  # type: ignore[attr-defined]
    home = tmp_path / "home"
    exported = mistudio("templates", "export", str(tmp_path / "file.json"), home=home)
    assert exported.returncode == 0 and "and 1 steering preset(s)" in exported.stdout, exported.stderr
    imported = mistudio("templates", "import", str(tmp_path / "file.json"), home=home)
    assert imported.returncode == 0, imported.stderr
    assert "imported 0 template(s) and 1 steering preset(s)" in imported.stdout
    assert "steering preset: push 3_imported_" in imported.stdout
    assert "renamed push 3 -> push 3_imported_" in imported.stdout
