"""Recurring series over REST (`/v1/series`, "this and following"), and the expiry of the
`Idempotency-Key` that every REST POST, series included, accepts."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.kit.clock import utcnow
from makesense_api.rest.idempotency import (
    IdempotencyKey,
    purge_expired_idempotency_keys,
)
from tests.factories import Factory
from tests.test_rest_http import assert_problem, bearer

Tree = dict[str, ChapterView]


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


def weekly(chapter: ChapterView, **overrides: Any) -> dict[str, Any]:
    return {
        "chapter_id": str(chapter.id),
        "title": "Atelier du jeudi",
        "format": "in_person",
        "venue_name": "La Ruche",
        "timezone": "Europe/Paris",
        "language": "fr",
        "start_date": "2030-03-14",  # a Thursday, two weeks before summer time
        "local_start": "19:00",
        "duration_minutes": 120,
        "frequency": "weekly",
        "count": 4,
        **overrides,
    }


async def organizer(factory: Factory, chapter: ChapterView, *scopes: str) -> dict[str, str]:
    person = await factory.member(chapter, "organizer")
    return bearer(await factory.token(person, set(scopes or {"events:write"})))


async def test_series_life_cycle(client: httpx.AsyncClient, factory: Factory, tree: Tree) -> None:
    auth = await organizer(factory, tree["paris"])
    created = await client.post("/v1/series", json=weekly(tree["paris"]), headers=auth)
    assert created.status_code == 201, created.text
    series = created.json()
    assert created.headers["location"] == f"/v1/series/{series['id']}"
    assert (series["frequency"], series["count"], series["local_start"]) == ("weekly", 4, "19:00")
    assert len(series["event_ids"]) == 4

    listed = await client.get(f"/v1/series/{series['id']}/events", headers=auth)
    items = listed.json()["items"]
    assert [e["id"] for e in items] == series["event_ids"]
    assert {e["status"] for e in items} == {"draft"}
    # 19:00 in Paris across the DST change (31 March): 18:00 UTC in winter, 17:00 in summer.
    assert [e["starts_at"][11:16] for e in items] == ["18:00", "18:00", "18:00", "17:00"]
    # Drafts are invisible to everyone else: the series is not found.
    assert_problem(await client.get(f"/v1/series/{series['id']}"), 404, "not_found")
    assert_problem(await client.get(f"/v1/series/{series['id']}/events"), 404, "not_found")

    published = await client.post(f"/v1/series/{series['id']}/publish", headers=auth)
    assert published.status_code == 200, published.text
    public = await client.get(f"/v1/series/{series['id']}/events")
    assert {e["status"] for e in public.json()["items"]} == {"published"}
    assert (await client.get(f"/v1/series/{series['id']}")).json()["event_ids"] == series[
        "event_ids"]

    third = series["event_ids"][2]
    edited = await client.post(f"/v1/events/{third}/update-following",
                               json={"title": "Atelier du soir", "local_start": "20:00"},
                               headers=auth)
    assert edited.status_code == 200, edited.text
    tail = edited.json()
    assert tail["id"] != series["id"] and tail["event_ids"] == series["event_ids"][2:]
    assert tail["local_start"] == "20:00"
    head = (await client.get(f"/v1/series/{series['id']}")).json()
    assert head["event_ids"] == series["event_ids"][:2] and head["count"] == 2
    after = (await client.get(f"/v1/series/{tail['id']}/events")).json()["items"]
    assert [(e["title"], e["starts_at"][11:16]) for e in after] == [
        ("Atelier du soir", "19:00"), ("Atelier du soir", "18:00")]
    before = (await client.get(f"/v1/events/{series['event_ids'][0]}")).json()
    assert before["title"] == "Atelier du jeudi"


async def test_series_errors_and_denials(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    auth = await organizer(factory, tree["paris"])
    bad = await client.post("/v1/series", json=weekly(tree["paris"], until="2030-04-01"),
                            headers=auth)
    assert assert_problem(bad, 422, "validation_failed")["errors"][0]["field"] == "count"
    gap = weekly(tree["paris"], start_date="2030-03-31", local_start="02:30", frequency="monthly",
                 count=1)
    assert_problem(await client.post("/v1/series", json=gap, headers=auth), 422,
                   "validation_failed")
    too_many = weekly(tree["paris"], count=None, until="2040-01-01")
    assert_problem(await client.post("/v1/series", json=too_many, headers=auth), 422,
                   "validation_failed")
    lyon = await organizer(factory, tree["lyon"])
    assert_problem(await client.post("/v1/series", json=weekly(tree["paris"]), headers=lyon),
                   403, "forbidden")
    reader = await organizer(factory, tree["paris"], "events:read")
    assert_problem(await client.post("/v1/series", json=weekly(tree["paris"]), headers=reader),
                   403, "insufficient_scope")
    assert_problem(await client.post("/v1/series", json=weekly(tree["paris"])), 401,
                   "unauthenticated")
    series = (await client.post("/v1/series", json=weekly(tree["paris"]), headers=auth)).json()
    first = series["event_ids"][0]
    assert_problem(await client.post(f"/v1/series/{series['id']}/publish", headers=lyon),
                   403, "forbidden")
    assert_problem(await client.post(f"/v1/events/{first}/update-following",
                                     json={"title": "x"}, headers=lyon), 404, "not_found")
    refused = await client.post(f"/v1/events/{first}/update-following",
                                json={"capacity": 0}, headers=auth)
    assert_problem(refused, 422, "validation_failed")
    single = (await client.post("/v1/events", headers=auth, json={
        k: v for k, v in weekly(tree["paris"]).items()
        if k not in {"start_date", "local_start", "duration_minutes", "frequency", "count"}
    } | {"starts_at": "2030-03-14T19:00:00", "ends_at": "2030-03-14T21:00:00"})).json()
    not_series = await client.post(f"/v1/events/{single['id']}/update-following",
                                   json={"title": "x"}, headers=auth)
    assert assert_problem(not_series, 422, "validation_failed")["errors"][0]["field"] == (
        "event_id")
    assert_problem(await client.get("/v1/series/0190a000-0000-7000-8000-000000000000"),
                   404, "not_found")


async def test_series_post_replays_with_its_idempotency_key(
    client: httpx.AsyncClient, factory: Factory, tree: Tree, session: Any
) -> None:
    auth = {**await organizer(factory, tree["paris"]), "Idempotency-Key": "series-1"}
    first = await client.post("/v1/series", json=weekly(tree["paris"]), headers=auth)
    again = await client.post("/v1/series", json=weekly(tree["paris"]), headers=auth)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    # Past its 24 hours the key is forgotten: the same request is a new one.
    await session.exec(
        sa.update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=24, seconds=1))
    )
    later = await client.post("/v1/series", json=weekly(tree["paris"]), headers=auth)
    assert later.status_code == 201 and "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]


async def test_purge_deletes_expired_keys_in_bounded_batches(system: Ctx) -> None:
    session = system.session
    now = utcnow()
    ages = [timedelta(hours=h) for h in (25, 26, 30, 48, 23, 1)]
    session.add_all(
        IdempotencyKey(owner="c|p", key=f"k{i}", request_hash="0" * 64, created_at=now - age)
        for i, age in enumerate(ages)
    )
    await session.flush()
    assert await purge_expired_idempotency_keys(session, now, batch=3) == 3
    assert await purge_expired_idempotency_keys(session, now, batch=3) == 1
    assert await purge_expired_idempotency_keys(session, now, batch=3) == 0
    left = (await session.exec(select(IdempotencyKey.key).order_by(IdempotencyKey.key))).all()
    assert list(left) == ["k4", "k5"]
    assert await purge_expired_idempotency_keys(session, now, ttl=timedelta(minutes=30)) == 2
