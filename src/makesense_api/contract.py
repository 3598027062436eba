"""Export the contract artifacts committed under schema/ (and, with the REST surface, openapi/).

`make schema` rewrites them from the code; the test suite fails when the committed copies
drift, and names every breaking change to the GraphQL schema.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDL_PATH = ROOT / "schema" / "schema.graphql"


def graphql_sdl() -> str:
    """The schema's SDL as strawberry prints it (stable: types appear in definition order)."""
    from makesense_api.graphql.schema import build_schema

    return build_schema().as_str() + "\n"


def main() -> int:
    SDL_PATH.parent.mkdir(exist_ok=True)
    SDL_PATH.write_text(graphql_sdl())
    print(f"wrote {SDL_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
