"""The OpenAPI 3.1 document, generated from the route table and the pydantic models.

Served at `GET /openapi.json` and committed at `openapi/openapi.json` (`make schema`); a test
fails when the two drift. Schemas come from `models_json_schema` with references rewritten to
`#/components/schemas/…`; query models become parameters, one per field.
"""

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from makesense_api.authz.principal import Scope
from makesense_api.rest.operations import Operation
from makesense_api.rest.problems import MEDIA_TYPE, Problem
from makesense_api.rest.schemas import Deleted

REF = "#/components/schemas/{model}"
PREFIX = "/v1"
CONVERTOR = re.compile(r"\{(\w+)(?::(\w+))?\}")

SCOPES = {
    Scope.CHAPTERS_READ: "Read member-only chapter data (private contact channels).",
    Scope.CHAPTERS_WRITE: "Manage chapters you administer.",
    Scope.EVENTS_READ: "Read draft and members-only events where you organize.",
    Scope.EVENTS_WRITE: "Create, edit, publish and cancel events where you organize.",
    Scope.REGISTRATIONS_READ: "Read attendee lists where you organize, and your registrations.",
    Scope.REGISTRATIONS_WRITE: "Register, cancel and check in.",
    Scope.PROJECTS_READ: "Read draft projects you own or review, and contributions.",
    Scope.PROJECTS_WRITE: "Manage projects, needs and contributions.",
    Scope.PEOPLE_READ: "Read the profiles and contact details of members you organize.",
    Scope.PEOPLE_WRITE: "Register people in chapters you organize.",
    Scope.PROGRAMS_READ: "Read draft programs and enrolments where you organize.",
    Scope.PROGRAMS_WRITE: "Manage programs and enrolments.",
    Scope.IMPACT_READ: "Read impact breakdowns by chapter and cause.",
    Scope.IMPACT_WRITE: "Set mobilisation goals.",
    Scope.WEBHOOKS_READ: "Read webhook subscriptions.",
    Scope.WEBHOOKS_WRITE: "Manage webhook subscriptions.",
    Scope.PROFILE: "Your own profile, registrations and calendar feed.",
    Scope.OFFLINE_ACCESS: "Refresh tokens.",
}

DESCRIPTION = """REST API of the makesense federation for partner integrations.

* Every error is an RFC 9457 `application/problem+json` document with a stable `code`.
* Collections page with `limit` (1–100) and an opaque `cursor`; the next page is announced in
  `Link: <…>; rel="next"` and in `next_cursor`.
* Every representation carries a strong `ETag`; send `If-None-Match` to revalidate (304) and
  `If-Match` on PATCH to avoid lost updates (412).
* Multilingual text follows `Accept-Language` and is labelled with `Content-Language`.
* POST accepts an `Idempotency-Key` (24 hours): a retry replays the first answer.
* Tokens come from the OAuth 2 server at `/oauth/token` (authorization code with PKCE S256,
  or client credentials for partner tools); anonymous callers read published public data.
"""


@dataclass(frozen=True)
class Spec:
    document: dict[str, Any]

    @property
    def encoded(self) -> bytes:
        return text(self.document).encode()


def text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@cache
def page_model(item: type[BaseModel], feed: bool) -> type[BaseModel]:
    """The body of a collection page of `item` (with tombstones when it is a change feed)."""
    items: Any = list[item | Deleted] if feed else list[item]  # type: ignore[valid-type]
    model: type[BaseModel] = create_model(
        f"{item.__name__}Page",
        __doc__=f"One page of {item.__name__} items.",
        items=(items, Field(description="The page's items, in the collection's order.")),
        next_cursor=(
            str | None,
            Field(description="Cursor of the next page; null on the last page."),
        ),
    )
    return model


def _response_model(op: Operation) -> type[BaseModel] | None:
    if op.response is None or not op.collection:
        return op.response
    return page_model(op.response, op.feed)


