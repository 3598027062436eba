"""Admission of a GraphQL operation: its cost charged to the caller's rate-limit budgets before
it runs, and its outcome counted in the metrics.

The cost is the one graphql/cost.py computes (the same cache, so the cost guard that runs next
finds it priced). A document that does not parse, or cannot be priced (it will fail validation),
costs 1; so does one over the cost limit, which the cost guard refuses without running it.
"""

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode, parse
from starlette.types import Scope

from makesense_api.config import Settings
from makesense_api.graphql.cost import CostCache
from makesense_api.ops import metrics, ratelimit


@dataclass
class Admission:
    """One admitted operation: what the limiter said, and when it started."""

    operation: str | None
    verdict: ratelimit.Verdict | None
    started: float = field(default_factory=time.perf_counter)

    def extensions(self) -> dict[str, Any]:
        """`extensions.rateLimit` of the response, when a limit applies."""
        return {"rateLimit": self.verdict.extension()} if self.verdict is not None else {}

    def finish(self, failed: bool) -> None:
        outcome = "error" if failed else "ok"
        metrics.observe_graphql(self.operation, outcome, time.perf_counter() - self.started)


class Pricing:
    """Price documents before they run, with the cost guard's cache."""

    def __init__(self, schema: GraphQLSchema, costs: CostCache, settings: Settings) -> None:
        self.schema = schema
        self.costs = costs
        self.max_cost = settings.graphql_max_cost
        self.page_size = settings.graphql_default_page_size
        max_tokens = settings.graphql_max_tokens

        @lru_cache(maxsize=max(1, settings.graphql_document_cache_size))
        def document(query: str) -> DocumentNode:
            return parse(query, max_tokens=max_tokens)

        self.document = document

    def price(
        self, query: str | None, operation_name: str | None, variables: dict[str, Any] | None
    ) -> int:
        if query is None:
            return 1
        try:
            cost = self.costs.cost(
                self.schema,
                query,
                self.document(query),
                operation_name,
                variables,
                self.page_size,
            )
        except Exception:  # unparsable or invalid: refused before running, at the base price
            return 1
        return cost if 1 <= cost <= self.max_cost else 1

    def operation_of(self, query: str | None) -> str | None:
        """The name of the document's only operation (what runs without `operationName`)."""
        try:
            document = self.document(query) if query is not None else None
        except Exception:
            return None
        definitions = getattr(document, "definitions", ())
        operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].name is None:
            return None
        return operations[0].name.value

    async def admit(
        self,
        scope: Scope,
        query: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> Admission:
        """Charge the operation's cost; raises ratelimit.RateLimited when over a budget."""
        operation_name = operation_name or self.operation_of(query)
        try:
            verdict = await ratelimit.charge(scope, self.price(query, operation_name, variables))
        except ratelimit.RateLimited:
            metrics.observe_graphql(operation_name, "refused", 0.0)
            raise
        return Admission(operation_name, verdict)
