"""Query cost: what an operation may ask of the database, known before it runs.

The model follows GitHub's: every field returning an object costs 1, and a connection — any
field that takes `first` or `last` — multiplies the cost of its selection by the page size it
asks for (variables resolved; `default_page_size` when neither is given). Scalars are free,
and so are introspection fields. An operation costs at least 1.

    events(first: 50) { edges { node { registrations(first: 10) { edges { node { id } } } } } }
    = 1 + 50 × (edges 1 + node 1 + (1 + 10 × (edges 1 + node 1)))  = 1 + 50 × 23 = 1151

Page sizes above 100 are refused elsewhere (connections validate `first`/`last`), but the
arithmetic must not depend on it: sizes count as given, and totals saturate at `CEILING`, the
largest integer every JSON client reads exactly.

An operation over budget is refused with `extensions.code = COST_LIMIT_EXCEEDED` before any
resolver runs; every operation reports `extensions.cost = {requested, limit}`.

A cost depends only on the document, the operation and the variables that give page sizes,
so `CostCache` prices each (document, operation, page sizes) once.
"""

from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    is_interface_type,
    is_leaf_type,
    is_object_type,
)
from strawberry.extensions import SchemaExtension

from makesense_api.graphql.limits import LimitExceeded, is_introspection

COST_LIMIT_EXCEEDED = "COST_LIMIT_EXCEEDED"
CEILING = 2**53 - 1
PAGE_ARGUMENTS = ("first", "last")


class CostModel:
    """Prices one operation of a document against one schema, with the request's variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        default_page_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = dict(variables)
        self.default_page_size = default_page_size
        self._memo: dict[str, int] = {}
        self._active: set[str] = set()
        self.read: set[str] = set()  # variables that gave a page size
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if self.variables.get(name) is None and definition.default_value is not None:
                self.variables[name] = _literal_int(definition.default_value)

    def price(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                scope = self.schema.get_type(condition.name.value) if condition else parent
                total += self.price(selection.selection_set, scope)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._spread(selection)
        return min(total, CEILING)

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> int:
        definition = _field_definition(parent, node.name.value)
        if definition is None or is_introspection(node) or node.selection_set is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        inner = self.price(node.selection_set, named)
        if any(name in definition.args for name in PAGE_ARGUMENTS):
            inner *= self._page_size(node)
        return min(1 + inner, CEILING)

    def _spread(self, node: FragmentSpreadNode) -> int:
        name = node.name.value
        if name in self._memo:
            return self._memo[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self._active:
            return 0
        self._active.add(name)
        scope = self.schema.get_type(fragment.type_condition.name.value)
        self._memo[name] = self.price(fragment.selection_set, scope)
        self._active.discard(name)
        return self._memo[name]

    def _page_size(self, node: FieldNode) -> int:
        sizes = [
            size
            for argument in node.arguments or ()
            if argument.name.value in PAGE_ARGUMENTS
            and (size := self._int(argument.value)) is not None
        ]
        return max(sizes) if sizes else self.default_page_size

    def _int(self, value: ValueNode) -> int | None:
        if isinstance(value, VariableNode):
            self.read.add(value.name.value)
            return _as_int(self.variables.get(value.name.value))
        return _literal_int(value)


def _field_definition(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if is_object_type(parent) or is_interface_type(parent):
        fields: dict[str, GraphQLField] = parent.fields
        return fields.get(name)
    return None


def _literal_int(value: ValueNode) -> int | None:
    return max(int(value.value), 0) if isinstance(value, IntValueNode) else None


def _as_int(value: Any) -> int | None:
    """A page size from a variable; anything but a whole number is left to input coercion."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return max(value, 0) if isinstance(value, int) else None


def operation_cost(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    default_page_size: int,
) -> int:
    """The cost of the operation a request selects (0 when none can be selected)."""
    return _price(schema, document, operation_name, variables, default_page_size)[0]


def _price(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    default_page_size: int,
) -> tuple[int, tuple[str, ...]]:
    """The cost, and the names of the variables it depends on."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0, ()
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    model = CostModel(schema, operation, fragments, variables or {}, default_page_size)
    root = schema.get_root_type(operation.operation)
    return max(1, model.price(operation.selection_set, root)), tuple(sorted(model.read))


def _keyed(variables: Mapping[str, Any] | None, names: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The values of `names` as a key (their types too: 1, 1.0 and true price differently),
    or None when one cannot be a key."""
    values = tuple((variables or {}).get(name) for name in names)
    if not all(isinstance(v, Hashable) for v in values):
        return None
    return tuple((type(v), v) for v in values)


class CostCache:
    """Costs by (query text, operation name, values of the page-size variables), bounded.

    Each document remembers which variables its page sizes read; a request with other values
    for them is priced anew. Values that cannot be keyed (objects, lists) are never cached.
    """

    def __init__(self, maxsize: int = 512, per_document: int = 16) -> None:
        self.maxsize = maxsize
        self.per_document = per_document
        self._documents: OrderedDict[tuple[str, str | None], tuple[tuple[str, ...], dict[
            tuple[Any, ...], int]]] = OrderedDict()

    def cost(
        self,
        schema: GraphQLSchema,
        query: str | None,
        document: Any,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        default_page_size: int,
    ) -> int:
        if query is None or self.maxsize <= 0:
            return operation_cost(schema, document, operation_name, variables, default_page_size)
        key = (query, operation_name)
        known = self._documents.get(key)
        values: tuple[Any, ...] | None = None
        if known is not None:
            self._documents.move_to_end(key)
            names, costs = known
            values = _keyed(variables, names)
            if values is not None and values in costs:
                return costs[values]
        cost, names = _price(schema, document, operation_name, variables, default_page_size)
        values = _keyed(variables, names)
        if values is None:
            return cost
        if known is None or known[0] != names:
            known = (names, {})
            self._documents[key] = known
            while len(self._documents) > self.maxsize:
                self._documents.popitem(last=False)
        if len(known[1]) < self.per_document:
            known[1][values] = cost
        return cost


class CostLimit(SchemaExtension):
    """Refuse operations over budget before execution; report the cost of every operation."""

    def __init__(self, limit: int, default_page_size: int, cache: CostCache | None = None) -> None:
        self.limit = limit
        self.default_page_size = default_page_size
        self.cache = cache or CostCache(maxsize=0)
        self.requested: int | None = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        self.requested = self.cache.cost(
            context.schema._schema,
            context.query,
            context.graphql_document,
            context.operation_name,
            context.variables,
            self.default_page_size,
        )
        check(self.requested, self.limit)
        yield

    def get_results(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        return {"cost": {"requested": self.requested, "limit": self.limit}}


def check(requested: int, limit: int) -> None:
    """Refuse an operation that costs more than `limit`."""
    if requested > limit:
        raise LimitExceeded(
            COST_LIMIT_EXCEEDED,
            f"The operation costs {requested}; the limit is {limit}. "
            "Ask for smaller pages (first/last) or fewer nested connections.",
            limit,
            requested=requested,
        )
