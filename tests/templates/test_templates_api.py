"""Extraction templates through the API: CRUD, favourites, automatic names, validation, export and import."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mistudio.config import Settings
from mistudio.errors import Conflict, InvalidInput
from mistudio.platform.runtime import Runtime
from mistudio.templates import service
from mistudio.templates.schemas import ExtractionTemplateIn

API = "/api/v1/extraction-templates"
EXPORT = "/api/v1/templates/export"
IMPORT = "/api/v1/templates/import"
SETTINGS = {"layers": [3, 15, 29], "hook_points": ["resid_post"], "max_samples": 1000, "batch_size": 32,
            "dtype": "fp16"}


def create(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post(API, json={**SETTINGS, **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def names(client: TestClient) -> list[str]:
    return [t["name"] for t in client.get(API).json()["data"]]


def total(client: TestClient) -> int:
    return client.get(API).json()["pagination"]["total"]


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_create_read_update_and_delete(client: TestClient) -> None:
    created = create(client, name="  wide sweep ", description="every third layer", is_favorite=True)
    assert created["name"] == "wide sweep" and created["layers"] == [3, 15, 29] and created["dtype"] == "fp16"
    assert created["is_favorite"] is True and created["description"] == "every third layer"
    assert client.get(f"{API}/{created['id']}").json()["data"] == created

    patched = client.patch(f"{API}/{created['id']}", json={"batch_size": 64, "max_samples": None,
                                                           "description": None, "hook_points": ["mlp_out"]})
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert (data["batch_size"], data["max_samples"], data["description"], data["hook_points"]) == \
        (64, None, None, ["mlp_out"])
    assert data["name"] == "wide sweep" and data["layers"] == [3, 15, 29]  # fields not sent are kept
    assert dt.datetime.fromisoformat(data["updated_at"]) > dt.datetime.fromisoformat(created["updated_at"])

    deleted = client.delete(f"{API}/{created['id']}")
    assert deleted.status_code == 200 and deleted.json()["data"] == {"id": created["id"]}
    assert error(client.get(f"{API}/{created['id']}"), 404)["code"] == "not_found"
    assert error(client.delete(f"{API}/{created['id']}"), 404)["details"] == {"id": created["id"]}
    assert total(client) == 0


def test_favourites_come_first_then_the_most_recently_changed(client: TestClient) -> None:
    for name in ("oldest", "middle", "newest"):
        create(client, name=name)
    assert names(client) == ["newest", "middle", "oldest"]
    oldest = next(t for t in client.get(API).json()["data"] if t["name"] == "oldest")
    favourite = client.put(f"{API}/{oldest['id']}/favorite", json={"is_favorite": True})
    assert favourite.status_code == 200 and favourite.json()["data"]["is_favorite"] is True
    assert names(client) == ["oldest", "newest", "middle"]
    middle = next(t for t in client.get(API).json()["data"] if t["name"] == "middle")
    client.patch(f"{API}/{middle['id']}", json={"description": "touched"})
    assert names(client) == ["oldest", "middle", "newest"]
    client.put(f"{API}/{oldest['id']}/favorite", json={"is_favorite": False})
    page = client.get(API, params={"limit": 2, "page": 2}).json()
    assert page["pagination"] == {"page": 2, "limit": 2, "total": 3} and len(page["data"]) == 1


def test_an_unnamed_template_is_named_after_its_settings(client: TestClient) -> None:
    several = create(client, name=None, layers=[29, 3, 15], hook_points=["resid_post", "mlp_out"])
    assert re.fullmatch(r"resid_post\+mlp_out_layers3-29_1000samples_\d{4}", several["name"]), several["name"]
    hhmm = several["name"][-4:]
    assert 0 <= int(hhmm[:2]) < 24 and 0 <= int(hhmm[2:]) < 60
    single = create(client, name="   ", layers=[7], max_samples=None)
    assert re.fullmatch(r"resid_post_layer7_allsamples_\d{4}", single["name"]), single["name"]


def test_an_automatic_name_already_taken_gets_a_number(client: TestClient) -> None:
    # Take the automatic name for this minute and the next two, so the clash does not depend on the clock.
    now = dt.datetime.now()
    taken = {f"attn_out_layer2_allsamples_{now + dt.timedelta(minutes=m):%H%M}" for m in range(3)}
    for name in taken:
        create(client, name=name, layers=[2], hook_points=["attn_out"], max_samples=None)
    clashing = create(client, layers=[2], hook_points=["attn_out"], max_samples=None)
    assert clashing["name"].endswith("_2") and clashing["name"][:-2] in taken, clashing["name"]


def test_an_explicit_duplicate_name_is_a_conflict_naming_the_existing_template(client: TestClient) -> None:
    first = create(client, name="layer sweep")
    duplicate = error(client.post(API, json={**SETTINGS, "name": "layer sweep"}), 409)
    assert "'layer sweep' already exists" in duplicate["message"] and first["id"] in duplicate["message"]
    assert duplicate["details"]["id"] == first["id"]
    other = create(client, name="other")
    renamed = error(client.patch(f"{API}/{other['id']}", json={"name": "layer sweep"}), 409)
    assert first["id"] in renamed["message"]
    assert client.patch(f"{API}/{first['id']}", json={"name": "layer sweep"}).status_code == 200  # its own name
    assert total(client) == 2


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"layers": []}, "layers", "at least one"),
    ({"layers": [2, -1]}, "layers", ">= 0"),
    ({"layers": [4, 4]}, "layers", "repeat"),
    ({"hook_points": []}, "hook_points", "at least one"),
    ({"hook_points": ["resid_post", "resid_post"]}, "hook_points", "repeat"),
    ({"batch_size": 100}, "batch_size", "power of 2 from 1 to 4096; got 100"),
    ({"batch_size": 0}, "batch_size", "power of 2"),
    ({"batch_size": 8192}, "batch_size", "power of 2"),
    ({"max_samples": 0}, "max_samples", "at least 1"),
])
def test_invalid_settings_are_refused_naming_the_field(client: TestClient, fields: dict[str, Any], field: str,
                                                       says: str) -> None:
    refused = error(client.post(API, json={**SETTINGS, **fields}), 400)
    assert refused["message"].startswith(field) and says in refused["message"], refused
    assert refused["details"]["field"] == field and refused["details"]["allowed"]
    template = create(client, name="valid")
    assert error(client.patch(f"{API}/{template['id']}", json=fields), 400)["details"]["field"] == field
    assert client.get(f"{API}/{template['id']}").json()["data"] == template  # unchanged


def test_unknown_hook_types_and_empty_names_are_refused(client: TestClient) -> None:
    refused = error(client.post(API, json={**SETTINGS, "hook_points": ["resid_mid"]}), 422)
    assert "hook_points" in refused["message"] and "resid_post" in refused["message"]
    template = create(client, name="kept")
    empty = error(client.patch(f"{API}/{template['id']}", json={"name": " "}), 400)
    assert empty["details"]["field"] == "name"
    assert error(client.put(f"{API}/nope/favorite", json={"is_favorite": True}), 404)["code"] == "not_found"


def test_export_then_import_reproduces_the_templates(client: TestClient) -> None:
    create(client, name="favourite", is_favorite=True, description="the usual")
    create(client, name="all samples", max_samples=None, layers=[0], hook_points=["resid_pre", "attn_out"],
           batch_size=1, dtype="bf16")
    create(client, batch_size=4096)
    response = client.get(EXPORT)
    assert response.status_code == 200
    assert re.fullmatch(r'attachment; filename="mistudio-templates-\d{8}\.json"',
                        response.headers["content-disposition"])
    exported = response.json()
    assert exported["version"] == "1.0" and len(exported["extraction_templates"]) == 3
    assert set(exported["extraction_templates"][0]) == {"name", "description", "layers", "hook_points",
                                                        "max_samples", "batch_size", "dtype", "is_favorite"}
    before = {t["name"]: {k: v for k, v in t.items() if k not in ("id", "created_at", "updated_at")}
              for t in client.get(API).json()["data"]}

    for template in client.get(API).json()["data"]:
        client.delete(f"{API}/{template['id']}")
    assert total(client) == 0
    imported = client.post(IMPORT, json=exported)
    assert imported.status_code == 200, imported.text
    result = imported.json()["data"]
    assert result["renamed"] == [] and result["skipped_sections"] == [] and len(result["imported"]) == 3

    after = {t["name"]: {k: v for k, v in t.items() if k not in ("id", "created_at", "updated_at")}
             for t in client.get(API).json()["data"]}
    assert after == before
    reexported = client.get(EXPORT).json()
    assert sorted(reexported["extraction_templates"], key=lambda t: t["name"]) == \
        sorted(exported["extraction_templates"], key=lambda t: t["name"])


def test_import_renames_names_already_taken(client: TestClient) -> None:
    create(client, name="sweep")
    file = {"version": "1.0", "extraction_templates": [
        {**SETTINGS, "name": "sweep"}, {**SETTINGS, "name": "fresh"}, {**SETTINGS, "name": "fresh"}]}
    result = client.post(IMPORT, json=file).json()["data"]
    imported = [t["name"] for t in result["imported"]]
    assert imported[1] == "fresh"
    assert re.fullmatch(r"sweep_imported_\d{14}", imported[0]) and re.fullmatch(r"fresh_imported_\d{14}", imported[2])
    assert result["renamed"] == [{"original": "sweep", "imported_as": imported[0]},
                                 {"original": "fresh", "imported_as": imported[2]}]
    again = client.post(IMPORT, json={"version": "1.0", "extraction_templates": [{**SETTINGS, "name": "sweep"}]})
    # Within the same second the timestamped name is taken too, so a number follows; otherwise the new stamp.
    assert again.json()["data"]["imported"][0]["name"] not in imported + ["sweep"]
    assert total(client) == 5


def test_one_invalid_template_imports_nothing_and_names_it(client: TestClient) -> None:
    create(client, name="existing")
    templates = [{**SETTINGS, "name": "one"}, {**SETTINGS, "name": "two"}, {**SETTINGS, "name": "my tpl",
                                                                             "batch_size": 100},
                 {**SETTINGS, "name": "four"}]
    refused = error(client.post(IMPORT, json={"version": "1.0", "extraction_templates": templates}), 400)
    assert refused["message"].startswith("extraction_templates[2] ('my tpl'): batch_size must be a power of 2")
    assert "nothing was imported" in refused["message"]
    assert refused["details"]["index"] == 2 and refused["details"]["field"] == "batch_size"
    assert names(client) == ["existing"]

    templates[2] = {**SETTINGS, "name": "typo", "hook_points": ["resid_post", "mlp"]}
    refused = error(client.post(IMPORT, json={"version": "1.0", "extraction_templates": templates}), 400)
    assert refused["message"].startswith("extraction_templates[2] ('typo'): hook_points[1]:"), refused
    assert refused["details"]["allowed"] == ["resid_pre", "resid_post", "mlp_out", "attn_out"]
    assert names(client) == ["existing"]


def test_sections_this_version_cannot_read_are_reported_not_dropped(client: TestClient) -> None:
    file = {"version": "1.0", "extraction_templates": [{**SETTINGS, "name": "kept"}],
            "training_templates": [{"name": "t1"}, {"name": "t2"}], "prompt_templates": [{"name": "s"}],
            "notes": "written by a newer miStudio"}
    result = client.post(IMPORT, json=file).json()["data"]
    assert [t["name"] for t in result["imported"]] == ["kept"]
    assert [t["name"] for t in result["imported_training"]] == ["t1", "t2"]  # read since training templates exist
    reason = "not supported by this version of miStudio"
    assert result["skipped_sections"] == [{"section": "prompt_templates", "items": 1, "reason": reason},
                                          {"section": "notes", "items": None, "reason": reason}]


def test_a_file_of_another_version_is_refused(client: TestClient) -> None:
    refused = error(client.post(IMPORT, json={"version": "2.0", "extraction_templates": [SETTINGS]}), 400)
    assert "'2.0'" in refused["message"] and "'1.0'" in refused["message"]
    assert refused["details"] == {"field": "version", "found": "2.0", "allowed": ["1.0"]}
    assert total(client) == 0


@pytest.mark.postgres
def test_the_service_on_postgresql(settings: Settings, postgres_url: str) -> None:
    runtime = Runtime.open(settings.model_copy(update={"database_url": postgres_url}))
    try:
        first = service.create_template(runtime, ExtractionTemplateIn(name="pg", layers=[1, 2],
                                                                      hook_points=["resid_post"]))
        with pytest.raises(Conflict):
            service.create_template(runtime, ExtractionTemplateIn(name="pg", layers=[1], hook_points=["mlp_out"]))
        service.set_favorite(runtime, first.id, True)
        exported = service.export_file(runtime)
        result = service.import_file(runtime, {**exported, "prompt_templates": []})
        assert result.renamed[0].original == "pg" and result.skipped_sections[0].items == 0
        bad = {"version": "1.0", "extraction_templates": [{"layers": [1], "hook_points": ["attn_out"]},
                                                           {"layers": [], "hook_points": ["attn_out"]}]}
        with pytest.raises(InvalidInput, match=r"extraction_templates\[1\]: layers"):
            service.import_file(runtime, bad)
        listed, count = service.list_templates(runtime)
        assert count == 2 and listed[0].is_favorite and {t.name for t in listed} == {"pg", result.imported[0].name}
    finally:
        runtime.close()
