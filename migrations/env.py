"""Alembic environment: one set of migrations for SQLite and PostgreSQL, run over asyncio.

The URL comes from `MAKESENSE_DATABASE_URL` unless a caller passes a live connection in
`config.attributes["connection"]` (the app and the tests migrate over their own connection).
"""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from makesense_api.config import get_settings
from makesense_api.kit.db import Database
from makesense_api.models import metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    database = Database.from_settings(get_settings())
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await database.dispose()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
    else:
        asyncio.run(run_async())


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
main()
