"""The schema extensions every operation passes through, whatever the transport.

    PresentErrors           mask unexpected errors, render domain codes   (masking.py)
    the schema's own extensions
    AddValidationRules      depth, aliases, introspection depth/toggle    (limits.py)
    TokenLimitedParserCache parse once per distinct document, bounded     (limits.py)
    ValidationCache         validate once per distinct document           (strawberry)
    TransactionIntent       BEGIN for queries, BEGIN IMMEDIATE for mutations (SQLite)
    CostLimit               refuse over-budget operations, report the cost; each distinct
                            (document, operation, page sizes) is priced once (cost.py)

`PresentErrors` comes first so that it sees the errors last.
"""

from collections.abc import Callable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, SchemaExtension, ValidationCache
from strawberry.types.graphql import OperationType

from makesense_api.config import Settings
from makesense_api.graphql.cost import CostCache, CostLimit
from makesense_api.graphql.limits import TokenLimitedParserCache, validation_rules
from makesense_api.graphql.masking import PresentErrors
from makesense_api.kit.db import write_intent


class TransactionIntent(SchemaExtension):
    """Tell the database kit whether the request's transaction will write, before it begins.

    Runs once the document is parsed (the operation type is known) and before validation and
    execution, so before any resolver can issue the first statement. The flag stays set for
    the rest of the request; the transaction middleware resets it.
    """

    def on_validate(self) -> Iterator[None]:
        try:
            operation = self.execution_context.operation_type
        except RuntimeError:  # no operation to run: nothing will be executed
            operation = None
        if operation is not None:
            write_intent.set(operation is OperationType.MUTATION)
        yield


def _silent(errors: list[GraphQLError], execution_context: Any = None) -> None:
    """Strawberry logs every error; masking logs the unexpected ones once, with the request id."""


def install(schema: strawberry.Schema, settings: Settings) -> CostCache:
    """Add the guards to a freshly built schema (the view owns the schema it is given); the
    cost cache they price operations with (compiled plans share it)."""
    rules = validation_rules(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        introspection=settings.graphql_introspection,
    )
    size = settings.graphql_document_cache_size
    costs = CostCache(maxsize=size)
    guards: tuple[Callable[[], SchemaExtension], ...] = (
        lambda: AddValidationRules(list(rules)),
        lambda: TokenLimitedParserCache(size, settings.graphql_max_tokens),
        lambda: ValidationCache(maxsize=size),
        TransactionIntent,
        lambda: CostLimit(settings.graphql_max_cost, settings.graphql_default_page_size, costs),
    )
    schema.extensions = (PresentErrors, *schema.extensions, *guards)
    schema.process_errors = _silent  # type: ignore[method-assign]
    return costs
