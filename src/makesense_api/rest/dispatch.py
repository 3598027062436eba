"""From an HTTP request to an operation's handler and back.

    method        the path's operations, else 405 with `Allow`
    query         parsed by the operation's query model (unknown or repeated parameters: 422)
    body          JSON objects only (415 for other media types, 400 when malformed, 413 past
                  `rest_max_body_bytes`), parsed by the operation's body model (422)
    POST          `Idempotency-Key` replays the first response (`rest.idempotency`)
    PATCH         `If-Match` must name the resource's current ETag, else 412
    responses     JSON with a strong `ETag` (a hash of the body); `If-None-Match` → 304;
                  `Content-Language` from the read model, `Vary: Accept-Language, Authorization`;
                  collections carry `Link: <…>; rel="next"`
    errors        problem+json (`rest.problems`), never a stack trace

The request's transaction belongs to the `DatabaseSession` middleware: a 4xx or 5xx answer
rolls back whatever the handler wrote.
"""

import base64
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from makesense_api.authz.principal import Principal
from makesense_api.context import Ctx
from makesense_api.feeds.changes import Gone
from makesense_api.kit.db import serialize
from makesense_api.kit.errors import DomainError, FieldError, ValidationFailed
from makesense_api.kit.i18n import parse_accept_language
from makesense_api.kit.pagination import Page
from makesense_api.kit.schemas import parse
from makesense_api.rest import idempotency, problems, schemas
from makesense_api.rest.operations import Call, Operation
from makesense_api.rest.problems import HttpProblem

log = logging.getLogger("makesense_api.rest")

JSON = "application/json"
VARY = "Accept, Accept-Language, Authorization"
SAFE = frozenset({"GET", "HEAD"})


# -- parsing -------------------------------------------------------------------------------


def _query(request: Request, op: Operation) -> BaseModel:
    raw: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in raw:
            raise ValidationFailed.on(name, "give this parameter once")
        raw[name] = value
    if op.method in SAFE and "cursor" in raw and "cursor" not in op.query.model_fields:
        raise ValidationFailed.on("cursor", "this resource is not paginated")
    query = parse(op.query, raw)
    if getattr(query, "updated_since", None) is not None:
        others = query.model_fields_set - {"updated_since", "limit", "cursor"}
        if others:
            raise ValidationFailed.on(min(others), "filters do not apply to a change feed")
    return query


