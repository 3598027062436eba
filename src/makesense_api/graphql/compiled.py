"""Compiled execution of hot query documents: the same resolvers, without the generic walk.

graphql-core executes a document by walking its AST for every object of the result: it
collects the fields of each object anew, builds a resolve-info per field, dispatches on the
field's type and wraps every value in error handling. Across a page of 50 events that walk
costs more than the database. Here a query document that has already run through the full
path (parse, every validation rule, every schema extension) without an error, twice, is
compiled into a plan — one closure per field, with fields collected, fragments merged and
types dispatched once — and later requests with the same text and operation name run the
plan.

What stays exactly the same:

- every field is resolved by the resolver strawberry built for it (`GraphQLField.resolve`),
  with coerced arguments and a full resolve-info: the same services, the same authorization,
  the same loaders, the same per-request context;
- the guards: the document's parse and validation outcome is the one it had (same text, same
  schema, same rules); the operation's cost is computed for each request's variables and an
  operation over budget is handed to the full path, which refuses it; queries run in a read
  transaction (`TransactionIntent`); the response carries `extensions.cost`;
- variables are coerced by graphql-core.

What is compiled: queries whose selections are fields, inline fragments and fragment spreads
without directives, returning scalars, enums, object types and lists of them (`__typename`
included; interfaces, unions and introspection are not). Anything else stays on the full path.

Whenever a run meets anything but plain data — a resolver raising, a null where the schema says
non-null, a value a scalar cannot serialize, variables that do not coerce — the plan gives up
(`Fallback`) once every started resolver has settled, and the request runs again on the full
path with a fresh context, which produces the errors exactly as before. Only queries are
compiled, so running again changes nothing. An unexpected exception (a bug, the database) is
logged before the full path runs, so its cause is never lost; after a database error the read
transaction is rolled back first, as a failed statement leaves it unusable on PostgreSQL.
"""

import asyncio
import inspect
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from inspect import CORO_CREATED
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    parse,
    type_from_ast,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.pyutils import Path, Undefined, is_awaitable
from sqlalchemy.exc import SQLAlchemyError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo
from strawberry.types import ExecutionResult
from strawberry.types.field import StrawberryField

from makesense_api.graphql.cost import CostCache, check
from makesense_api.kit.db import write_intent
from makesense_api.kit.errors import DomainError

Completer = Callable[[Any, Path, "Run"], Any]
# Hot documents are small: larger ones stay on the full path, so plans stay small in memory.
MAX_QUERY_CHARS = 16_384
MAX_FIELDS = 500
DEFINITION_BACKREF = "strawberry-definition"  # where strawberry keeps a field's definition
# Values that are never awaitable: checked by type first, the generic check is slower.
PLAIN: frozenset[type] = frozenset(
    {str, int, float, bool, type(None), datetime, date, time, uuid.UUID, Decimal}
)


class Unsupported(Exception):
    """The document has a shape the compiler leaves to the full path."""


class Fallback(Exception):
    """This run met something other than plain data; the full path must answer."""

    @property
    def error(self) -> BaseException | None:
        """The exception that made the run give up (a resolver's), if any."""
        cause = self.__cause__
        while isinstance(cause, Fallback):
            cause = cause.__cause__
        return cause

    @property
    def unexpected(self) -> bool:
        """A resolver failed otherwise than with a domain or GraphQL error (a bug, the
        database): the full path will mask it, so its cause is worth logging here."""
        error = self.error
        return error is not None and not isinstance(error, (DomainError, GraphQLError))

    @property
    def database(self) -> bool:
        """The database failed: the transaction may be unusable until rolled back."""
        return isinstance(self.error, SQLAlchemyError)


@dataclass(eq=False)
class FieldPlan:
    key: str  # the response key: alias or name
    name: str
    nodes: list[FieldNode]
    definition: GraphQLField | None  # None for __typename
    parent: GraphQLObjectType
    resolve: Callable[..., Any] | None
    # A strawberry field without a resolver of its own reads an attribute: `read(source, attr)`
    # is exactly what its `resolve` does, minus two calls.
    read: Callable[[Any, str], Any] | None
    attr: str
    arguments: bool  # takes arguments (coerced once per run)
    leaf: bool  # completes to a scalar or enum (no path needed)
    complete: Completer = field(default=lambda value, path, run: value)


@dataclass(eq=False)
class ObjectPlan:
    type: GraphQLObjectType
    fields: list[FieldPlan]


@dataclass(eq=False)
class Plan:
    """One operation of one document, compiled."""

    document: Any
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    root: ObjectPlan


