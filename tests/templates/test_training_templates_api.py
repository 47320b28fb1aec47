"""Training templates through the API: CRUD, favourites, validation naming the field, and the shared export file."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mistudio.config import Settings
from mistudio.errors import Conflict
from mistudio.platform.runtime import Runtime
from mistudio.templates import service, training_service
from mistudio.templates.schemas import TRAINING_SETTINGS, TrainingTemplateIn, TrainingTemplatePatch
from mistudio.training.schemas import TrainIn

API = "/api/v1/training-templates"
EXTRACTION_API = "/api/v1/extraction-templates"
EXPORT = "/api/v1/templates/export"
IMPORT = "/api/v1/templates/import"
SWEEP = [{"architecture": "topk", "expansion_factor": 16, "k": 64, "lr": 3e-4},
         {"architecture": "jumprelu", "width": 8192, "sparsity_coefficient": 2.0, "schedule": "cosine"}]
SETTINGS = {"saes": SWEEP, "hook_type": "resid_post", "layer": 6, "total_tokens": 50_000_000, "batch_tokens": 2048,
            "seed": 7, "compute_dtype": "bfloat16", "b_dec_init": "mean", "checkpoint_every": None}
EXTRACTION = {"layers": [3], "hook_points": ["resid_post"], "max_samples": 100, "batch_size": 8, "dtype": "fp16"}


def create(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post(API, json={**SETTINGS, **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def names(client: TestClient) -> list[str]:
    return [t["name"] for t in client.get(API).json()["data"]]


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]


def without_row_fields(template: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in template.items() if k not in ("id", "created_at", "updated_at")}


def test_the_settings_are_train_ins_own_fields() -> None:
    for name in TRAINING_SETTINGS:
        ours, theirs = TrainingTemplateIn.model_fields[name], TrainIn.model_fields[name]
        assert (ours.annotation, ours.metadata, ours.get_default(call_default_factory=True)) == \
            (theirs.annotation, theirs.metadata, theirs.get_default(call_default_factory=True)), name


def test_create_read_update_and_delete(client: TestClient) -> None:
    created = create(client, name=" sweep ", description="two SAEs at layer 6", is_favorite=True)
    assert created["name"] == "sweep" and created["is_favorite"] is True and created["layer"] == 6
    assert [s["architecture"] for s in created["saes"]] == ["topk", "jumprelu"]
    assert created["saes"][0]["k"] == 64 and created["saes"][1]["width"] == 8192
    assert created["saes"][1]["lr"] == 4e-4  # unset SAE fields take the run's defaults
    assert (created["total_tokens"], created["batch_tokens"], created["compute_dtype"], created["checkpoint_every"],
            created["log_every"]) == (50_000_000, 2048, "bfloat16", None, 25)
    assert client.get(f"{API}/{created['id']}").json()["data"] == created

    patched = client.patch(f"{API}/{created['id']}", json={
        "total_tokens": None, "steps": 1000, "layer": None, "description": None,
        "saes": [{"architecture": "batchtopk", "k": 16}]})
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert (data["total_tokens"], data["steps"], data["layer"], data["description"]) == (None, 1000, None, None)
    assert [s["architecture"] for s in data["saes"]] == ["batchtopk"]
    assert data["name"] == "sweep" and data["batch_tokens"] == 2048 and data["hook_type"] == "resid_post"
    assert dt.datetime.fromisoformat(data["updated_at"]) > dt.datetime.fromisoformat(created["updated_at"])

    assert client.delete(f"{API}/{created['id']}").json()["data"] == {"id": created["id"]}
    assert error(client.get(f"{API}/{created['id']}"), 404)["message"] == \
        f"training template {created['id']!r} not found"
    assert client.get(API).json()["pagination"]["total"] == 0


def test_a_template_with_nothing_set_holds_the_runs_defaults(client: TestClient) -> None:
    template = create(client, **{field: TrainIn.model_fields[field].get_default(call_default_factory=True)
                                 for field in TRAINING_SETTINGS} | {"saes": [{}]}, hook_type=None, layer=None)
    defaults = TrainIn(hook_point="blocks.0.resid_post").model_dump(mode="json")
    assert {field: template[field] for field in TRAINING_SETTINGS} == {field: defaults[field]
                                                                       for field in TRAINING_SETTINGS}
    assert re.fullmatch(r"topk_x8_k32_\d{4}", template["name"]), template["name"]


def test_favourites_come_first_then_the_most_recently_changed(client: TestClient) -> None:
    for name in ("oldest", "middle", "newest"):
        create(client, name=name)
    assert names(client) == ["newest", "middle", "oldest"]
    oldest = next(t for t in client.get(API).json()["data"] if t["name"] == "oldest")
    favourite = client.put(f"{API}/{oldest['id']}/favorite", json={"is_favorite": True})
    assert favourite.status_code == 200 and favourite.json()["data"]["is_favorite"] is True
    assert names(client) == ["oldest", "newest", "middle"]
    client.put(f"{API}/{oldest['id']}/favorite", json={"is_favorite": False})
    assert names(client) == ["oldest", "newest", "middle"]  # unfavouriting changed it last
    page = client.get(API, params={"limit": 2, "page": 2}).json()
    assert page["pagination"] == {"page": 2, "limit": 2, "total": 3} and len(page["data"]) == 1
    assert error(client.put(f"{API}/nope/favorite", json={"is_favorite": True}), 404)["code"] == "not_found"


def test_unnamed_templates_are_named_after_their_saes_and_numbered_when_taken(client: TestClient) -> None:
    sweep = create(client)
    assert re.fullmatch(r"sweep2_topk\+jumprelu_resid_post_layer6_\d{4}", sweep["name"]), sweep["name"]
    now = dt.datetime.now()
    taken = {f"gated_w4096_{now + dt.timedelta(minutes=m):%H%M}" for m in range(3)}
    for name in taken:
        create(client, name=name)
    single = {"saes": [{"architecture": "gated", "width": 4096}], "hook_type": None, "layer": None}
    clashing = create(client, **single)
    assert clashing["name"].endswith("_2") and clashing["name"][:-2] in taken, clashing["name"]


def test_names_are_unique_among_training_templates_only(client: TestClient) -> None:
    first = create(client, name="shared name")
    duplicate = error(client.post(API, json={**SETTINGS, "name": "shared name"}), 409)
    assert "training template named 'shared name' already exists" in duplicate["message"]
    assert duplicate["details"]["id"] == first["id"]
    other = create(client, name="other")
    assert error(client.patch(f"{API}/{other['id']}", json={"name": "shared name"}), 409)["details"]["id"] == \
        first["id"]
    assert error(client.patch(f"{API}/{other['id']}", json={"name": "  "}), 400)["details"]["field"] == "name"
    assert client.patch(f"{API}/{first['id']}", json={"name": "shared name"}).status_code == 200
    # An extraction template is another kind of thing: the same name is free there.
    assert client.post(EXTRACTION_API, json={**EXTRACTION, "name": "shared name"}).status_code == 201


@pytest.mark.parametrize(("fields", "field"), [
    ({"saes": [{"lr": 0}]}, "body.saes.0.lr"),
    ({"saes": [{"lr": -1e-3}]}, "body.saes.0.lr"),
    ({"saes": [{}, {"architecture": "crosscoder"}]}, "body.saes.1.architecture"),
    ({"saes": []}, "body.saes"),
    ({"saes": [{}] * 9}, "body.saes"),
    ({"hook_type": "resid_mid"}, "body.hook_type"),
    ({"layer": -1}, "body.layer"),
    ({"batch_tokens": 0}, "body.batch_tokens"),
    ({"holdout_fraction": 0.9}, "body.holdout_fraction"),
    ({"compute_dtype": "float16"}, "body.compute_dtype"),
    ({"keep_checkpoints": 101}, "body.keep_checkpoints"),
])
def test_settings_a_run_refuses_are_422_naming_the_field(client: TestClient, fields: dict[str, Any],
                                                         field: str) -> None:
    refused = error(client.post(API, json={**SETTINGS, **fields}), 422)
    assert refused["details"][0]["field"] == field and field in refused["message"], refused
    template = create(client, name="valid")
    assert error(client.patch(f"{API}/{template['id']}", json=fields), 422)["details"][0]["field"] == field
    assert client.get(f"{API}/{template['id']}").json()["data"] == template  # unchanged


@pytest.mark.parametrize(("sae", "field", "says"), [
    ({"expansion_factor": None, "width": None}, "saes[0].width", "width or its expansion factor"),
    ({"architecture": "batchtopk", "k": None}, "saes[0].k", "needs k"),
    ({"width": 16, "k": 32}, "saes[0].k", "larger than the width (16 latents)"),
    ({"architecture": "matryoshka", "width": 64, "matryoshka_prefixes": [16, 8, 64]}, "saes[0].matryoshka_prefixes",
     "increasing"),
    ({"architecture": "matryoshka", "width": 64, "matryoshka_prefixes": [16, 32]}, "saes[0].matryoshka_prefixes",
     "ending at the width"),
])
def test_saes_no_model_could_train_are_refused_naming_the_field(client: TestClient, sae: dict[str, Any],
                                                                 field: str, says: str) -> None:
    refused = error(client.post(API, json={**SETTINGS, "saes": [sae]}), 400)
    assert refused["message"].startswith(field) and says in refused["message"], refused
    assert refused["details"]["field"] == field
    template = create(client, name="valid")
    assert error(client.patch(f"{API}/{template['id']}", json={"saes": [sae]}), 400)["details"]["field"] == field


def test_null_is_refused_where_a_setting_has_no_unset(client: TestClient) -> None:
    template = create(client, name="kept")
    for field in ("batch_tokens", "saes", "seed", "name", "is_favorite"):
        refused = error(client.patch(f"{API}/{template['id']}", json={field: None}), 422)
        assert refused["details"][0]["field"] == f"body.{field}", refused
    assert client.get(f"{API}/{template['id']}").json()["data"] == template


def test_export_holds_both_kinds_and_imports_back_to_the_same_templates(client: TestClient) -> None:
    client.post(EXTRACTION_API, json={**EXTRACTION, "name": "extract layer 3"})
    create(client, name="favourite sweep", is_favorite=True, description="the usual")
    create(client, name="one sae", saes=[{"architecture": "standard", "width": 1024}], hook_type="mlp_out",
           layer=0, steps=500, total_tokens=None, normalize_input=False)
    exported = client.get(EXPORT).json()
    assert set(exported) == {"version", "extraction_templates", "training_templates", "steering_presets"}
    assert [t["name"] for t in exported["extraction_templates"]] == ["extract layer 3"]
    assert [t["name"] for t in exported["training_templates"]] == ["favourite sweep", "one sae"]
    assert set(exported["training_templates"][0]) == {"name", "description", "hook_type", "layer", "is_favorite",
                                                      *TRAINING_SETTINGS}
    before = {t["name"]: without_row_fields(t) for t in client.get(API).json()["data"]}
    for template in client.get(API).json()["data"]:
        client.delete(f"{API}/{template['id']}")
    for template in client.get(EXTRACTION_API).json()["data"]:
        client.delete(f"{EXTRACTION_API}/{template['id']}")

    imported = client.post(IMPORT, json=exported)
    assert imported.status_code == 200, imported.text
    result = imported.json()["data"]
    assert [t["name"] for t in result["imported"]] == ["extract layer 3"]
    assert [t["name"] for t in result["imported_training"]] == ["favourite sweep", "one sae"]
    assert result["renamed"] == result["renamed_training"] == result["skipped_sections"] == []
    assert {t["name"]: without_row_fields(t) for t in client.get(API).json()["data"]} == before
    assert client.get(EXPORT).json() == exported

    again = client.post(IMPORT, json=exported).json()["data"]
    assert [r["original"] for r in again["renamed_training"]] == ["favourite sweep", "one sae"]
    assert all(re.fullmatch(r".+_imported_\d{14}", r["imported_as"]) for r in again["renamed_training"])
    assert [r["original"] for r in again["renamed"]] == ["extract layer 3"]
    assert client.get(API).json()["pagination"]["total"] == 4


def test_a_file_with_only_extraction_templates_still_imports(client: TestClient) -> None:
    result = client.post(IMPORT, json={"version": "1.0", "extraction_templates": [{**EXTRACTION, "name": "old"}]})
    assert result.status_code == 200, result.text
    data = result.json()["data"]
    assert [t["name"] for t in data["imported"]] == ["old"] and data["imported_training"] == []
    assert data["skipped_sections"] == [] and client.get(API).json()["pagination"]["total"] == 0
    only_training = client.post(IMPORT, json={"version": "1.0", "training_templates": [SETTINGS]})
    assert [t["layer"] for t in only_training.json()["data"]["imported_training"]] == [6]


@pytest.mark.parametrize(("entry", "says", "field"), [
    ({"saes": [{}, {"lr": 0}]}, "training_templates[1] ('bad'): saes[1].lr: Input should be greater than 0",
     "saes"),
    ({"saes": [{"architecture": "crosscoder"}]}, "training_templates[1] ('bad'): saes[0].architecture: Input should "
                                                 "be 'standard'", "saes"),
    ({"saes": [{"width": 8, "k": 9}]}, "training_templates[1] ('bad'): saes[0].k (9) is larger than the width",
     "saes[0].k"),
    ({"seed": -1}, "training_templates[1] ('bad'): seed: Input should be greater than or equal to 0", "seed"),
])
def test_one_bad_training_template_imports_nothing_and_names_its_index_and_field(
        client: TestClient, entry: dict[str, Any], says: str, field: str) -> None:
    file = {"version": "1.0", "extraction_templates": [{**EXTRACTION, "name": "fine"}],
            "training_templates": [{**SETTINGS, "name": "good"}, {**SETTINGS, **entry, "name": "bad"}]}
    refused = error(client.post(IMPORT, json=file), 400)
    assert refused["message"].startswith(says) and refused["message"].endswith("nothing was imported"), refused
    assert refused["details"]["section"] == "training_templates" and refused["details"]["index"] == 1
    assert refused["details"]["field"] == field and refused["details"]["name"] == "bad"
    assert client.get(API).json()["pagination"]["total"] == 0
    assert client.get(EXTRACTION_API).json()["pagination"]["total"] == 0


@pytest.mark.postgres
def test_training_templates_on_postgresql(settings: Settings, postgres_url: str) -> None:
    runtime = Runtime.open(settings.model_copy(update={"database_url": postgres_url}))
    try:
        first = training_service.create_template(runtime, TrainingTemplateIn(name="pg sweep", **SETTINGS))
        with pytest.raises(Conflict):
            training_service.create_template(runtime, TrainingTemplateIn(name="pg sweep"))
        edited = training_service.update_template(runtime, first.id, TrainingTemplatePatch(seed=3, layer=None))
        assert (edited.seed, edited.layer, edited.saes[1].width) == (3, None, 8192)
        result = service.import_file(runtime, service.export_file(runtime))
        assert result.renamed_training[0].original == "pg sweep"
        listed, count = training_service.list_templates(runtime)
        assert count == 2 and {t.seed for t in listed} == {3}
    finally:
        runtime.close()
