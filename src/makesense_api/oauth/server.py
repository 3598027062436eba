"""The Authlib adapter: the synchronous half of the authorization server.

Authlib's hooks are synchronous. Here they never do I/O: every hook answers from the records
the asynchronous half preloaded into an `Exchange` (the client, the code, the token) and writes
its decisions back into it (a code to store, tokens to issue, a code consumed, a refresh token
rotated, a token revoked, a replay detected). The endpoint then applies those decisions in the
request's own session and transaction (`exchange.settle`). Authlib's own work is a few hashes
and comparisons, so running it inline costs the event loop microseconds.

A `Server` is built per request around that request's `Exchange`; building one is cheap.

Policy beyond Authlib's defaults:
- PKCE with S256 for every client at the authorization endpoint, and a verifier for every
  code redemption (`plain` and a missing challenge are refused);
- the authorization response carries `iss` (RFC 9207), error redirects included;
- refresh tokens are issued only for `offline_access`, and rotate on every use;
- client credentials are for confidential partner clients; their tokens never carry the
  person-only scopes.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from authlib.oauth2 import AuthorizationServer  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    InvalidRequestError,
    InvalidScopeError,
    grants,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]
from authlib.oauth2.rfc7662 import IntrospectionEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc9207 import IssuerParameter  # type: ignore[import-untyped]

from makesense_api.authz.principal import ALL_SCOPES, Scope
from makesense_api.oauth.models import GrantType
from makesense_api.oauth.records import (
    AUTH_METHODS_CONFIDENTIAL,
    ClientRecord,
    CodeRecord,
    Exchange,
    NewCode,
    Subject,
    TokenPlan,
    TokenRecord,
)
from makesense_api.oauth.rules import PERSON_SCOPES
from makesense_api.oauth.wrappers import OAuthRequest, Outcome

AUTH_METHODS = [*AUTH_METHODS_CONFIDENTIAL, "none"]
S256 = "S256"


@dataclass(frozen=True)
class ServerConfig:
    issuer: str
    access_ttl: timedelta
    refresh_ttl: timedelta
    code_ttl: timedelta


# -- PKCE, grants and endpoints -----------------------------------------------------------


class S256Challenge(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client, S256 only (RFC 9700 §2.1.1)."""

    DEFAULT_CODE_CHALLENGE_METHOD = S256
    SUPPORTED_CODE_CHALLENGE_METHOD = [S256]

    def validate_code_challenge(self, grant: Any, redirect_uri: Any) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send 'code_challenge' (S256).")
        if data.get("code_challenge_method") != S256:
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    @property
    def exchange(self) -> Exchange:
        return self.server.exchange  # type: ignore[no-any-return]

    def save_authorization_code(self, code: str, request: OAuthRequest) -> None:
        data = request.payload.data
        self.exchange.new_code = NewCode(
            code=code,
            client=request.client,
            person_id=request.user.person_id,
            redirect_uri=data["redirect_uri"],
            scopes=tuple(request.scope.split()),
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
        )

    def query_authorization_code(self, code: str, client: ClientRecord) -> CodeRecord | None:
        return self.exchange.find_code(code, client)

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        self.exchange.consumed = authorization_code

    def authenticate_user(self, authorization_code: CodeRecord) -> Subject:
        return Subject(authorization_code.person_id)


class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every refresh token is good for one use

    def authenticate_refresh_token(self, refresh_token: str) -> TokenRecord | None:
        exchange: Exchange = self.server.exchange
        return exchange.find_refresh(refresh_token, self.request.client)

    def authenticate_user(self, refresh_token: TokenRecord) -> Subject | None:
        return None if refresh_token.person_id is None else Subject(refresh_token.person_id)

    def revoke_old_credential(self, refresh_token: TokenRecord) -> None:
        self.server.exchange.rotated = refresh_token


class ClientCredentials(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS_CONFIDENTIAL)


