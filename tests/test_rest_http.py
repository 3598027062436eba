"""REST plumbing through HTTP: problems, pagination, ETags, languages, bodies, idempotency."""

import uuid
from typing import Any

import httpx
import pytest

from makesense_api.chapters.schemas import ChapterView
from tests.factories import Factory

PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"] == f"urn:makesense:problem:{code}"
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
async def tree(factory: Factory) -> dict[str, ChapterView]:
    return await factory.tree()


# -- errors --------------------------------------------------------------------------------


async def test_unknown_routes_and_methods_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")
    assert_problem(await client.get("/v1/events/not-a-uuid"), 404, "not_found")
    assert_problem(await client.get("/v1/events/"), 404, "not_found")
    response = await client.put("/v1/events")
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_invalid_query_names_each_field(
    client: httpx.AsyncClient, tree: dict[str, ChapterView]
) -> None:
    body = assert_problem(
        await client.get("/v1/events", params={"limit": 0, "cause": 18, "colour": "red"}),
        422,
        "validation_failed",
    )
    assert {e["field"] for e in body["errors"]} == {"limit", "cause", "colour"}
    body = assert_problem(
        await client.get("/v1/chapters?limit=5&limit=6"), 422, "validation_failed"
    )
    assert body["errors"] == [{"field": "limit", "message": "give this parameter once"}]
    body = assert_problem(
        await client.get("/v1/chapters", params={"cursor": "garbage"}), 422, "validation_failed"
    )
    assert body["errors"][0]["field"] == "cursor"
    body = assert_problem(
        await client.get("/v1/chapters", params={"subtree": "atlantis"}), 422, "validation_failed"
    )
    assert body["errors"] == [{"field": "subtree", "message": "no such chapter"}]


