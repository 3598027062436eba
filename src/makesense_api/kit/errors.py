"""The domain exceptions every service raises and every transport renders.

    DomainError
     ├── NotFound            the object does not exist or the caller may not see it
     ├── Unauthenticated     the operation needs an identity and none was given
     ├── Forbidden           the caller sees the object but may not do this
     │    └── MissingScope   the token lacks the scope the operation needs
     ├── ValidationFailed    input breaks a rule; carries the offending fields
     └── Conflict            the request clashes with the current state
          └── CapacityFull   no seat left and no waitlist

No transport (HTTP, GraphQL) is imported here: transports map these classes to their own
error shapes.
"""

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every expected error; `code` is stable and machine-readable."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!s} not found")
        self.kind = kind


class Unauthenticated(DomainError):
    code = "unauthenticated"

    def __init__(self, message: str = "authentication required") -> None:
        super().__init__(message)


class Forbidden(DomainError):
    code = "forbidden"


class MissingScope(Forbidden):
    code = "insufficient_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"the token lacks the scope {scope!r}")
        self.scope = scope


@dataclass(frozen=True)
class FieldError:
    """One invalid input field: a dotted path and what is wrong with it."""

    field: str
    message: str


class ValidationFailed(DomainError):
    code = "validation_failed"

    def __init__(self, errors: list[FieldError] | FieldError) -> None:
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))

    @classmethod
    def on(cls, field: str, message: str) -> "ValidationFailed":
        """One-field shorthand."""
        return cls(FieldError(field, message))


class Conflict(DomainError):
    code = "conflict"


class CapacityFull(Conflict):
    code = "capacity_full"
