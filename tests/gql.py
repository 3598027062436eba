"""Run GraphQL operations against the real schema inside the test transaction."""

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from makesense_api.authz.principal import Principal
from makesense_api.context import Ctx
from makesense_api.graphql.context import GraphQLContext
from makesense_api.graphql.schema import schema


async def run(
    session: AsyncSession,
    query: str,
    variables: dict[str, Any] | None = None,
    principal: Principal | None = None,
    languages: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Execute and return `data`; fail loudly on GraphQL errors."""
    result = await execute(session, query, variables, principal, languages)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def execute(
    session: AsyncSession,
    query: str,
    variables: dict[str, Any] | None = None,
    principal: Principal | None = None,
    languages: tuple[str, ...] = (),
) -> Any:
    request = Request({"type": "http", "method": "POST", "headers": [], "path": "/graphql"})
    ctx = Ctx.of(session, principal or Principal.anonymous(), languages)
    return await schema.execute(
        query, variable_values=variables, context_value=GraphQLContext(request=request, ctx=ctx)
    )


@contextlib.contextmanager
def count_statements(session: AsyncSession) -> Iterator[list[str]]:
    """Collect the SQL statements the session's engine runs inside the block."""
    statements: list[str] = []
    engine = session.bind.engine.sync_engine  # type: ignore[union-attr]

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