async def _read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HttpProblem(413, "too_large", f"the request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HttpProblem(413, "too_large", f"the request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == JSON or (media.startswith("application/") and media.endswith("+json"))


def _body(op: Operation, request: Request, raw: bytes) -> Any:
    if op.body is None:
        return None
    if not raw.strip():
        if op.body_required:
            raise ValidationFailed.on("body", "a JSON object is required")
        return parse(op.body, {})
    if not _is_json(request.headers.get("content-type")):
        raise HttpProblem(415, "unsupported_media_type", "send the body as application/json")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HttpProblem(400, "malformed_json", "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValidationFailed.on("body", "must be a JSON object")
    return parse(op.body, data)


def context_of(request: Request) -> Ctx:
    principal: Principal = getattr(request.state, "principal", None) or Principal.anonymous()
    languages = tuple(parse_accept_language(request.headers.get("accept-language")))
    return Ctx.of(request.state.session, principal, languages)


# -- rendering -----------------------------------------------------------------------------


def etag_of(body: bytes) -> str:
    digest = hashlib.sha256(body).digest()
    return '"' + base64.urlsafe_b64encode(digest).decode().rstrip("=") + '"'


def _tags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def _dump(model: type[BaseModel], value: Any) -> Any:
    if isinstance(value, Gone):
        model = schemas.Deleted
    return model.model_validate(value).model_dump(mode="json")


def _language(model: type[BaseModel], values: Sequence[Any]) -> str | None:
    attribute = getattr(model, "content_language", None)
    if attribute is None or not values:
        return None
    found = {getattr(v, attribute, None) for v in values if not isinstance(v, Gone)}
    return found.pop() if len(found) == 1 and None not in found else None


def alternate(op: Operation, request: Request) -> str | None:
    """The alternate media type the client asks for by name in `Accept`, if any."""
    accept = request.headers.get("accept", "")
    wanted = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return next((m for m in wanted if m in op.alternates), None)


def represent(op: Operation, request: Request, result: Any) -> tuple[bytes, dict[str, str]]:
    """The response body and its representation headers (ETag, Content-Language, Link,
    Content-Type)."""
    headers: dict[str, str] = {"Content-Type": op.media}
    if op.render is not None:
        encoded = op.render(result)
        headers["ETag"] = etag_of(encoded)
        return encoded, headers
    assert op.response is not None
    media = alternate(op, request)
    if media is not None:
        views = [result]
        body: Any = op.alternates[media](result)
        headers["Content-Type"] = media
    elif op.collection:
        assert isinstance(result, Page)
        views = list(result.items)
        following = result.end_cursor if result.has_next else None
        body = {"items": [_dump(op.response, v) for v in views], "next_cursor": following}
        if following is not None:
            headers["Link"] = f'<{request.url.include_query_params(cursor=following)}>; rel="next"'
    else:
        views = [result]
        body = _dump(op.response, result)
    encoded = orjson.dumps(body)
    headers["ETag"] = etag_of(encoded)
    language = _language(op.response, views)
    if language:
        headers["Content-Language"] = language
    return encoded, headers


def _cache_headers(request: Request) -> dict[str, str]:
    # Vary lists Accept: some resources have alternate renderings (JSON-LD).
    private = "authorization" in request.headers
    return {"Vary": VARY, "Cache-Control": "private, no-cache" if private else "no-cache"}


# -- preconditions -------------------------------------------------------------------------


def _lock_key(resource_id: Any) -> int:
    """An advisory-lock key per resource, so concurrent conditional edits queue up."""
    digest = hashlib.sha256(f"rest-if-match:{resource_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


async def _check_if_match(op: Operation, call: Call[Any, Any]) -> None:
    header = call.request.headers.get("if-match")
    if header is None or op.current is None:
        return
    for value in call.path.values():
        await serialize(call.ctx.session, _lock_key(value))
    current = await op.current(call)
    _, headers = represent(op, call.request, current)
    wanted = _tags(header)
    if "*" not in wanted and headers["ETag"] not in wanted:
        raise HttpProblem(
            412, "precondition_failed", "the resource changed: fetch it again (If-Match)"
        )


# -- the endpoint --------------------------------------------------------------------------


async def _run(op: Operation, request: Request) -> Response:
    ctx = context_of(request)
    query = _query(request, op)
    max_body = request.state.settings.rest_max_body_bytes
    raw = await _read(request, max_body) if op.method not in SAFE else b""
    body = _body(op, request, raw)
    call: Call[Any, Any] = Call(request, ctx, dict(request.path_params), query, body)
    key = idempotency.key_of(request) if op.method == "POST" else None
    if key is not None:
        replay = await idempotency.begin(ctx, request, key, raw)
        if replay is not None:
            return replay
    await _check_if_match(op, call)
    try:
        result = await op.handler(call)
    except ValidationFailed as exc:
        if op.collection and any(e.field == "after" for e in exc.errors):
            exc = ValidationFailed(
                [FieldError("cursor" if e.field == "after" else e.field, e.message)
                 for e in exc.errors]
            )
        raise exc from None
    response = _respond(op, request, result)
    if key is not None:
        await idempotency.finish(ctx, key, response, keep_body=not op.secret)
    return response


def _respond(op: Operation, request: Request, result: Any) -> Response:
    if op.response is None and op.render is None:
        return Response(status_code=204, headers=_cache_headers(request))
    body, headers = represent(op, request, result)
    media = headers.pop("Content-Type")
    headers.update(_cache_headers(request))
    if op.cache_control is not None:
        headers["Cache-Control"] = op.cache_control
    if op.location is not None:
        headers["Location"] = op.location(result)
    if request.method in SAFE:
        match = request.headers.get("if-none-match")
        if match is not None and ({"*", headers["ETag"]} & set(_tags(match))):
            headers.pop("Content-Language", None)
            return Response(status_code=304, headers=headers)
    return Response(body, status_code=op.status, media_type=media, headers=headers)


async def dispatch(op: Operation, request: Request) -> Response:
    """Run one operation, turning every failure into a problem response."""
    try:
        return await _run(op, request)
    except DomainError as exc:
        return problems.from_domain(exc, op.scope)
    except HttpProblem as exc:
        return problems.from_http(exc)
    except Exception as exc:
        log.exception("REST operation failed", extra={"operation": op.operation_id})
        return problems.internal_error(exc)
