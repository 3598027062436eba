"""The OpenAPI document: committed, served, valid, and in step with the routes."""

import json
from typing import Any

import httpx
from openapi_spec_validator import validate
from starlette.routing import Mount

from makesense_api.app import create_app
from makesense_api.authz.principal import Scope
from makesense_api.contract import OPENAPI_PATH, openapi_json
from makesense_api.rest import PathEndpoint

METHODS = {"get", "post", "patch", "put", "delete"}


def committed() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(OPENAPI_PATH.read_text())
    return document


def test_committed_document_matches_the_code() -> None:
    assert OPENAPI_PATH.read_text() == openapi_json(), "drifted: run `make schema` and commit"


def test_document_is_valid_openapi_3_1() -> None:
    document = committed()
    assert document["openapi"].startswith("3.1")
    validate(document)


async def test_served_document_is_the_committed_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == committed()


def _routed() -> set[tuple[str, str]]:
    app = create_app()
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/v1")
    found: set[tuple[str, str]] = set()
    for route in mount.routes:
        endpoint = route.endpoint  # type: ignore[attr-defined]
        assert isinstance(endpoint, PathEndpoint)
        path = "/v1" + route.path.replace(":uuid", "")  # type: ignore[attr-defined]
        found |= {(m.lower(), path) for m in endpoint.by_method if m != "HEAD"}
    return found


def test_every_route_is_documented_and_every_operation_routed() -> None:
    documented = {
        (method, path)
        for path, item in committed()["paths"].items()
        for method in item
        if method in METHODS
    }
    assert documented == _routed()


def test_every_operation_is_described_secured_and_lists_its_problems() -> None:
    document = committed()
    scopes = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert scopes["authorizationCode"]["authorizationUrl"] == "/oauth/authorize"
    assert scopes["authorizationCode"]["tokenUrl"] == "/oauth/token"
    assert set(scopes["clientCredentials"]["scopes"]) == {s.value for s in Scope}
    operation_ids: list[str] = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            operation_ids.append(operation["operationId"])
            assert operation["summary"] and len(operation["description"]) > 20, where
            assert operation["security"], where
            responses = operation["responses"]
            for status in ("401", "404", "422", "500"):
                assert responses[status]["$ref"].endswith(f"Problem{status}"), where
            success = [s for s in responses if s.startswith("2")]
            assert len(success) == 1, where
            if method == "patch":
                assert "412" in responses, where
    assert len(operation_ids) == len(set(operation_ids))
