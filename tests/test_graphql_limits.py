"""Limits checked before execution: a refused operation runs no SQL at all.

Each test counts the statements the engine runs while the request is served. The small schema
of test_graphql_http touches the database in every list resolver, so an accepted operation
always runs some; a refused one must run none.
"""

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse
from sqlalchemy import event

from makesense_api.config import Settings
from makesense_api.graphql.cost import CEILING
from makesense_api.graphql.limits import aliases, depth
from makesense_api.kit.db import Database
from tests.test_graphql_http import JSON, Serve, opener, post

LIMIT_CODES = {
    "DEPTH_LIMIT_EXCEEDED",
    "ALIAS_LIMIT_EXCEEDED",
    "TOKEN_LIMIT_EXCEEDED",
    "COST_LIMIT_EXCEEDED",
}


@pytest.fixture
def test_app(settings: Settings, app_database: Database) -> Serve:
    return opener(settings, app_database)


@contextlib.contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements the engine runs inside the block."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def refused(
    client: httpx.AsyncClient, database: Database, body: dict[str, Any], code: str
) -> dict[str, Any]:
    """Post `body`; assert it is refused with `code`, without data and without any SQL."""
    with statements(database) as seen:
        response = await post(client, body)
    assert response.status_code == 400, response.text
    payload: dict[str, Any] = response.json()
    assert "data" not in payload
    assert [e["extensions"]["code"] for e in payload["errors"]] == [code]
    assert seen == []
    return payload


async def accepted(
    client: httpx.AsyncClient, database: Database, body: dict[str, Any]
) -> dict[str, Any]:
    with statements(database) as seen:
        response = await post(client, body)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    assert "errors" not in payload
    assert seen, "an accepted operation on this schema runs SQL"
    return payload


def nested(levels: int) -> str:
    """`{ items { parent { parent … { id } } } }` with `levels` fields above the leaf."""
    return "{ items " + "{ parent " * (levels - 1) + "{ id }" + " }" * levels


# -- depth --------------------------------------------------------------------------------------


async def test_depth_limit(test_app: Serve, app_database: Database) -> None:
    async with test_app(graphql_max_depth=12) as client:
        await accepted(client, app_database, {"query": nested(11)})  # 11 + the leaf = 12
        payload = await refused(client, app_database, {"query": nested(12)}, "DEPTH_LIMIT_EXCEEDED")
    assert payload["errors"][0]["extensions"]["limit"] == 12
    assert "12 levels" in payload["errors"][0]["message"]


async def test_depth_counts_through_fragments(test_app: Serve, app_database: Database) -> None:
    query = """
        { items { ...A } }
        fragment A on Item { children { ...B } }
        fragment B on Item { children { ... on Item { parent { id } } } }
    """
    async with test_app(graphql_max_depth=4) as client:
        await refused(client, app_database, {"query": query}, "DEPTH_LIMIT_EXCEEDED")
    async with test_app(graphql_max_depth=5) as client:
        await accepted(client, app_database, {"query": query})


def test_depth_and_aliases_measure_exponential_fragments_in_linear_time() -> None:
    # Each fragment spreads the next twice: 2**40 leaves once expanded.
    fragments = "\n".join(
        f"fragment F{i} on Item {{ a{i}: id ...F{i + 1} ...F{i + 1} }}" for i in range(40)
    )
    document = parse("{ items { ...F0 } }\n" + fragments + "\nfragment F40 on Item { id }")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    by_name = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    started = time.perf_counter()
    assert depth(operation.selection_set, 13, by_name) == 2
    assert aliases(operation.selection_set, by_name) == 2**40 - 1
    assert time.perf_counter() - started < 0.5


def test_fragment_cycles_do_not_hang_the_measures() -> None:
    document = parse(
        "{ items { ...A } } fragment A on Item { x: id ...B } fragment B on Item { ...A }"
    )
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    by_name = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    assert depth(operation.selection_set, 13, by_name) == 2
    assert aliases(operation.selection_set, by_name) == 1


# -- aliases ------------------------------------------------------------------------------------


async def test_alias_limit(test_app: Serve, app_database: Database) -> None:
    def query(count: int) -> str:
        return "{ " + " ".join(f"a{i}: items {{ id }}" for i in range(count)) + " }"

    async with test_app() as client:
        await accepted(client, app_database, {"query": query(30)})
        payload = await refused(client, app_database, {"query": query(31)}, "ALIAS_LIMIT_EXCEEDED")
    extensions = payload["errors"][0]["extensions"]
    assert extensions == {"code": "ALIAS_LIMIT_EXCEEDED", "limit": 30, "requested": 31}


async def test_aliases_count_once_per_fragment_spread(
    test_app: Serve, app_database: Database
) -> None:
    fields = " ".join(f"c{i}: children {{ id }}" for i in range(10))
    query = "{ x: items { ...F } y: items { ...F } z: items { ...F } } fragment F on Item { %s }"
    async with test_app() as client:  # 3 + 3 × 10 = 33 aliases
        await refused(client, app_database, {"query": query % fields}, "ALIAS_LIMIT_EXCEEDED")


# -- tokens -------------------------------------------------------------------------------------


