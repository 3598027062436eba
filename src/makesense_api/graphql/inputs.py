"""Turning GraphQL inputs into the plain data services validate."""

import dataclasses
from typing import Any

import strawberry

from makesense_api.graphql.relay import expect_id


def given(value: object, *, rename: dict[str, str] | None = None) -> dict[str, Any]:
    """The fields of a strawberry input that the client actually set (UNSET ones dropped)."""
    rename = rename or {}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(value):  # type: ignore[arg-type]
        v = getattr(value, f.name)
        if v is strawberry.UNSET:
            continue
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            v = given(v)
        elif isinstance(v, list):
            v = [
                given(i) if dataclasses.is_dataclass(i) and not isinstance(i, type) else i
                for i in v
            ]
        out[rename.get(f.name, f.name)] = v
    return out


def ids_in(data: dict[str, Any], **kinds: str) -> dict[str, Any]:
    """Replace global IDs in `data` (field name → expected type) with UUIDs."""
    for name, type_name in kinds.items():
        if data.get(name) is not None:
            data[name] = expect_id(str(data[name]), type_name, name)
    return data