def _models(operations: list[Operation]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
    for op in operations:
        wanted.append((op.query, "validation"))
        if op.body is not None:
            wanted.append((op.body, "validation"))
        response = _response_model(op)
        if response is not None:
            wanted.append((response, "serialization"))
    return list(dict.fromkeys(wanted))


def _name(ref: dict[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[-1]


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    schema = {k: v for k, v in schema.items() if k not in ("title", "description")}
    if schema.get("default", 0) is None:
        del schema["default"]
    variants = schema.get("anyOf")
    if variants and any(v == {"type": "null"} for v in variants):
        rest = [v for v in variants if v != {"type": "null"}]
        del schema["anyOf"]
        schema = {**rest[0], **schema} if len(rest) == 1 else {"anyOf": rest, **schema}
    return schema


def _query_parameters(definition: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(definition.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": prop.get("description", name.replace("_", " ")),
            "schema": _without_null(prop),
        }
        for name, prop in definition.get("properties", {}).items()
    ]


def _header(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name, "in": "header", "required": False, "description": description,
        "schema": {"type": "string", **schema},
    }


HEADER_PARAMETERS = {
    "AcceptLanguage": _header("Accept-Language", "Preferred languages for multilingual text."),
    "IfNoneMatch": _header("If-None-Match", "ETags you hold: 304 when one is current."),
    "IfMatch": _header("If-Match", "The ETag you read: 412 if it is no longer current."),
    "IdempotencyKey": _header(
        "Idempotency-Key", "Makes a retry replay the first answer (24 h).",
        minLength=1, maxLength=255,
    ),
}


def _parameters(op: Operation, query: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name, kind in CONVERTOR.findall(op.path):
        schema = {"type": "string", "format": "uuid"} if kind == "uuid" else {"type": "string"}
        params.append(
            {"name": name, "in": "path", "required": True, "description": name, "schema": schema}
        )
    params.extend(_query_parameters(query))
    headers = ["AcceptLanguage"]
    headers += {"GET": ["IfNoneMatch"], "PATCH": ["IfMatch"], "POST": ["IdempotencyKey"]}.get(
        op.method, []
    )
    params.extend({"$ref": f"#/components/parameters/{h}"} for h in headers)
    return params


def _problem(status: int, description: str) -> dict[str, Any]:
    problem: dict[str, Any] = {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}},
    }
    names = RETRY_HEADERS.get(status, ())
    if names:
        problem["headers"] = {n: _response_header(n) for n in names}
    return problem


PROBLEMS = {
    400: "Malformed request (JSON body, Authorization header).",
    401: "Authentication needed, or the token is invalid (`WWW-Authenticate: Bearer`).",
    403: "The token lacks a scope, or the caller's role does not allow this.",
    404: "No such resource, or the caller may not see it.",
    409: "The request clashes with the resource's current state.",
    412: "`If-Match` names an ETag that is no longer current.",
    413: "The request body is too large.",
    415: "The request body is not JSON.",
    422: "Invalid input; `errors` names each field.",
    429: "Over the rate limit of the client, address or chapter; retry after `Retry-After`.",
    500: "Unexpected failure; quote `request_id`.",
    503: "The database cannot be reached now; nothing was saved; retry after `Retry-After`.",
}

HEADERS = {
    "ETag": "Strong validator of this representation.",
    "Content-Language": "Language the multilingual text is given in.",
    "Link": 'The next page: `<url>; rel="next"`.',
    "Location": "URL of the created resource.",
    "RateLimit-Limit": "Requests (GraphQL: cost points) allowed in the tightest window.",
    "RateLimit-Remaining": "What is left of that window.",
    "RateLimit-Reset": "Seconds until that window starts afresh.",
    "Retry-After": "Seconds to wait before retrying.",
}

RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
RETRY_HEADERS = {429: ("Retry-After", *RATE_LIMIT_HEADERS), 503: ("Retry-After",)}


def _response_header(name: str) -> dict[str, Any]:
    return {"description": HEADERS[name], "schema": {"type": "string"}}


def _content(op: Operation, ref: dict[str, Any] | None) -> dict[str, Any]:
    if op.render is not None:
        return {op.media: {"schema": {"type": "string"}}}
    content = {"application/json": {"schema": ref}}
    for media in op.alternates:
        content[media] = {"schema": {"type": "object", "description": "JSON-LD document."}}
    return content


def _success(op: Operation, ref: dict[str, Any] | None) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if ref is None and op.render is None:
        responses["204"] = {"description": "Done; no content."}
        return responses
    names = ["ETag", *RATE_LIMIT_HEADERS]
    if op.response is not None and getattr(op.response, "content_language", None):
        names.append("Content-Language")
    if op.collection:
        names.append("Link")
    if op.location is not None:
        names.append("Location")
    responses[str(op.status)] = {
        "description": op.summary,
        "headers": {n: _response_header(n) for n in names},
        "content": _content(op, ref),
    }
    if op.method == "GET":
        responses["304"] = {"description": "Not modified: your copy (If-None-Match) is current."}
    return responses


def _responses(op: Operation, ref: dict[str, Any] | None) -> dict[str, Any]:
    statuses = [400, 401, 403, 404, 422, 429, 500, 503]
    if op.conflicts or op.method == "POST":
        statuses.append(409)
    if op.current is not None:
        statuses.append(412)
    if op.method != "GET":
        statuses += [413, 415]
    responses = _success(op, ref)
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    return responses


def _operation(
    op: Operation, keys: dict[Any, dict[str, Any]], defs: dict[str, Any]
) -> dict[str, Any]:
    query = defs[_name(keys[(op.query, "validation")])]
    response = _response_model(op)
    spec: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": op.description,
        "tags": [op.tag],
        "parameters": _parameters(op, query),
        "responses": _responses(op, keys[(response, "serialization")] if response else None),
    }
    if op.body is not None:
        spec["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": keys[(op.body, "validation")]}},
        }
    security: list[dict[str, list[str]]] = [{"oauth2": [op.scope] if op.scope else []}]
    spec["security"] = [*security, {}] if op.anonymous else security
    return spec


