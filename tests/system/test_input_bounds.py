"""Every input the OpenAPI schema allows gets a 2xx or a 4xx envelope, never a 500; a 500 names its request id.

The walks below read the routes from the schema itself, so a route added later is checked without a new test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mistudio.api import create_app
from mistudio.config import Settings
from mistudio.envelopes import SAFE_INT

UNKNOWN_ID = "0" * 32


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path_factory.mktemp("home"), job_modules=[], hf_endpoint="http://127.0.0.1:9")
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def schema(client: TestClient) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").json()


def resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def variants(node: dict[str, Any]) -> list[dict[str, Any]]:
    """`int | None` is `anyOf: [integer, null]`: the alternatives of a node, or the node itself."""
    return node.get("anyOf") or [node]


def numeric_parameters(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                for alternative in variants(parameter["schema"]):
                    if alternative.get("type") in ("integer", "number"):
                        found.append((method, path, parameter, alternative))
    return found


def url(path: str) -> str:
    """A path with every parameter filled in with an id that exists nowhere (an index: 0)."""
    return "/".join("0" if part == "{index}" else UNKNOWN_ID if part.startswith("{") else part
                    for part in path.split("/"))


def send(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    response = client.request(method, url(path), **kwargs)
    assert response.status_code < 500, f"{method.upper()} {path} {kwargs}: {response.status_code} {response.text}"
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}, response.text
    return response


def test_the_walk_sees_the_paged_lists(schema: dict[str, Any]) -> None:
    paged = {path for _, path, parameter, _ in numeric_parameters(schema) if parameter["name"] == "page"}
    assert {"/api/v1/jobs", "/api/v1/models", "/api/v1/datasets", "/api/v1/extractions"} <= paged


def test_every_numeric_query_parameter_is_bounded_by_the_schema(schema: dict[str, Any]) -> None:
    unbounded = [f"{method.upper()} {path} {parameter['name']}"
                 for method, path, parameter, alternative in numeric_parameters(schema)
                 if parameter["in"] == "query" and "maximum" not in alternative]
    assert unbounded == [], "give these Query(le=...) so a huge value is a 422, not a database overflow"


def test_a_value_past_the_bound_is_a_422_naming_the_parameter(client: TestClient, schema: dict[str, Any]) -> None:
    for method, path, parameter, alternative in numeric_parameters(schema):
        if parameter["in"] != "query":
            continue
        for value in (str(2**64), "99999999999999999999", f"{alternative['maximum'] + 1}", "1e309", "nan"):
            response = send(client, method, path, params={parameter["name"]: value})
            assert response.status_code == 422, (method, path, parameter["name"], value, response.text)
            assert parameter["name"] in response.json()["error"]["message"]


def test_the_bound_itself_is_answered_without_a_500(client: TestClient, schema: dict[str, Any]) -> None:
    for method, path, parameter, alternative in numeric_parameters(schema):
        if parameter["in"] == "query":
            send(client, method, path, params={parameter["name"]: str(alternative["maximum"])})


def test_huge_numbers_in_a_path_are_answered_without_a_500(client: TestClient, schema: dict[str, Any]) -> None:
    for method, path, parameter, _ in numeric_parameters(schema):
        if parameter["in"] == "path":
            send(client, method, path.replace("{" + parameter["name"] + "}", str(2**70)))


def patch_bodies(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(path, resolved(schema, operations["patch"]["requestBody"]["content"]["application/json"]["schema"]))
            for path, operations in schema["paths"].items() if "patch" in operations]


def test_null_for_a_field_that_cannot_be_null_is_a_422(client: TestClient, schema: dict[str, Any]) -> None:
    checked = 0
    for path, body in patch_bodies(schema):
        for field, node in body["properties"].items():
            nullable = any(alternative.get("type") == "null" for alternative in variants(node))
            response = send(client, "patch", path, json={field: None})
            # Nullable fields pass validation and reach the lookup of the unknown id; the others stop at the schema.
            assert response.status_code == (404 if nullable else 422), (path, field, response.text)
            checked += not nullable
    assert checked >= 3  # at least the names of models, datasets and templates


def json_bodies(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, resolved(schema, operation["requestBody"]["content"]["application/json"]["schema"]))
            for path, operations in schema["paths"].items() for method, operation in operations.items()
            if "application/json" in operation.get("requestBody", {}).get("content", {})]


def test_a_huge_integer_in_any_body_is_a_422_naming_its_field(client: TestClient, schema: dict[str, Any]) -> None:
    checked = 0
    for method, path, body in json_bodies(schema):
        for field, node in body.get("properties", {}).items():
            for alternative in variants(resolved(schema, node)):
                kind, items = alternative.get("type"), alternative.get("items", {}).get("type")
                if kind != "integer" and not (kind == "array" and items == "integer"):
                    continue
                response = send(client, method, path, json={field: 2**64 if kind == "integer" else [2**64]})
                assert response.status_code == 422, (method, path, field, response.text)
                fields = [problem["field"] for problem in response.json()["error"]["details"]]
                assert any(f == f"body.{field}" or f.startswith(f"body.{field}.") for f in fields), (path, fields)
                checked += 1
    assert checked >= 6  # tokenize, extract and template settings at least


def test_a_500_names_the_request_id_it_was_logged_under(client: TestClient, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    from mistudio.system import service

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "list_jobs", broken)
    response = client.get("/api/v1/jobs", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "trace-500"
    assert response.json() == {"error": {"code": "internal_error", "details": None,
                                         "message": "internal error (request id trace-500); see the server log"}}
    assert "a bug" not in response.text  # the traceback goes to the log, not to the client
    assert any(record.exc_info and "unhandled error" in record.getMessage() for record in caplog.records)

    generated = client.get("/api/v1/jobs")
    request_id = generated.headers["x-request-id"]
    assert len(request_id) == 32 and f"request id {request_id})" in generated.json()["error"]["message"]


def test_the_largest_page_is_an_empty_page(client: TestClient) -> None:
    response = client.get("/api/v1/models", params={"page": SAFE_INT, "limit": 200})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == [] and response.json()["pagination"]["page"] == SAFE_INT
