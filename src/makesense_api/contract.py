"""Export the contract artifacts committed under schema/ (and, with the REST surface, openapi/).

`make schema` rewrites them from the code; the test suite fails when the committed copies
drift, and names every breaking change to the GraphQL schema.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDL_PATH = ROOT / "schema" / "schema.graphql"
OPENAPI_PATH = ROOT / "openapi" / "openapi.json"


def graphql_sdl() -> str:
    """The schema's SDL as strawberry prints it (stable: types appear in definition order)."""
    from makesense_api.graphql.schema import build_schema

    return build_schema().as_str() + "\n"


def openapi_json() -> str:
    """The REST surface's OpenAPI document, as `GET /openapi.json` serves it."""
    from makesense_api.rest import all_operations
    from makesense_api.rest.openapi import document, text

    return text(document(all_operations()).document)


def main() -> int:
    for path, content in ((SDL_PATH, graphql_sdl()), (OPENAPI_PATH, openapi_json())):
        path.parent.mkdir(exist_ok=True)
        path.write_text(content)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