async def test_token_limit(test_app: Serve, app_database: Database) -> None:
    async with test_app(graphql_max_tokens=200) as client:
        await accepted(client, app_database, {"query": "{ items { " + "id " * 190 + "} }"})
        payload = await refused(
            client,
            app_database,
            {"query": "{ items { " + "id " * 200 + "} }"},
            "TOKEN_LIMIT_EXCEEDED",
        )
        comments = await refused(
            client,
            app_database,
            {"query": "{ items { id } }" + "\n#" * 300},
            "TOKEN_LIMIT_EXCEEDED",
        )
    assert payload["errors"][0]["extensions"]["limit"] == 200
    assert comments["errors"][0]["message"] == "The document has more than 200 tokens."


async def test_default_token_limit_is_2000(test_app: Serve, app_database: Database) -> None:
    async with test_app() as client:
        await refused(
            client,
            app_database,
            {"query": "{ items { " + "id " * 2_000 + "} }"},
            "TOKEN_LIMIT_EXCEEDED",
        )


# -- cost ---------------------------------------------------------------------------------------

NESTED_PAGES = """
    query($outer: Int, $inner: Int = 10) {
      items(first: $outer) { children(first: $outer) { children(first: $inner) { id } } }
    }
"""


async def test_cost_limit_uses_requested_page_sizes(
    test_app: Serve, app_database: Database
) -> None:
    async with test_app() as client:
        # 1 + 50 × (1 + 50 × (1 + 10 × 0)) = 2551
        ok = await accepted(
            client, app_database, {"query": NESTED_PAGES, "variables": {"outer": 50}}
        )
        # 1 + 100 × (1 + 100 × 1) = 10101
        payload = await refused(
            client,
            app_database,
            {"query": NESTED_PAGES, "variables": {"outer": 100}},
            "COST_LIMIT_EXCEEDED",
        )
    assert ok["extensions"]["cost"] == {"requested": 2551, "limit": 10_000}
    extensions = payload["errors"][0]["extensions"]
    assert extensions == {"code": "COST_LIMIT_EXCEEDED", "limit": 10_000, "requested": 10_101}
    assert "10101" in payload["errors"][0]["message"]


async def test_cost_defaults_absent_page_sizes_to_20(
    test_app: Serve, app_database: Database
) -> None:
    async with test_app() as client:
        payload = await accepted(client, app_database, {"query": "{ items { children { id } } }"})
        # `last`, literal and variable default values are read too.
        literal = await accepted(
            client, app_database, {"query": "{ items(last: 3) { parent { id } } }"}
        )
        defaulted = await accepted(
            client, app_database, {"query": NESTED_PAGES, "variables": {"outer": 2}}
        )
    assert payload["extensions"]["cost"]["requested"] == 1 + 20 * (1 + 20 * 0)
    assert literal["extensions"]["cost"]["requested"] == 1 + 3 * (1 + 0)
    assert defaulted["extensions"]["cost"]["requested"] == 1 + 2 * (1 + 2 * (1 + 10 * 0))


async def test_cost_cannot_overflow(test_app: Serve, app_database: Database) -> None:
    query = (
        "query($n: Int) { items(first: $n) " + "{ children(first: $n) " * 8 + "{ id }" + " }" * 9
    )
    async with test_app() as client:
        payload = await refused(
            client,
            app_database,
            {"query": query, "variables": {"n": 10**15}},
            "COST_LIMIT_EXCEEDED",
        )
    assert payload["errors"][0]["extensions"]["requested"] == CEILING


async def test_scalar_only_queries_cost_one(test_app: Serve, app_database: Database) -> None:
    async with test_app() as client:
        response = await post(client, {"query": "{ writes __typename }"})
    assert response.json()["extensions"] == {"cost": {"requested": 1, "limit": 10_000}}


async def test_cost_is_reported_by_the_real_schema(
    client: httpx.AsyncClient, app_database: Database
) -> None:
    with statements(app_database) as seen:
        response = await post(client, {"query": "{ chapters(first: 5) { edges { node { id } } } }"})
    assert response.status_code == 200, response.text
    assert seen
    assert response.json()["extensions"]["cost"] == {"requested": 1 + 5 * 2, "limit": 10_000}


# -- media type ---------------------------------------------------------------------------------


async def test_limit_refusals_are_200_under_application_json(
    test_app: Serve, app_database: Database
) -> None:
    async with test_app(graphql_max_depth=2) as client:
        with statements(app_database) as seen:
            response = await post(client, {"query": nested(3)}, JSON)
    assert response.status_code == 200
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] in LIMIT_CODES
    assert seen == []


@pytest.mark.parametrize(
    "setting", ["graphql_max_depth", "graphql_max_aliases", "graphql_max_cost"]
)
async def test_limits_are_configurable(
    test_app: Serve, app_database: Database, setting: str
) -> None:
    queries = {
        "graphql_max_depth": nested(3),
        "graphql_max_aliases": "{ a: items { id } b: items { id } }",
        "graphql_max_cost": "{ items(first: 3) { children(first: 3) { id } } }",
    }
    async with test_app(**{setting: 1}) as client:
        response = await post(client, {"query": queries[setting]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["limit"] == 1
