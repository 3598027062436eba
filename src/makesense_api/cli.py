"""The `makesense-api` command line: serve, migrate, seed."""

import asyncio
import logging
from enum import StrEnum
from typing import Annotated

import typer

from makesense_api.config import Settings, get_settings
from makesense_api.kit import logs
from makesense_api.kit.db import Database

app = typer.Typer(help="makesense-api: the federation's headless API.", no_args_is_help=True)
log = logging.getLogger("makesense_api.cli")


class Size(StrEnum):
    LARGE = "large"


async def migrate_database(settings: Settings) -> str | None:
    """Bring the configured database to the newest migration; returns the revision."""
    from makesense_api.migrate import current_revision, upgrade_connection

    database = Database.from_settings(settings)
    try:
        async with database.engine.connect() as conn:
            await upgrade_connection(conn)
            await conn.commit()
            return await current_revision(conn)
    finally:
        await database.dispose()


async def seed_demo_if_empty(settings: Settings, force: bool = False) -> bool:
    """Load the demo network unless the database already holds chapters."""
    from makesense_api.authz.principal import Principal
    from makesense_api.context import Ctx
    from makesense_api.seed.demo import has_data, seed_demo

    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session:
            if not force and await has_data(session):
                return False
            await seed_demo(Ctx.of(session, Principal.system()))
            await session.commit()
            return True
    finally:
        await database.dispose()


async def seed_large_data(settings: Settings, scale: float) -> None:
    from rich.progress import Progress, TaskID

    from makesense_api.seed.large import seed_large

    database = Database.from_settings(settings)
    try:
        with Progress() as progress:
            tasks: dict[str, TaskID] = {}

            def report(label: str, done: int, total: int) -> None:
                if label not in tasks:
                    tasks[label] = progress.add_task(label, total=total)
                progress.update(tasks[label], completed=done)

            await seed_large(database, scale=scale, progress=report)
    finally:
        await database.dispose()


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    settings = get_settings()
    logs.configure(settings.log_level)
    revision = asyncio.run(migrate_database(settings))
    typer.echo(f"database at revision {revision}")


@app.command()
def seed(
    demo: Annotated[bool, typer.Option(help="Load the demo network.")] = False,
    size: Annotated[Size | None, typer.Option(help="Generate a benchmark-scale data set.")] = None,
    scale: Annotated[float, typer.Option(help="Multiply the large data set's counts.")] = 1.0,
    if_empty: Annotated[bool, typer.Option(help="Only when the database has no data.")] = False,
) -> None:
    """Load demo or benchmark data into the configured database."""
    settings = get_settings()
    logs.configure(settings.log_level)
    if demo:
        if if_empty and not settings.seed_demo_on_first_run:
            typer.echo("demo seeding on first run is disabled (MAKESENSE_SEED_DEMO_ON_FIRST_RUN)")
            return
        loaded = asyncio.run(seed_demo_if_empty(settings, force=not if_empty))
        typer.echo("demo data loaded" if loaded else "database already has data; demo skipped")
    elif size is Size.LARGE:
        asyncio.run(seed_large_data(settings, scale))
        typer.echo("large data set loaded")
    else:
        raise typer.BadParameter("choose --demo or --size large")


clients = typer.Typer(help="OAuth clients (bootstrapping; chapter admins use the API).")
app.add_typer(clients, name="clients")


async def create_client(settings: Settings, owner: str, data: dict[str, object]) -> str:
    """Register a client for a chapter (by slug) or a partner (by slug), as the service."""
    from sqlmodel import select

    from makesense_api.authz.principal import Principal
    from makesense_api.chapters import service as chapters
    from makesense_api.context import Ctx
    from makesense_api.oauth import service as oauth_clients
    from makesense_api.partners.models import PartnerOrganisation

    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session:
            ctx = Ctx.of(session, Principal.system())
            kind, _, slug = owner.partition(":")
            if kind == "chapter":
                data["chapter_id"] = await chapters.id_for_slug(ctx, slug)
            elif kind == "partner":
                stmt = select(PartnerOrganisation.id).where(PartnerOrganisation.slug == slug)
                partner_id = (await session.exec(stmt)).first()
                if partner_id is None:
                    raise typer.BadParameter(f"no partner {slug!r}", param_hint="--owner")
                data["partner_id"] = partner_id
            else:
                raise typer.BadParameter(
                    "use chapter:<slug> or partner:<slug>", param_hint="--owner"
                )
            created = await oauth_clients.create(ctx, data)
            await session.commit()
            lines = [f"client_id: {created.view.client_id}"]
            if created.client_secret:
                lines.append(f"client_secret: {created.client_secret}  (shown once; store it now)")
            return "\n".join(lines)
    finally:
        await database.dispose()


@clients.command("create")
def clients_create(
    owner: Annotated[str, typer.Option(help="chapter:<slug> or partner:<slug>.")],
    name: Annotated[str, typer.Option(help="Shown on the consent page.")],
    scope: Annotated[list[str], typer.Option(help="Allowed scope; repeat the option.")],
    grant: Annotated[list[str], typer.Option(help="Allowed grant type; repeat.")],
    redirect_uri: Annotated[
        list[str] | None, typer.Option(help="Exact redirect URI; repeat.")
    ] = None,
    public: Annotated[bool, typer.Option(help="A public client (mobile or browser app).")] = False,
) -> None:
    """Register an OAuth client and print its credentials once."""
    from makesense_api.kit.errors import DomainError

    settings = get_settings()
    logs.configure(settings.log_level)
    data: dict[str, object] = {
        "name": name,
        "client_type": "public" if public else "confidential",
        "redirect_uris": redirect_uri or [],
        "grant_types": grant,
        "scopes": scope,
    }
    try:
        typer.echo(asyncio.run(create_client(settings, owner, data)))
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the API with uvicorn."""
    import uvicorn

    settings = get_settings()
    logs.configure(settings.log_level)
    uvicorn.run(
        "makesense_api.app:app_from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,
        proxy_headers=False,
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    app()
