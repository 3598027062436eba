"""Webhook transports: GraphQL mutations and types, REST operations and the OpenAPI `webhooks`
section; the rules themselves are tested in test_webhooks.py."""

import uuid
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.config import Settings
from makesense_api.kit.db import Database
from makesense_api.rest import all_operations
from makesense_api.rest.openapi import document
from makesense_api.webhooks import catalog
from tests.factories import Factory
from tests.gql import count_statements, run
from tests.test_webhooks import deliver, fast, loopback, receiving

__all__ = ["loopback"]

CREATE = """
mutation($input: WebhookEndpointCreateInput!) {
  webhookEndpointCreate(input: $input) {
    __typename
    ... on WebhookEndpointSecretPayload { secret endpoint { id url eventTypes enabled
      chapter { slug } } }
    ... on Error { code message }
    ... on ValidationError { fields { field message } }
  }
}
"""

ENDPOINTS = """
query($first: Int) {
  webhookEndpoints(first: $first) {
    totalCount
    edges { node { id url deliveries(first: 5) {
      edges { node { msgId eventType status attemptCount attempts { number statusCode } } }
    } } }
  }
}
"""


async def test_graphql_manages_endpoints_with_typed_errors(
    factory: Factory, session: AsyncSession, app_database: Database, settings: Settings,
    loopback: None,
) -> None:
    tree = await factory.tree()
    admin = await factory.member(tree["paris"], "admin")
    me = Principal.person(admin)
    paris = {"chapterId": _gid("Chapter", tree["paris"].id)}
    with receiving() as receiver:
        data = await run(session, CREATE, {"input": {
            "url": receiver.url, "eventTypes": ["event.published"], **paris}}, me)
        created = data["webhookEndpointCreate"]
        assert created["__typename"] == "WebhookEndpointSecretPayload"
        assert created["secret"].startswith("whsec_")
        assert created["endpoint"]["chapter"] == {"slug": "paris"}
        endpoint_id = created["endpoint"]["id"]
        bad = await run(session, CREATE, {"input": {
            "url": "http://10.0.0.1/x", "eventTypes": ["nope"], **paris}}, me)
        assert bad["webhookEndpointCreate"]["code"] == "validation_failed"
        assert {f["field"] for f in bad["webhookEndpointCreate"]["fields"]} == {
            "url", "event_types.0"}
        lagos_admin = await factory.member(tree["lagos"], "admin")
        denied = await run(session, CREATE, {"input": {
            "url": receiver.url, "eventTypes": ["event.published"], **paris}},
            Principal.person(lagos_admin))
        assert denied["webhookEndpointCreate"]["__typename"] == "ForbiddenError"
        ping = await run(session, """mutation($id: ID!) { webhookEndpointPing(input: {id: $id})
            { ... on WebhookDeliveryPayload { delivery { id eventType status } } } }""",
            {"id": endpoint_id}, me)
        assert ping["webhookEndpointPing"]["delivery"]["status"] == "PENDING"
        await factory.event(tree["paris"])
        await deliver(app_database, fast(settings))
        assert len(receiver.requests) == 2
    listed = await run(session, ENDPOINTS, {"first": 10}, me)
    [edge] = listed["webhookEndpoints"]["edges"]
    log = edge["node"]["deliveries"]["edges"]
    assert {e["node"]["eventType"] for e in log} == {"webhook.ping", "event.published"}
    assert all(e["node"]["attempts"] == [{"number": 1, "statusCode": 200}] for e in log)
    other = await run(session, ENDPOINTS, {"first": 10}, Principal.person(lagos_admin))
    assert other["webhookEndpoints"]["totalCount"] == 0
    node = await run(session, "query($id: ID!) { node(id: $id) { id } }", {"id": endpoint_id},
                     Principal.person(lagos_admin))
    assert node["node"] is None
    rotated = await run(session, """mutation($id: ID!) {
        webhookEndpointRotateSecret(input: {id: $id, overlapSeconds: 60}) {
          ... on WebhookEndpointSecretPayload { secret endpoint { previousSecretExpiresAt } } } }""",
        {"id": endpoint_id}, me)
    assert rotated["webhookEndpointRotateSecret"]["endpoint"]["previousSecretExpiresAt"]
    deleted = await run(session, """mutation($id: ID!) { webhookEndpointDelete(input: {id: $id})
        { __typename } }""", {"id": endpoint_id}, Principal.person(lagos_admin))
    assert deleted["webhookEndpointDelete"]["__typename"] == "NotFoundError"


