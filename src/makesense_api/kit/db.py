"""One async engine per process, request-scoped sessions, and use-case savepoints.

SQLite is tuned for concurrent use: WAL, foreign keys, a busy timeout, and write transactions
that take the write lock up front (`BEGIN IMMEDIATE`), because a deferred read-to-write upgrade
fails with SQLITE_BUSY whatever the timeout. Read-only work (GET requests, GraphQL queries)
opens a deferred transaction so readers never queue behind writers.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import asyncpg.exceptions as asyncpg_errors  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.config import Settings

# Seconds a client is asked to wait (`Retry-After`) when the database cannot be reached.
RETRY_AFTER_S = 5
# How much longer than the server's statement_timeout the client waits for an answer, so that
# a statement on a connection that went silent fails instead of hanging the request.
COMMAND_TIMEOUT_MARGIN_S = 2.0

# Whether the transaction about to begin may write. Read by the SQLite BEGIN hook; defaults to
# True so that code outside a request (CLI, workers) never meets a lock-upgrade failure.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


_ASYNCPG_UNAVAILABLE = (
    asyncpg_errors.PostgresConnectionError,  # connection lost or refused by the server
    asyncpg_errors.OperatorInterventionError,  # shutting down, starting up, terminated
    asyncpg_errors.InterfaceError,  # the connection is closed
)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _tune_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below be the only one; pysqlite's own would be deferred.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def create_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    """The process's engine: a bounded pool on PostgreSQL, a tuned file on SQLite."""
    url = url or settings.database_url
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000},
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
        )
        _tune_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    engine = create_async_engine(
        url,
        hide_parameters=settings.environment == "production",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        connect_args={
            "server_settings": {"statement_timeout": str(settings.db_statement_timeout_ms)},
            "timeout": settings.db_pool_timeout,
            "command_timeout": settings.db_statement_timeout_ms / 1000 + COMMAND_TIMEOUT_MARGIN_S,
        },
    )
    _invalidate_when_lost(engine)
    return engine


# A connection the server dropped (restart, failover, idle kill) or whose socket failed; not a
# statement cancelled by `statement_timeout`, after which the connection is still sound.
_CONNECTION_LOST = (
    asyncpg_errors.PostgresConnectionError,
    asyncpg_errors.InterfaceError,
    asyncpg_errors.AdminShutdownError,
    asyncpg_errors.CannotConnectNowError,
    OSError,
)


def _invalidate_when_lost(engine: AsyncEngine) -> None:
    """Checkouts are not pinged first (a ping costs three round trips per transaction):
    instead, an error that says the connection is gone discards it and every connection
    pooled before it, so the next checkout connects afresh and one failed statement is all a
    server restart costs. SQLAlchemy already does this for the errors it recognises; this
    also covers the rest of asyncpg's connection errors."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def on_error(context: ExceptionContext) -> None:
        if context.is_disconnect:
            return
        seen: set[int] = set()
        current: BaseException | None = context.original_exception
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if isinstance(current, _CONNECTION_LOST):
                context.is_disconnect = True
                context.invalidate_pool_on_disconnect = True
                return
            current = current.__cause__ or current.__context__


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database cannot be reached now: connection
    refused or lost, server shutting down or starting up, no pooled connection in time, a
    connect or command timeout. Transports answer these 503 with `Retry-After`, never 500;
    errors of a statement itself (constraints, syntax) are not among them.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, PoolTimeout | OSError | TimeoutError):
            return True  # OSError covers ConnectionRefusedError and ConnectionResetError
        if isinstance(current, DBAPIError) and (
            current.connection_invalidated or isinstance(current, OperationalError | InterfaceError)
        ):
            return True
        if isinstance(current, _ASYNCPG_UNAVAILABLE):
            return True
        current = current.__cause__ or current.__context__
    return False


class SerialSession(AsyncSession):
    """A session that runs one database operation at a time.

    GraphQL resolves sibling fields concurrently, and an `AsyncSession` must never run two
    operations at once (it fails, or leaks a connection). Each operation here waits its turn
    on a per-session lock, so resolvers may share the request's session freely while batch
    loaders still collect their keys concurrently. Results are buffered, so a lock is held
    only for the round trip.
    """

    def _turn(self) -> asyncio.Lock:
        lock: asyncio.Lock | None = self.__dict__.get("_serial_lock")
        if lock is None:
            lock = self.__dict__["_serial_lock"] = asyncio.Lock()
        return lock

    if not TYPE_CHECKING:  # the parent's precise signatures stay visible to type checkers

        async def exec(self, *args, **kwargs):
            async with self._turn():
                return await super().exec(*args, **kwargs)

        async def execute(self, *args, **kwargs):
            async with self._turn():
                return await super().execute(*args, **kwargs)

        async def scalar(self, *args, **kwargs):
            async with self._turn():
                return await super().scalar(*args, **kwargs)

        async def scalars(self, *args, **kwargs):
            async with self._turn():
                return await super().scalars(*args, **kwargs)

        async def get(self, *args, **kwargs):
            async with self._turn():
                return await super().get(*args, **kwargs)

        async def flush(self, *args, **kwargs):
            async with self._turn():
                return await super().flush(*args, **kwargs)

        async def refresh(self, *args, **kwargs):
            async with self._turn():
                return await super().refresh(*args, **kwargs)

        async def delete(self, *args, **kwargs):
            async with self._turn():
                return await super().delete(*args, **kwargs)


def make_sessionmaker(engine: AsyncEngine, **kwargs: Any) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit and flush only when services ask."""
    return async_sessionmaker(
        engine, class_=SerialSession, expire_on_commit=False, autoflush=False, **kwargs
    )


class Database:
    """The engine and the session factory of one process (or one test)."""

    def __init__(self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]):
        self.engine = engine
        self.sessionmaker = sessionmaker

    @classmethod
    def from_settings(cls, settings: Settings, url: str | None = None) -> "Database":
        engine = create_engine(settings, url)
        return cls(engine, make_sessionmaker(engine))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def dispose(self) -> None:
        await self.engine.dispose()


@contextlib.asynccontextmanager
async def use_case(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Run one write use-case in a savepoint: if it raises, none of its writes remain.

    Services call this around every write so that a domain error turned into an ordinary
    response by a transport still leaves nothing behind in the request's transaction.
    """
    async with session.begin_nested():
        yield session
        await session.flush()


@contextlib.asynccontextmanager
async def unique_or(session: AsyncSession, error: Exception) -> AsyncIterator[None]:
    """Turn a unique-constraint race into `error` (a domain error) instead of a 5xx.

    Services check uniqueness first for a friendly message; two concurrent requests can both
    pass that check, and the database's constraint decides. The savepoint keeps the request's
    transaction usable after the failed insert.
    """
    try:
        async with session.begin_nested():
            yield
    except IntegrityError:
        raise error from None


async def serialize(session: AsyncSession, key: int) -> None:
    """Serialize a family of writes for the rest of the transaction.

    PostgreSQL takes a transaction-scoped advisory lock; SQLite needs nothing, since its write
    transactions already run one at a time (`BEGIN IMMEDIATE`).
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        await session.exec(select(sa.func.pg_advisory_xact_lock(key)))
