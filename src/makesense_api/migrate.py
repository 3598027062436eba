"""Apply and inspect Alembic migrations from async code, over a connection we own."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    """The project's Alembic configuration (migrations/ next to src/)."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["configure_logger"] = False
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_connection(connection: AsyncConnection) -> None:
    """Migrate the database behind `connection` to head (the caller commits)."""
    await connection.run_sync(_upgrade)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(connection: AsyncConnection) -> str | None:
    return await connection.run_sync(_current)
