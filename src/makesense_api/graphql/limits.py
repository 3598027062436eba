"""Static limits checked before anything runs: tokens, depth and aliases.

Each refusal is a GraphQL error whose `extensions.code` names the limit:

    TOKEN_LIMIT_EXCEEDED   the parser stops after `max_tokens` lexical tokens (or as many comments)
    DEPTH_LIMIT_EXCEEDED   fields nested more than `max_depth` levels (fragments expanded)
    ALIAS_LIMIT_EXCEEDED   more than `max_aliases` aliased fields once fragments are expanded

Depth and aliases are validation rules, so their verdict is cached with the rest of validation.
Introspection subtrees (`__schema`, `__type`) do not count toward depth: they are resolved from
memory, and graphql-core's `MaxIntrospectionDepthRule`, added here, bounds their recursion.
Fragment expansion is memoised, so a document that spreads fragments exponentially is measured
in linear time.
"""

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from graphql.validation import MaxIntrospectionDepthRule, NoSchemaIntrospectionCustomRule
from graphql.validation.rules import ASTValidationRule
from strawberry.extensions import ParserCache

DEPTH_LIMIT_EXCEEDED = "DEPTH_LIMIT_EXCEEDED"
ALIAS_LIMIT_EXCEEDED = "ALIAS_LIMIT_EXCEEDED"
TOKEN_LIMIT_EXCEEDED = "TOKEN_LIMIT_EXCEEDED"  # noqa: S105 - an error code

Fragments = dict[str, FragmentDefinitionNode]


class LimitExceeded(GraphQLError):
    """A request refused by a limit; `extensions` carry the code, the limit and what was asked."""

    def __init__(self, code: str, message: str, limit: int, **details: Any) -> None:
        super().__init__(message, extensions={"code": code, "limit": limit, **details})


def is_introspection(field: FieldNode) -> bool:
    return field.name.value.startswith("__")


def spread_fragment(
    spread: FragmentSpreadNode, fragments: Fragments, active: set[str]
) -> FragmentDefinitionNode | None:
    """The fragment a spread names, or None when unknown or already being expanded (a cycle)."""
    name = spread.name.value
    return None if name in active else fragments.get(name)


def depth(selection_set: SelectionSetNode, cap: int, fragments: Fragments) -> int:
    """How deep the selections nest, counting at most `cap` levels (so recursion stays short)."""
    memo: dict[tuple[str, int], int] = {}
    active: set[str] = set()

    def walk(node: SelectionSetNode, cap: int) -> int:
        deepest = 0
        for selection in node.selections:
            if deepest >= cap:
                break
            if isinstance(selection, FieldNode):
                if is_introspection(selection):
                    continue
                below = walk(selection.selection_set, cap - 1) if selection.selection_set else 0
                deepest = max(deepest, 1 + below)
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, walk(selection.selection_set, cap))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, spread(selection, cap))
        return min(deepest, cap)

    def spread(node: FragmentSpreadNode, cap: int) -> int:
        key = (node.name.value, cap)
        if key not in memo:
            fragment = spread_fragment(node, fragments, active)
            if fragment is None:
                return 0
            active.add(key[0])
            memo[key] = walk(fragment.selection_set, cap)
            active.discard(key[0])
        return memo[key]

    return walk(selection_set, cap)


def aliases(selection_set: SelectionSetNode, fragments: Fragments) -> int:
    """Aliased fields the operation resolves, each fragment counted once per spread."""
    memo: dict[str, int] = {}
    active: set[str] = set()

    def walk(node: SelectionSetNode) -> int:
        total = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += selection.alias is not None
                total += walk(selection.selection_set) if selection.selection_set else 0
            elif isinstance(selection, InlineFragmentNode):
                total += walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += spread(selection)
        return total

    def spread(node: FragmentSpreadNode) -> int:
        name = node.name.value
        if name not in memo:
            fragment = spread_fragment(node, fragments, active)
            if fragment is None:
                return 0
            active.add(name)
            memo[name] = walk(fragment.selection_set)
            active.discard(name)
        return memo[name]

    return walk(selection_set)


def document_fragments(rule: ValidationRule) -> Fragments:
    return {
        definition.name.value: definition
        for definition in rule.context.document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def depth_rule(max_depth: int) -> type[ValidationRule]:
    class MaxDepthRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            try:
                measured = depth(node.selection_set, max_depth + 1, document_fragments(self))
            except RecursionError:
                measured = max_depth + 1
            if measured > max_depth:
                self.report_error(
                    LimitExceeded(
                        DEPTH_LIMIT_EXCEEDED,
                        f"The operation nests fields more than {max_depth} levels deep.",
                        max_depth,
                    )
                )

    return MaxDepthRule


def alias_rule(max_aliases: int) -> type[ValidationRule]:
    class MaxAliasesRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            try:
                counted = aliases(node.selection_set, document_fragments(self))
            except RecursionError:
                counted = max_aliases + 1
            if counted > max_aliases:
                self.report_error(
                    LimitExceeded(
                        ALIAS_LIMIT_EXCEEDED,
                        f"The operation uses {counted} aliases; the limit is {max_aliases}.",
                        max_aliases,
                        requested=counted,
                    )
                )

    return MaxAliasesRule


def validation_rules(
    *, max_depth: int, max_aliases: int, introspection: bool
) -> tuple[type[ASTValidationRule], ...]:
    """The rules added to the specified ones; build them once so validation stays cacheable."""
    rules: list[type[ASTValidationRule]] = [
        MaxIntrospectionDepthRule,
        depth_rule(max_depth),
        alias_rule(max_aliases),
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


class TokenLimitedParserCache(ParserCache):
    """Strawberry's parser cache, with the parser stopping at `max_tokens` (and as many comments).

    The parser reports the limit as a syntax error; it is re-raised with its own code.
    """

    def __init__(self, maxsize: int, max_tokens: int) -> None:
        super().__init__(maxsize=maxsize)
        self.max_tokens = max_tokens

    def on_operation(self) -> Iterator[None]:
        options: dict[str, Any] = self.execution_context.parse_options  # type: ignore[assignment]
        options["max_lexical_tokens"] = self.max_tokens
        options["max_comments"] = self.max_tokens
        yield

    def on_parse(self) -> Iterator[None]:
        try:
            yield from super().on_parse()
        except GraphQLSyntaxError as error:
            if " contains more than " not in error.message:
                raise
            raise LimitExceeded(
                TOKEN_LIMIT_EXCEEDED,
                f"The document has more than {self.max_tokens} tokens.",
                self.max_tokens,
            ) from None
