"""Input parsing shared by services: pydantic errors become field errors."""

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from makesense_api.kit.errors import FieldError, ValidationFailed

M = TypeVar("M", bound=BaseModel)


class Input(BaseModel):
    """Base of every service input: unknown fields are errors, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def parse(model: type[M], data: Any) -> M:
    """Validate `data` into `model` or raise `ValidationFailed` naming each bad field."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            [
                FieldError(".".join(str(p) for p in err["loc"]) or "input", err["msg"])
                for err in exc.errors()
            ]
        ) from None


def raise_if(errors: list[FieldError | None]) -> None:
    """Raise one `ValidationFailed` carrying every non-empty error."""
    real = [e for e in errors if e is not None]
    if real:
        raise ValidationFailed(real)


def null_errors(data: BaseModel, required: tuple[str, ...]) -> list[FieldError]:
    """Explicit nulls for fields that cannot be cleared are input errors, not "unchanged"."""
    return [
        FieldError(name, "cannot be null")
        for name in required
        if name in data.model_fields_set and getattr(data, name) is None
    ]