class Compiler:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema = schema
        self.fragments = fragments
        self.fields = 0

    def object_plan(self, type_: GraphQLObjectType, nodes: list[FieldNode]) -> ObjectPlan:
        grouped: dict[str, list[FieldNode]] = {}
        for node in nodes:
            if node.selection_set is not None:
                self._collect(type_, node.selection_set, grouped, set())
        return ObjectPlan(type_, [self.field_plan(type_, k, v) for k, v in grouped.items()])

    def root_plan(self, type_: GraphQLObjectType, selection_set: SelectionSetNode) -> ObjectPlan:
        grouped: dict[str, list[FieldNode]] = {}
        self._collect(type_, selection_set, grouped, set())
        return ObjectPlan(type_, [self.field_plan(type_, k, v) for k, v in grouped.items()])

    def _collect(
        self,
        type_: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        spread: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise Unsupported("directives")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection.type_condition, type_):
                    self._collect(type_, selection.selection_set, grouped, spread)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in spread:
                    raise Unsupported("unknown or cyclic fragment")
                if self._applies(fragment.type_condition, type_):
                    self._collect(type_, fragment.selection_set, grouped, spread | {name})
            else:
                raise Unsupported("selection kind")

    def _applies(self, condition: Any, type_: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        conditional = type_from_ast(self.schema, condition)
        if conditional is type_:
            return True
        if is_abstract_type(conditional):
            return self.schema.is_sub_type(conditional, type_)
        return False

    def field_plan(self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> FieldPlan:
        self.fields += 1
        if self.fields > MAX_FIELDS:
            raise Unsupported("too large")
        name = nodes[0].name.value
        if name == "__typename":
            type_name = parent.name
            return FieldPlan(key, name, nodes, None, parent, None, None, name, False, True,
                             lambda value, path, run: type_name)
        if name.startswith("__"):
            raise Unsupported("introspection")
        definition = parent.fields.get(name)
        if definition is None:
            raise Unsupported(f"unknown field {parent.name}.{name}")
        resolve = definition.resolve
        read: Callable[[Any, str], Any] | None = None
        attr = name
        origin = (definition.extensions or {}).get(DEFINITION_BACKREF)
        if (
            resolve is not None
            and getattr(resolve, "__name__", "") == "_get_basic_result"
            and isinstance(origin, StrawberryField)
            and origin.base_resolver is None
        ):
            read, attr = origin.default_resolver, origin.python_name
        return FieldPlan(
            key, name, nodes, definition, parent, resolve, read, attr, bool(definition.args),
            is_leaf_type(get_named_type(definition.type)), self.completer(definition.type, nodes),
        )

    def completer(self, type_: GraphQLOutputType, nodes: list[FieldNode]) -> Completer:
        if is_non_null_type(type_):
            inner = self.completer(type_.of_type, nodes)

            def non_null(value: Any, path: Path, run: "Run") -> Any:
                if value is None:
                    raise Fallback("null for a non-null field")
                return inner(value, path, run)

            return non_null
        if is_list_type(type_):
            item = self.completer(type_.of_type, nodes)

            def as_list(value: Any, path: Path, run: "Run") -> Any:
                if value is None:
                    return None
                if isinstance(value, (str, bytes, Mapping)):
                    raise Fallback("not a list")
                items: list[Any] = []
                pending: list[tuple[int, Awaitable[Any]]] = []
                for index, element in enumerate(value):
                    done = item(element, Path(path, index, None), run)
                    if is_awaitable(done):
                        pending.append((index, done))
                    items.append(done)
                if not pending:
                    return items
                return run.track(run.fill(items, pending))

            return as_list
        if is_leaf_type(type_):
            serialize = type_.serialize

            def leaf(value: Any, path: Path, run: "Run") -> Any:
                if value is None:
                    return None
                if type(value) not in PLAIN and is_awaitable(value):
                    raise Fallback("awaitable leaf")
                try:
                    serialized = serialize(value)
                except Exception as error:
                    raise Fallback("serialization") from error
                if serialized is Undefined or serialized is None:
                    raise Fallback("serialization")
                return serialized

            return leaf
        if is_object_type(type_):
            object_type = type_
            plan = self.object_plan(object_type, nodes)
            is_type_of = object_type.is_type_of

            def as_object(value: Any, path: Path, run: "Run") -> Any:
                if value is None:
                    return None
                if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
                    raise Fallback("is_type_of")
                return run.execute(plan, value, path)

            return as_object
        raise Unsupported(f"type {type_}")


def compile_plan(schema: GraphQLSchema, query: str, operation_name: str | None) -> Plan:
    """The plan of a query; raises Unsupported for documents left to the full path."""
    document = parse(query)
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        raise Unsupported("not a query")
    if operation.directives:
        raise Unsupported("directives")
    for definition in operation.variable_definitions or ():
        if definition.directives:
            raise Unsupported("directives")
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = schema.query_type
    if root is None:
        raise Unsupported("no query type")
    compiler = Compiler(schema, fragments)
    return Plan(document, operation, fragments, compiler.root_plan(root, operation.selection_set))


class Run:
    """One execution of a plan: the request's context, variables and coerced arguments."""

    def __init__(
        self,
        schema: GraphQLSchema,
        plan: Plan,
        context: Any,
        variables: VariableValues,
        operation_extensions: dict[str, Any] | None,
    ) -> None:
        self.schema = schema
        self.plan = plan
        self.context = context
        self.variables = variables
        self.operation_extensions = operation_extensions
        self._arguments: dict[int, dict[str, Any]] = {}
        self._made: list[Any] = []  # coroutines made during the run (closed if never started)

    def track(self, awaitable: Any) -> Any:
        self._made.append(awaitable)
        return awaitable

    def abandon(self) -> None:
        """Close the coroutines a failed run made but never started (no stray warnings)."""
        for made in self._made:
            if inspect.iscoroutine(made) and inspect.getcoroutinestate(made) == CORO_CREATED:
                made.close()

    def arguments(self, plan: FieldPlan) -> dict[str, Any]:
        found = self._arguments.get(id(plan))
        if found is None:
            assert plan.definition is not None
            try:
                found = get_argument_values(plan.definition, plan.nodes[0], self.variables)
            except GraphQLError as error:
                raise Fallback("arguments") from error
            self._arguments[id(plan)] = found
        return found

    def info(self, plan: FieldPlan, path: Path) -> Any:
        assert plan.definition is not None
        return _OperationContextAwareGraphQLResolveInfo(
            plan.name,
            plan.nodes,
            plan.definition.type,
            plan.parent,
            path,
            self.schema,
            self.plan.fragments,
            None,
            self.plan.operation,
            self.variables.coerced,
            self.context,
            is_awaitable,
            None,
            None,
            self.operation_extensions or {},
        )

    def execute(self, plan: ObjectPlan, source: Any, path: Path | None) -> Any:
        """The object's result map, or an awaitable of it while resolvers are pending."""
        result: dict[str, Any] = {}
        pending: list[tuple[str, Awaitable[Any]]] = []
        typename = plan.type.name
        for f in plan.fields:
            if f.definition is None:  # __typename
                result[f.key] = typename
                continue
            try:
                if f.read is not None:
                    value = f.read(source, f.attr)
                    if f.leaf and type(value) in PLAIN:
                        result[f.key] = f.complete(value, path, self)  # type: ignore[arg-type]
                        continue
                    here = Path(path, f.key, typename)
                else:
                    here = Path(path, f.key, typename)
                    kwargs = self.arguments(f) if f.arguments else {}
                    info = self.info(f, here)
                    value = (f.resolve or _default_resolve)(source, info, **kwargs)
            except Fallback:
                raise
            except Exception as error:
                raise Fallback("resolver") from error
            if is_awaitable(value):
                self.track(value)
                pending.append((f.key, self.track(self._resolved(value, f.complete, here))))
                result[f.key] = None
                continue
            done = f.complete(value, here, self)
            if is_awaitable(done):
                pending.append((f.key, done))
            result[f.key] = done
        if not pending:
            return result
        return self.track(self._settle(result, pending))

    async def _resolved(self, value: Awaitable[Any], complete: Completer, path: Path) -> Any:
        try:
            resolved = await value
        except Exception as error:
            raise Fallback("resolver") from error
        done = complete(resolved, path, self)
        if is_awaitable(done):
            return await done
        return done

    async def _settle(
        self, result: dict[str, Any], pending: list[tuple[str, Awaitable[Any]]]
    ) -> dict[str, Any]:
        if len(pending) == 1:
            key, awaitable = pending[0]
            result[key] = await awaitable
            return result
        values = await _gather([a for _, a in pending])
        for (key, _), value in zip(pending, values, strict=True):
            result[key] = value
        return result

    async def fill(self, items: list[Any], pending: list[tuple[int, Awaitable[Any]]]) -> list[Any]:
        values = await _gather([a for _, a in pending])
        for (index, _), value in zip(pending, values, strict=True):
            items[index] = value
        return items


async def _gather(awaitables: list[Awaitable[Any]]) -> list[Any]:
    """Await all together (loaders batch across them); once all have settled, give up if one
    failed, so that no resolver is still running when the full path starts."""
    values = await asyncio.gather(*awaitables, return_exceptions=True)
    for value in values:
        if isinstance(value, Exception):
            raise Fallback("resolver") from value
        if isinstance(value, BaseException):
            raise value
    return values


def _default_resolve(source: Any, info: Any, **_: Any) -> Any:
    name = info.field_name
    if isinstance(source, Mapping):
        return source.get(name)
    value = getattr(source, name, None)
    return value(info) if callable(value) else value


UNSUPPORTED = object()


class Plans:
    """Compiled plans by (query text, operation name), bounded; plus the cost guard they need.

    A document is compiled once it has run twice on the full path without errors (`learn`), so
    only documents that parse and pass every validation rule, and come back, are compiled.
    """

    # Extensions whose effect a plan run reproduces (see the module docstring); with any other
    # extension on the schema, nothing is compiled.
    KNOWN = frozenset(
        {
            "PresentErrors",
            "AddValidationRules",
            "TokenLimitedParserCache",
            "ValidationCache",
            "TransactionIntent",
            "CostLimit",
        }
    )

    def __init__(
        self,
        schema: strawberry.Schema,
        maxsize: int,
        max_cost: int,
        default_page_size: int,
        costs: CostCache,
    ) -> None:
        self.schema = schema
        self.maxsize = maxsize
        self.max_cost = max_cost
        self.default_page_size = default_page_size
        self.costs = costs
        self._plans: OrderedDict[tuple[str, str | None], Any] = OrderedDict()
        self._seen: OrderedDict[tuple[str, str | None], bool] = OrderedDict()  # ran once
        self.enabled = maxsize > 0 and self._extensions_known()

    def _extensions_known(self) -> bool:
        for make in self.schema.extensions:
            extension = make() if not isinstance(make, SchemaExtension) else make
            if type(extension).__name__ not in self.KNOWN:
                return False
            if type(extension)._implements_resolve():
                return False
        return True

    def learn(self, query: str | None, operation_name: str | None) -> None:
        """Count a run of a document on the full path without errors; compile it at the
        second. Large documents are never compiled (nor remembered)."""
        if not self.enabled or query is None or len(query) > MAX_QUERY_CHARS:
            return
        key = (query, operation_name)
        if key in self._plans:
            return
        if self._seen.pop(key, None) is None:
            self._seen[key] = True
            while len(self._seen) > self.maxsize:
                self._seen.popitem(last=False)
            return
        try:
            plan: Any = compile_plan(self.schema._schema, query, operation_name)
        except Unsupported:
            plan = UNSUPPORTED
        except Exception:  # a document the compiler cannot read stays on the full path
            plan = UNSUPPORTED
        self._plans[key] = plan
        while len(self._plans) > self.maxsize:
            self._plans.popitem(last=False)

    def known(self, query: str | None, operation_name: str | None) -> bool:
        return query is not None and (query, operation_name) in self._plans

    async def run(
        self,
        query: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Any,
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult | None:
        """The result of the compiled plan, or None when the document has none; raises
        Fallback when the full path must answer (with a fresh context)."""
        if not self.enabled or query is None:
            return None
        key = (query, operation_name)
        plan = self._plans.get(key)
        if plan is None or plan is UNSUPPORTED:
            return None
        self._plans.move_to_end(key)
        schema = self.schema._schema
        cost = self.costs.cost(
            schema, query, plan.document, operation_name, variables, self.default_page_size
        )
        try:
            check(cost, self.max_cost)
        except GraphQLError:
            raise Fallback("over budget") from None
        coerced = get_variable_values(
            schema, plan.operation.variable_definitions or (), variables or {}, max_errors=1
        )
        if isinstance(coerced, list):
            raise Fallback("variables")
        write_intent.set(False)  # a query: the read transaction `TransactionIntent` would pick
        run = Run(schema, plan, context, coerced, operation_extensions)
        try:
            data = run.execute(plan.root, None, None)
            if is_awaitable(data):
                data = await data
        except BaseException:  # a fallback, or the request cancelled
            run.abandon()
            raise
        return ExecutionResult(
            data=data, errors=None, extensions={"cost": {"requested": cost, "limit": self.max_cost}}
        )
