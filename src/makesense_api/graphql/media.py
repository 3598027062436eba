"""Media types of GraphQL over HTTP: which response type to send, which request type to read.

Responses: `application/graphql-response+json` (preferred) or `application/json`, chosen from
`Accept` with quality values (RFC 9110 §12.5.1). The most specific matching range sets a type's
quality; equal qualities go to the preferred type. A missing or empty `Accept`, like `*/*`,
yields `application/graphql-response+json`: the spec's rule for servers since its 2025
watershed (later editions let the server choose, and this is the type it prefers).

Requests: a POST body must be `application/json` (UTF-8, the only charset allowed).
"""

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
RESPONSE_TYPES = (GRAPHQL_RESPONSE_JSON, JSON)
MAX_ACCEPT_RANGES = 32
_UTF8 = frozenset({"utf-8", "utf8"})


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """`type/subtype` in lowercase and its parameters (names lowercased, quotes removed)."""
    head, *rest = value.split(";")
    params: dict[str, str] = {}
    for item in rest:
        name, _, param = item.partition("=")
        if name.strip():
            params[name.strip().lower()] = param.strip().strip('"')
    return head.strip().lower(), params


def _quality(params: dict[str, str]) -> float:
    try:
        return min(max(float(params.get("q", "1")), 0.0), 1.0)
    except ValueError:
        return 0.0


def _specificity(media_range: str, candidate: str) -> int:
    """3 exact, 2 `type/*`, 1 `*/*`, 0 no match."""
    if media_range == candidate:
        return 3
    if media_range == "*/*":
        return 1
    kind, _, subtype = media_range.partition("/")
    return 2 if subtype == "*" and candidate.startswith(kind + "/") else 0


def negotiate(accept: str | None) -> str | None:
    """The response media type for an `Accept` header; None when neither is acceptable."""
    if accept is None or not accept.strip():
        return GRAPHQL_RESPONSE_JSON
    ranges = [parse_media_type(part) for part in accept.split(",")[:MAX_ACCEPT_RANGES]]
    best, best_quality = None, 0.0
    for candidate in RESPONSE_TYPES:
        matches = [
            (_specificity(media_range, candidate), _quality(params))
            for media_range, params in ranges
            if params.get("charset", "utf-8").lower() in _UTF8
        ]
        specific = max((m for m in matches if m[0]), default=None)
        if specific is not None and specific[1] > best_quality:
            best, best_quality = candidate, specific[1]
    return best


def is_json_request(content_type: str | None) -> bool:
    """Whether a POST body is declared as UTF-8 JSON."""
    if not content_type:
        return False
    media_type, params = parse_media_type(content_type)
    return media_type == JSON and params.get("charset", "utf-8").lower() in _UTF8