async def test_the_endpoint_list_with_deliveries_and_attempts_costs_constant_statements(
    factory: Factory, session: AsyncSession, app_database: Database, settings: Settings,
    loopback: None,
) -> None:
    tree = await factory.tree()
    admin = await factory.member(tree["paris"], "admin")
    me = Principal.person(admin)

    async def add(n: int) -> None:
        for _ in range(n):
            await run(session, CREATE, {"input": {
                "url": receiver.url, "eventTypes": ["event.published"],
                "chapterId": _gid("Chapter", tree["paris"].id)}}, me)
        await factory.event(tree["paris"])
        await deliver(app_database, fast(settings))

    with receiving() as receiver:
        await add(2)
        with count_statements(session) as few:
            small = await run(session, ENDPOINTS, {"first": 50}, me)
        await add(6)
        with count_statements(session) as many:
            large = await run(session, ENDPOINTS, {"first": 50}, me)
    assert len(small["webhookEndpoints"]["edges"]) == 2
    assert len(large["webhookEndpoints"]["edges"]) == 8
    assert len(many) == len(few)


def _gid(type_name: str, raw: uuid.UUID) -> str:
    from makesense_api.graphql.relay import to_global_id

    return str(to_global_id(type_name, raw))


# -- REST --------------------------------------------------------------------------------------


async def test_rest_manages_endpoints_and_shows_the_delivery_log(
    client: httpx.AsyncClient, factory: Factory, app_database: Database, settings: Settings,
    loopback: None,
) -> None:
    tree = await factory.tree()
    admin = await factory.member(tree["paris"], "admin")
    token = await factory.token(admin, {"webhooks:write", "events:read"})
    auth = {"Authorization": f"Bearer {token}"}
    with receiving() as receiver:
        body = {"url": receiver.url, "event_types": ["event.published"],
                "chapter_id": str(tree["paris"].id)}
        created = await client.post("/v1/webhooks", json=body, headers=auth)
        assert created.status_code == 201, created.text
        endpoint = created.json()
        assert endpoint["secret"].startswith("whsec_")
        assert created.headers["location"] == f"/v1/webhooks/{endpoint['id']}"
        fetched = await client.get(f"/v1/webhooks/{endpoint['id']}", headers=auth)
        assert fetched.status_code == 200 and "secret" not in fetched.json()
        refused = await client.post("/v1/webhooks", json={**body, "url": "http://10.0.0.1/"},
                                    headers=auth)
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")
        await factory.event(tree["paris"])
        await deliver(app_database, fast(settings))
        assert len(receiver.requests) == 1
        log = await client.get(f"/v1/webhooks/{endpoint['id']}/deliveries", headers=auth)
        assert log.status_code == 200
        [delivery] = log.json()["items"]
        assert delivery["status"] == "succeeded"
        assert delivery["msg_id"] == receiver.requests[0]["headers"]["webhook-id"]
        attempts = await client.get(f"/v1/webhook-deliveries/{delivery['id']}/attempts",
                                    headers=auth)
        assert [a["status_code"] for a in attempts.json()["items"]] == [200]
        again = await client.post(f"/v1/webhook-deliveries/{delivery['id']}/redeliver",
                                  headers=auth)
        assert again.status_code == 202 and again.json()["status"] == "pending"
        await deliver(app_database, fast(settings))
        assert [r["headers"]["webhook-id"] for r in receiver.requests] == [delivery["msg_id"]] * 2
        rotated = await client.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret",
                                    json={"overlap_s": 10}, headers=auth)
        assert rotated.status_code == 200 and rotated.json()["secret"] != endpoint["secret"]
    stranger = await factory.member(tree["lagos"], "admin")
    other = {"Authorization": f"Bearer {await factory.token(stranger, {'webhooks:write'})}"}
    for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/ping"),
                         ("GET", "/deliveries")]:
        kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
        answer = await client.request(method, f"/v1/webhooks/{endpoint['id']}{path}",
                                      headers=other, **kwargs)
        assert answer.status_code == 404, (method, path, answer.text)
    assert (await client.get(f"/v1/webhook-deliveries/{delivery['id']}",
                             headers=other)).status_code == 404
    assert (await client.get("/v1/webhooks")).status_code == 401
    deleted = await client.delete(f"/v1/webhooks/{endpoint['id']}", headers=auth)
    assert deleted.status_code == 204


def test_the_openapi_document_lists_every_outgoing_webhook() -> None:
    spec = document(all_operations()).document
    hooks = spec["webhooks"]
    assert set(hooks) == set(catalog.EVENT_TYPES) | {catalog.PING}
    promoted = hooks["registration.promoted"]["post"]
    schema = promoted["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["data"] == {"$ref": "#/components/schemas/Registration"}
    assert {p["name"] for p in promoted["parameters"]} == {
        "webhook-id", "webhook-timestamp", "webhook-signature"}
    assert hooks["membership.created"]["post"]["description"]
    assert "MembershipWithPerson" in spec["components"]["schemas"]
