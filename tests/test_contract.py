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
