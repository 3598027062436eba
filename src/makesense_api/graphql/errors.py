"""Typed mutation errors: every one implements `interface Error { code message }`.

Mutations return a union of their success payload and these types, so expected failures are
part of the schema. They are built from the same domain exceptions REST renders as problems.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, Union

import strawberry

from makesense_api.kit import errors as domain


@strawberry.interface(description="Something a mutation could not do, and why.")
class Error:
    code: str = strawberry.field(description="Stable machine-readable error code.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(name="FieldError", description="One invalid input field.")
class FieldErrorType:
    field: str = strawberry.field(description="Dotted path of the field in `input`.")
    message: str = strawberry.field(description="What is wrong with it.")


@strawberry.type(description="The input breaks a rule; `fields` names each offending field.")
class ValidationError(Error):
    fields: list[FieldErrorType] = strawberry.field(description="The invalid fields.")


@strawberry.type(description="The object does not exist, or the caller may not see it.")
class NotFoundError(Error):
    pass


@strawberry.type(description="The operation needs an identity: send a bearer token.")
class UnauthenticatedError(Error):
    pass


@strawberry.type(description="The caller may see the object but not do this.")
class ForbiddenError(Error):
    required_scope: str | None = strawberry.field(
        default=None, description="The token scope the operation needs, when one is missing."
    )


@strawberry.type(description="The request clashes with the current state of the object.")
class ConflictError(Error):
    pass


ERROR_TYPES: tuple[type, ...] = (
    ValidationError,
    NotFoundError,
    UnauthenticatedError,
    ForbiddenError,
    ConflictError,
)


def result_union(payload: type, name: str) -> Any:
    """`Payload | ValidationError | NotFoundError | …`: what a mutation returns."""
    members = (payload, *ERROR_TYPES)
    return Annotated[
        Union[members],  # noqa: UP007 - built from a tuple of types
        strawberry.union(name, description=f"{payload.__name__}, or why the mutation failed."),
    ]


def from_domain(exc: domain.DomainError) -> Error:
    """The typed error for a domain exception."""
    if isinstance(exc, domain.ValidationFailed):
        fields = [FieldErrorType(field=e.field, message=e.message) for e in exc.errors]
        return ValidationError(code=exc.code, message=exc.message, fields=fields)
    if isinstance(exc, domain.NotFound):
        return NotFoundError(code=exc.code, message=exc.message)
    if isinstance(exc, domain.Unauthenticated):
        return UnauthenticatedError(code=exc.code, message=exc.message)
    if isinstance(exc, domain.MissingScope):
        return ForbiddenError(code=exc.code, message=exc.message, required_scope=exc.scope)
    if isinstance(exc, domain.Forbidden):
        return ForbiddenError(code=exc.code, message=exc.message)
    return ConflictError(code=exc.code, message=exc.message)


T = TypeVar("T")


async def attempt(call: Callable[[], Awaitable[T]]) -> T | Error:
    """Run a mutation's service call; expected failures become typed errors.

    The service's savepoint has already undone its writes when the exception arrives here.
    """
    try:
        return await call()
    except domain.DomainError as exc:
        return from_domain(exc)
