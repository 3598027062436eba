"""The `makesense-api` command line: serve, migrate, seed."""

import asyncio
import logging
from enum import StrEnum
from typing import Annotated, Any

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


async def rotate_client_secret(settings: Settings, client_id: str) -> str:
    """Give a confidential client a new secret, as the service; the old one keeps working for
    the configured grace."""
    from sqlmodel import select

    from makesense_api.authz.principal import Principal
    from makesense_api.context import Ctx
    from makesense_api.oauth import service as oauth_clients
    from makesense_api.oauth.models import OAuthClient

    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session:
            stmt = select(OAuthClient.id).where(OAuthClient.client_id == client_id)
            client_pk = (await session.exec(stmt)).first()
            if client_pk is None:
                raise typer.BadParameter(f"no client {client_id!r}", param_hint="CLIENT_ID")
            ctx = Ctx.of(session, Principal.system())
            rotated = await oauth_clients.rotate_secret(ctx, client_pk)
            await session.commit()
            until = rotated.view.previous_secret_expires_at
            previous = (
                f"the previous secret works until {until.isoformat()}"
                if until
                else "the previous secret no longer works"
            )
            return f"client_secret: {rotated.client_secret}  (shown once; store it now)\n{previous}"
    finally:
        await database.dispose()


@clients.command("rotate-secret")
def clients_rotate_secret(
    client_id: Annotated[str, typer.Argument(help="The client's public id (msc_…).")],
) -> None:
    """Replace a confidential client's secret and print the new one once."""
    from makesense_api.kit.errors import DomainError

    settings = get_settings()
    logs.configure(settings.log_level)
    try:
        typer.echo(asyncio.run(rotate_client_secret(settings, client_id)))
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None


async def purge_credentials(settings: Settings) -> str:
    """Delete expired codes and tokens past the retention, in committed batches."""
    from datetime import timedelta

    from makesense_api.kit.clock import utcnow
    from makesense_api.rest.idempotency import purge_expired_idempotency_keys, ttl_of
    from makesense_api.tokens.purge import purge_expired

    database = Database.from_settings(settings)
    keys = 0
    try:
        purged = await purge_expired(
            database.sessionmaker,
            retention=timedelta(seconds=settings.purge_retention_s),
            batch_size=settings.purge_batch_size,
        )
        now = utcnow()
        while True:
            async with database.sessionmaker() as session:
                done = await purge_expired_idempotency_keys(
                    session, now, ttl=ttl_of(settings), batch=settings.purge_batch_size
                )
                await session.commit()
            keys += done
            if done < settings.purge_batch_size:
                break
    finally:
        await database.dispose()
    return (
        f"purged {purged.codes} authorization codes, {purged.oauth_tokens} OAuth tokens, "
        f"{purged.personal_tokens} personal tokens, {keys} idempotency keys"
    )


@app.command()
def purge() -> None:
    """Delete expired authorization codes, expired or revoked tokens past the retention, and
    idempotency keys older than their 24 h."""
    settings = get_settings()
    logs.configure(settings.log_level)
    typer.echo(asyncio.run(purge_credentials(settings)))


def _clear_metrics_dir() -> None:
    """Empty `PROMETHEUS_MULTIPROC_DIR`: samples a previous run left there would be added in."""
    import os
    from pathlib import Path

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()


# Collections of the youngest generation run every 7,000 net allocations instead of 700: a
# request allocates thousands of short-lived objects, and most die with it.
GC_THRESHOLDS = (7000, 20, 100)


def served_app() -> Any:
    """The app for `serve` (a uvicorn factory), its heap frozen once started."""
    from makesense_api.app import app_from_env

    return frozen_after_startup(app_from_env())


def frozen_after_startup(served: Any) -> Any:
    """`served` (a Starlette app) whose startup ends by freezing the heap built so far
    (modules, schema, the engine) out of garbage collection, so the collector no longer walks
    those long-lived objects on every cycle, and by raising the youngest generation's
    threshold; objects made later are collected as ever."""
    import contextlib
    import gc
    from collections.abc import AsyncIterator

    startup = served.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with startup(app) as state:
            gc.collect()
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
            yield state

    served.router.lifespan_context = lifespan
    return served


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
    _clear_metrics_dir()
    uvicorn.run(
        "makesense_api.cli:served_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,
        proxy_headers=False,
        timeout_graceful_shutdown=settings.shutdown_grace_s,
    )


@app.command()
def worker() -> None:
    """Deliver webhooks: the dispatcher alone, for running it apart from the API processes."""
    from makesense_api.webhooks.dispatcher import work

    settings = get_settings()
    logs.configure(settings.log_level)
    asyncio.run(work(settings))


if __name__ == "__main__":
    app()