def _require_token(request: OAuthRequest) -> None:
    # The hint is only a hint (RFC 7009 §2.1, RFC 7662 §2.1): an unknown one is ignored.
    if not request.form.get("token"):
        raise InvalidRequestError("Missing 'token'.")


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009; public clients may revoke their own tokens."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def check_params(self, request: OAuthRequest, client: ClientRecord) -> None:
        _require_token(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRecord | None:
        return self.server.exchange.find_token(token_string)  # type: ignore[no-any-return]

    def revoke_token(self, token: TokenRecord, request: OAuthRequest) -> None:
        self.server.exchange.revoked = token


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662 for confidential clients, about the tokens issued to them."""

    CLIENT_AUTH_METHODS = list(AUTH_METHODS_CONFIDENTIAL)

    def check_params(self, request: OAuthRequest, client: ClientRecord) -> None:
        _require_token(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRecord | None:
        return self.server.exchange.find_token(token_string)  # type: ignore[no-any-return]

    def check_permission(
        self, token: TokenRecord, client: ClientRecord, request: OAuthRequest
    ) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: TokenRecord) -> dict[str, Any]:
        subject = token.person_id or token.partner_id
        claims: dict[str, Any] = {
            "active": True,
            "scope": token.get_scope(),
            "client_id": token.client_id,
            "sub": str(subject),
            "iss": self.server.config.issuer,
            "exp": int(token.expires_at.timestamp()),
            "iat": int(token.created_at.timestamp()),
        }
        if token.kind == "access":
            claims["token_type"] = "Bearer"  # noqa: S105 - a token type
        return claims


class Issuer(IssuerParameter):  # type: ignore[misc]
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


# -- the server ---------------------------------------------------------------------------


class Server(AuthorizationServer):  # type: ignore[misc]
    """Authlib's authorization server bound to one request's `Exchange`."""

    def __init__(self, exchange: Exchange, config: ServerConfig) -> None:
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self.exchange = exchange
        self.config = config
        self.issuer = Issuer(config.issuer)
        self.register_token_generator("default", self.plan_tokens)
        self.register_grant(CodeGrant, [S256Challenge(required=True)])
        self.register_grant(RefreshGrant)
        self.register_grant(ClientCredentials)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        self.register_extension(self.issuer)

    def query_client(self, client_id: str) -> ClientRecord | None:
        return self.exchange.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuthRequest) -> None:
        """Tokens are made after Authlib returns, from `exchange.plan`."""

    def create_oauth2_request(self, request: OAuthRequest) -> OAuthRequest:
        return request

    def handle_response(
        self, status: int, body: dict[str, Any] | str, headers: Iterable[tuple[str, str]]
    ) -> Outcome:
        return Outcome(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals: the endpoints log what they apply."""

    def add_issuer(self, outcome: Outcome) -> Outcome:
        """`iss` on a redirect built outside `create_authorization_response`."""
        self.issuer.add_issuer_parameter(self, outcome)
        return outcome

    def plan_tokens(
        self,
        grant_type: str,
        client: ClientRecord,
        user: Subject | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """Authlib's token generator: decide what to issue, issue nothing yet."""
        asked = set((scope or "").split())
        if grant_type == GrantType.CLIENT_CREDENTIALS:
            allowed = client.scopes - PERSON_SCOPES
            scopes = (asked or allowed) & allowed
        else:
            scopes = asked & client.scopes
        if not scopes:
            raise InvalidScopeError()
        family = None
        if grant_type == GrantType.AUTHORIZATION_CODE and self.exchange.code is not None:
            family = self.exchange.code.family_id
        elif grant_type == GrantType.REFRESH_TOKEN and self.exchange.token is not None:
            family = self.exchange.token.family_id
        self.exchange.plan = TokenPlan(
            client=client,
            person_id=None if user is None else user.person_id,
            partner_id=client.partner_id if user is None else None,
            scopes=frozenset(scopes),
            refresh=user is not None
            and include_refresh_token
            and Scope.OFFLINE_ACCESS in scopes,
            family_id=family,
        )
        return {
            "token_type": "Bearer",
            "expires_in": int(self.config.access_ttl.total_seconds()),
            "scope": " ".join(sorted(scopes)),
        }
