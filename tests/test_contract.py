"""The committed contract matches the code."""

from graphql import build_schema as parse_sdl
from graphql import find_breaking_changes

from makesense_api.contract import SDL_PATH, graphql_sdl


def test_committed_sdl_has_no_breaking_change_against_the_code() -> None:
    committed = parse_sdl(SDL_PATH.read_text())
    current = parse_sdl(graphql_sdl())
    breaking = [f"{c.type.name}: {c.description}" for c in find_breaking_changes(committed, current)]
    assert breaking == [], "breaking changes; if deliberate, run `make schema` and commit"


def test_committed_sdl_matches_the_code() -> None:
    assert SDL_PATH.read_text() == graphql_sdl(), "schema drifted: run `make schema` and commit"


def test_every_type_field_and_argument_is_described() -> None:
    from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

    from makesense_api.graphql.schema import build_schema

    schema = build_schema()._schema
    missing: list[str] = []
    for name, type_ in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not type_.description:
            missing.append(name)
        if isinstance(type_, GraphQLObjectType | GraphQLInputObjectType):
            for field_name, field in type_.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
        if isinstance(type_, GraphQLEnumType):
            continue
    assert missing == []
