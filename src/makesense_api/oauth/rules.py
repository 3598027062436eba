"""The rules an OAuth client's registration must keep (RFC 9700), and its secret's storage.

- redirect URIs are absolute, without fragment, user info or wildcard: `https`, or `http` on a
  loopback IP literal, or (public clients only, for native apps) a private-use scheme in
  reverse-domain form; the authorization endpoint compares them exactly, except that a
  loopback URI accepts any port (RFC 8252 §7.3: a native app listens on whatever port the
  system gives it); `localhost` is not a loopback IP literal and gets no such leniency;
- `client_credentials` is for confidential, partner-owned clients (the partner is the
  principal); `refresh_token` goes with `authorization_code` and with `offline_access`;
- the person-only scopes (`profile`, `offline_access`) need the authorization code grant.

A confidential client's secret is 256 random bits; only its SHA-256 is stored, and presented
secrets are compared in constant time.
"""

import hashlib
import hmac
import re
from urllib.parse import urlsplit

from makesense_api.authz.principal import ALL_SCOPES, Scope
from makesense_api.kit.errors import FieldError
from makesense_api.oauth.models import ClientType, GrantType

MAX_REDIRECT_URI = 500
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})
# Scopes that only make sense for a person signing in.
PERSON_SCOPES = frozenset({Scope.PROFILE, Scope.OFFLINE_ACCESS})
# http, a loopback IP literal, an optional port, then the path and query (no user info, no
# fragment): the only shape whose port may differ from the registered one.
_LOOPBACK_URI = re.compile(r"http://(127\.0\.0\.1|\[::1\])(?::([0-9]{1,5}))?([/?][^#]*)?")


def hash_secret(secret: str) -> str:
    """What the table stores: the hex SHA-256 of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret_hash: str | None, secret: str) -> bool:
    """Constant-time check of a presented secret against a stored hash."""
    return secret_hash is not None and hmac.compare_digest(secret_hash, hash_secret(secret))


def redirect_uri_matches(registered: str, presented: str) -> bool:
    """Whether a redirect URI presented at authorization time names a registered one.

    Exact comparison, character for character; the one exception (RFC 8252 §7.3) is a
    registered `http` URI on 127.0.0.1 or [::1], which matches the same scheme, host, path and
    query on any port. Nothing else is normalised: no case folding, no default ports, no
    trailing slashes, and `localhost` is compared exactly.
    """
    if presented == registered:
        return True
    want = _LOOPBACK_URI.fullmatch(registered)
    got = _LOOPBACK_URI.fullmatch(presented)
    if want is None or got is None:
        return False
    port = got.group(2)
    if port is not None and not 0 < int(port) <= 65535:
        return False
    return want.group(1) == got.group(1) and (want.group(3) or "") == (got.group(3) or "")


def redirect_uri_error(uri: str, client_type: str) -> str | None:
    """Why `uri` cannot be registered, or None."""
    if len(uri) > MAX_REDIRECT_URI:
        return f"must be at most {MAX_REDIRECT_URI} characters"
    if not uri.isascii() or any(c.isspace() or ord(c) < 32 or c == "*" for c in uri):
        return "must be ASCII, without spaces or wildcards"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "not a valid URI"
    if parts.fragment or "#" in uri:
        return "must not contain a fragment"
    if "@" in parts.netloc:
        return "must not contain user info"
    if parts.scheme == "https":
        return None if parts.hostname else "needs a host"
    if parts.scheme == "http":
        if parts.hostname in LOOPBACK_HOSTS:
            return None
        return "http is allowed only on a loopback IP literal (127.0.0.1 or [::1])"
    if "." in parts.scheme and not parts.netloc:
        if client_type == ClientType.PUBLIC:
            return None
        return "private-use schemes are for public (native) clients"
    return "use https, a loopback http URI, or a reverse-domain private-use scheme"


def redirect_errors(uris: list[str], client_type: str, grants: set[str]) -> list[FieldError]:
    errors = [
        FieldError(f"redirect_uris.{i}", reason)
        for i, uri in enumerate(uris)
        if (reason := redirect_uri_error(uri, client_type))
    ]
    if GrantType.AUTHORIZATION_CODE in grants and not uris:
        errors.append(FieldError("redirect_uris", "the authorization code grant needs one"))
    if uris and GrantType.AUTHORIZATION_CODE not in grants:
        errors.append(FieldError("redirect_uris", "only the authorization code grant uses them"))
    return errors


def grant_errors(
    client_type: str, partner_owned: bool, grant_types: list[str]
) -> list[FieldError]:
    grants = set(grant_types)
    errors = [
        FieldError(f"grant_types.{i}", f"{g!r} is not a supported grant type")
        for i, g in enumerate(grant_types)
        if g not in set(GrantType)
    ]
    if GrantType.CLIENT_CREDENTIALS in grants and (
        client_type != ClientType.CONFIDENTIAL or not partner_owned
    ):
        errors.append(
            FieldError("grant_types", "client_credentials is for confidential partner clients")
        )
    if GrantType.REFRESH_TOKEN in grants and GrantType.AUTHORIZATION_CODE not in grants:
        errors.append(FieldError("grant_types", "refresh_token needs authorization_code"))
    return errors


def scope_errors(scopes: list[str], grants: set[str]) -> list[FieldError]:
    errors = [
        FieldError(f"scopes.{i}", f"{s!r} is not a scope")
        for i, s in enumerate(scopes)
        if s not in ALL_SCOPES
    ]
    if (Scope.OFFLINE_ACCESS in scopes) != (GrantType.REFRESH_TOKEN in grants):
        errors.append(FieldError("scopes", "offline_access goes with the refresh_token grant"))
    if GrantType.AUTHORIZATION_CODE not in grants and PERSON_SCOPES & set(scopes):
        errors.append(FieldError("scopes", "profile and offline_access need a signed-in person"))
    return errors