def _security_scheme() -> dict[str, Any]:
    scopes = {str(s): SCOPES[s] for s in Scope}
    return {
        "type": "oauth2",
        "description": "Authorization code with PKCE (S256) for apps acting for a person; "
        "client credentials for partner tools acting within their grants.",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": "/oauth/authorize",
                "tokenUrl": "/oauth/token",
                "refreshUrl": "/oauth/token",
                "scopes": scopes,
            },
            "clientCredentials": {"tokenUrl": "/oauth/token", "scopes": scopes},
        },
    }


def document(operations: list[Operation]) -> Spec:
    """The OpenAPI document describing `operations`, and the webhooks the API sends."""
    from makesense_api.rest.webhooks import outgoing, outgoing_models

    wanted = _models(operations) + [(m, "serialization") for m in outgoing_models()]
    keys, schemas = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    defs: dict[str, Any] = schemas.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        path = PREFIX + CONVERTOR.sub(r"{\1}", op.path)
        paths.setdefault(path, {})[op.method.lower()] = _operation(op, keys, defs)
    queries = {_name(keys[(op.query, "validation")]) for op in operations}
    components = {name: schema for name, schema in defs.items() if name not in queries}
    tags = list(dict.fromkeys(op.tag for op in operations))
    return Spec(
        {
            "openapi": "3.1.0",
            "info": {"title": "makesense API", "version": "1.0.0", "description": DESCRIPTION},
            "tags": [{"name": t, "description": f"{t.capitalize()} of the federation."}
                     for t in tags],
            "paths": paths,
            "webhooks": outgoing(keys),
            "components": {
                "schemas": components,
                "parameters": HEADER_PARAMETERS,
                "responses": {f"Problem{s}": _problem(s, d) for s, d in PROBLEMS.items()},
                "securitySchemes": {"oauth2": _security_scheme()},
            },
        }
    )
