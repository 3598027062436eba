"""Publish the domain events of a transaction once it has committed, and never otherwise.

`relay_commits(database, broker)` marks the sessions of `database` with the broker. In such
a session, every flush notes the `DomainEvent` rows it inserted; when the outermost transaction
commits, those still in the session are published, in order, as `Change`s. A savepoint that
rolls back expunges its rows, so they are not published; a rolled-back transaction publishes
nothing. The listeners are plain SQLAlchemy session events: they see every request, whichever
transport or middleware commits it.
"""

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from makesense_api.kit.db import Database
from makesense_api.kit.models import DomainEvent
from makesense_api.live.broker import Broker
from makesense_api.live.changes import Change

BROKER = "makesense_api.live.broker"
PENDING = "makesense_api.live.pending"
RELAYED_PREFIXES = ("event.", "registration.")


def _change(row: DomainEvent) -> Change:
    event_id = (row.payload or {}).get("event_id")
    return Change(row.type, row.chapter_id, uuid.UUID(event_id) if event_id else None)


def _after_flush(session: Session, _context: Any) -> None:
    if BROKER not in session.info:
        return
    rows = [
        row
        for row in session.new
        if isinstance(row, DomainEvent) and row.type.startswith(RELAYED_PREFIXES)
    ]
    if rows:
        session.info.setdefault(PENDING, []).extend(rows)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the transaction goes on
        return
    rows: list[DomainEvent] = session.info.pop(PENDING, [])
    broker: Broker | None = session.info.get(BROKER)
    committed = [row for row in rows if row in session]
    if broker is not None and committed:
        broker.publish([_change(row) for row in committed])


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back (a commit has already taken its rows)
        session.info.pop(PENDING, None)


def _listen() -> None:
    for name, listener in (
        ("after_flush", _after_flush),
        ("after_commit", _after_commit),
        ("after_transaction_end", _after_transaction_end),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def relay_commits(database: Database, broker: Broker) -> Callable[[], None]:
    """From now on, sessions of `database` publish what they commit to `broker`; returns the
    function that stops it."""
    _listen()
    previous = dict(database.sessionmaker.kw.get("info") or {})
    database.sessionmaker.configure(info={**previous, BROKER: broker})
    return lambda: database.sessionmaker.configure(info=previous)