async def test_bodies_malformed_wrong_type_too_large(
    client: httpx.AsyncClient, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    organizer = await factory.member(tree["paris"], "organizer")
    auth = bearer(await factory.token(organizer, {"events:write"}))
    headers = {**auth, "Content-Type": "application/json"}
    assert_problem(
        await client.post("/v1/events", content=b"{not json", headers=headers), 400,
        "malformed_json",
    )
    body = assert_problem(
        await client.post("/v1/events", content=b"[1, 2]", headers=headers), 422,
        "validation_failed",
    )
    assert body["errors"][0]["field"] == "body"
    assert_problem(
        await client.post("/v1/events", content=b"a=1", headers={**auth, "Content-Type":
                          "application/x-www-form-urlencoded"}),
        415, "unsupported_media_type",
    )
    huge = b'{"title": "' + b"x" * 1_100_000 + b'"}'
    assert_problem(await client.post("/v1/events", content=huge, headers=headers), 413,
                   "too_large")
    body = assert_problem(
        await client.post("/v1/events", json={"title": "", "format": "zoom"}, headers=auth),
        422, "validation_failed",
    )
    fields = {e["field"] for e in body["errors"]}
    assert {"title", "format", "chapter_id", "timezone", "starts_at"} <= fields


async def test_authentication_and_scope_challenges(
    client: httpx.AsyncClient, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    response = await client.post("/v1/events", json={})
    # The body is validated before the service asks for an identity.
    assert response.status_code == 422
    event = await factory.event(tree["paris"])
    response = await client.post(f"/v1/events/{event.id}/cancel")
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    member = await factory.member(tree["paris"], "organizer")
    response = await client.post(
        f"/v1/events/{event.id}/cancel",
        headers=bearer(await factory.token(member, {"events:read"})),
    )
    assert_problem(response, 403, "insufficient_scope")
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="events:write"'
    )
    response = await client.get("/v1/chapters", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


async def test_unexpected_errors_are_500_problems_without_details(
    client: httpx.AsyncClient, tree: dict[str, ChapterView], monkeypatch: pytest.MonkeyPatch
) -> None:
    from makesense_api.chapters import service

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "get_by_slug", broken)
    response = await client.get("/v1/chapters/paris", headers={"X-Request-ID": "req-12345678"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "req-12345678"
    assert "secret" not in response.text and "Traceback" not in response.text


# -- pagination, ETags, languages ------------------------------------------------------------


async def test_pages_follow_link_headers(
    client: httpx.AsyncClient, tree: dict[str, ChapterView]
) -> None:
    seen: list[str] = []
    url: str | None = "/v1/chapters?limit=3&subtree=net"
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        body = response.json()
        seen += [c["slug"] for c in body["items"]]
        link = response.headers.get("link")
        if body["next_cursor"] is None:
            assert link is None
            url = None
        else:
            assert link and link.endswith('>; rel="next"')
            url = link[1 : link.index(">")]
            assert "subtree=net" in url and "limit=3" in url
    assert seen == sorted(c.slug for c in tree.values())


async def test_etags_and_conditional_requests(
    client: httpx.AsyncClient, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    first = await client.get("/v1/chapters/paris")
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith('W/')
    assert "Accept-Language" in first.headers["vary"]
    again = await client.get("/v1/chapters/paris", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    page = await client.get("/v1/chapters")
    assert (await client.get("/v1/chapters", headers={"If-None-Match": page.headers["etag"]})
            ).status_code == 304
    changed = await client.get("/v1/chapters/paris", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200


async def test_accept_language_picks_text_and_labels_it(
    client: httpx.AsyncClient, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    await factory.chapter(
        tree["france"], slug="nantes", name="Nantes", default_language="fr",
        translations={"en": {"name": "Nantes (en)"}},
    )
    english = await client.get("/v1/chapters/nantes", headers={"Accept-Language": "en-GB, fr;q=0.5"})
    assert english.json()["name"] == "Nantes (en)"
    assert english.headers["content-language"] == "en"
    french = await client.get("/v1/chapters/nantes", headers={"Accept-Language": "de, fr"})
    assert french.json()["name"] == "Nantes"
    assert french.headers["content-language"] == "fr"
    assert english.headers["etag"] != french.headers["etag"]


async def test_if_match_guards_edits(
    client: httpx.AsyncClient, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    organizer = await factory.member(tree["paris"], "organizer")
    auth = bearer(await factory.token(organizer, {"events:write"}))
    event = await factory.event(tree["paris"], publish=False)
    url = f"/v1/events/{event.id}"
    etag = (await client.get(url, headers=auth)).headers["etag"]
    stale = await client.patch(url, json={"title": "B"}, headers={**auth, "If-Match": '"old"'})
    assert_problem(stale, 412, "precondition_failed")
    ok = await client.patch(url, json={"title": "A"}, headers={**auth, "If-Match": etag})
    assert ok.status_code == 200 and ok.json()["title"] == "A"
    again = await client.patch(url, json={"title": "C"}, headers={**auth, "If-Match": etag})
    assert again.status_code == 412
    assert (await client.patch(url, json={"title": "D"}, headers=auth)).status_code == 200
    star = await client.patch(url, json={"title": "E"}, headers={**auth, "If-Match": "*"})
    assert star.json()["title"] == "E"


# -- idempotency ---------------------------------------------------------------------------


async def test_idempotency_key_replays_and_scopes(
    client: httpx.AsyncClient, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    organizer = await factory.member(tree["paris"], "organizer")
    token = await factory.token(organizer, {"events:write"})
    event = await factory.event(tree["paris"], publish=False)
    data = {
        "chapter_id": str(tree["paris"].id), "title": "Clean-up", "format": "in_person",
        "timezone": "Europe/Paris", "language": "fr", "venue_name": "La Ruche",
        "starts_at": "2031-05-01T10:00", "ends_at": "2031-05-01T12:00",
    }
    headers = {**bearer(token), "Idempotency-Key": "create-1"}
    first = await client.post("/v1/events", json=data, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post("/v1/events", json=data, headers=headers)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    listed = await client.get(
        "/v1/events", params={"chapter_id": str(tree["paris"].id), "status": "any"},
        headers=bearer(token),
    )
    assert [e["title"] for e in listed.json()["items"]].count("Clean-up") == 1
    other = await client.post("/v1/events", json={**data, "title": "Other"}, headers=headers)
    body = assert_problem(other, 422, "validation_failed")
    assert body["errors"][0]["field"] == "Idempotency-Key"
    # Another caller's key space is their own.
    colleague = await factory.member(tree["paris"], "organizer")
    theirs = await client.post(
        "/v1/events", json=data,
        headers={**bearer(await factory.token(colleague, {"events:write"})),
                 "Idempotency-Key": "create-1"},
    )
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    # A failed request leaves no key behind: the retry runs again.
    publish = f"/v1/events/{event.id}/publish"
    denied = await client.post(publish, headers={**bearer(await factory.token(organizer, {
        "events:read"})), "Idempotency-Key": "pub"})
    assert denied.status_code == 403
    done = await client.post(publish, headers={**bearer(token), "Idempotency-Key": "pub"})
    assert done.status_code == 200 and done.json()["status"] == "published"


async def test_expired_idempotency_keys_are_forgotten(
    client: httpx.AsyncClient, factory: Factory, tree: dict[str, ChapterView], session: Any
) -> None:
    from datetime import timedelta

    import sqlalchemy as sa

    from makesense_api.kit.clock import utcnow
    from makesense_api.rest.idempotency import IdempotencyKey

    organizer = await factory.member(tree["paris"], "organizer")
    token = await factory.token(organizer, {"events:write"})
    event = await factory.event(tree["paris"], publish=False)
    headers = {**bearer(token), "Idempotency-Key": "k"}
    assert (await client.post(f"/v1/events/{event.id}/publish", headers=headers)).status_code == 200
    await session.exec(
        sa.update(IdempotencyKey).values(created_at=utcnow() - timedelta(days=2))
    )
    # Expired: the key runs the request again (which now conflicts: already published).
    again = await client.post(f"/v1/events/{event.id}/publish", headers=headers)
    assert_problem(again, 409, "conflict")


async def test_no_idempotency_for_unknown_ids(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/v1/events/{uuid.uuid4()}/publish",
                                 headers={"Idempotency-Key": "x"})
    assert response.status_code == 404
