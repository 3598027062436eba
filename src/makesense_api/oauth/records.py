"""What Authlib reads and what it decides, as plain data: the meeting point of the two halves.

The asynchronous half (`exchange`) loads rows into these records before Authlib runs; the
synchronous half (`server`) answers Authlib's hooks from them and writes its decisions into the
`Exchange`, which the asynchronous half then applies. Nothing here touches the database.

The record classes implement, by duck typing, Authlib's `ClientMixin`,
`AuthorizationCodeMixin` and `TokenMixin`.
"""

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from makesense_api.oauth.models import ClientType, GrantType
from makesense_api.oauth.rules import redirect_uri_matches, secret_matches
from makesense_api.tokens.models import TokenKind

AUTH_METHODS_CONFIDENTIAL = ("client_secret_basic", "client_secret_post")
PUBLIC_ENDPOINTS = frozenset({"token", "revocation"})


def digest(value: str) -> str:
    """The hex SHA-256 under which codes and tokens are stored."""
    return hashlib.sha256(value.encode()).hexdigest()


def same_digest(stored: str, presented: str) -> bool:
    return hmac.compare_digest(stored, digest(presented))


@dataclass(frozen=True)
class Subject:
    """The signed-in person an authorization is for (Authlib's "user")."""

    person_id: uuid.UUID


@dataclass(frozen=True)
class ClientRecord:
    """A live client (not revoked, owner active). `previous_secret_hash` is set only while the
    secret replaced by the last rotation is still within its grace period."""

    pk: uuid.UUID
    client_id: str
    name: str
    owner_name: str
    client_type: str
    secret_hash: str | None
    chapter_id: uuid.UUID | None
    partner_id: uuid.UUID | None
    redirect_uris: tuple[str, ...]
    grant_types: frozenset[str]
    scopes: frozenset[str]
    reach: tuple[uuid.UUID, ...] | None
    previous_secret_hash: str | None = None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        # Every authorization request must name its redirect URI.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """Requested ∩ allowed; None (invalid_scope) when nothing is left or nothing asked."""
        granted = sorted(set((scope or "").split()) & self.scopes)
        return " ".join(granted) or None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_uri_matches(uri, redirect_uri) for uri in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        # Both comparisons run, so timing does not tell which secret matched.
        current = secret_matches(self.secret_hash, client_secret)
        previous = secret_matches(self.previous_secret_hash, client_secret)
        return current or previous

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client_type == ClientType.CONFIDENTIAL:
            return method in AUTH_METHODS_CONFIDENTIAL
        return method == "none" and endpoint in PUBLIC_ENDPOINTS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and GrantType.AUTHORIZATION_CODE in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == GrantType.CLIENT_CREDENTIALS:
            return (
                grant_type in self.grant_types
                and self.client_type == ClientType.CONFIDENTIAL
                and self.partner_id is not None
            )
        return grant_type in self.grant_types


@dataclass(frozen=True)
class CodeRecord:
    """A stored authorization code, whatever its state."""

    pk: uuid.UUID
    code_hash: str
    client_pk: uuid.UUID
    person_id: uuid.UUID
    person_active: bool
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    code_challenge_method: str
    family_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return " ".join(self.scopes)


@dataclass(frozen=True)
class TokenRecord:
    """A stored access or refresh token issued to a client, whatever its state."""

    pk: uuid.UUID
    kind: str
    token_hash: str
    client_id: str | None
    person_id: uuid.UUID | None
    partner_id: uuid.UUID | None
    subject_active: bool
    scopes: tuple[str, ...]
    family_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    now: datetime

    def check_client(self, client: ClientRecord) -> bool:
        return self.client_id is not None and self.client_id == client.client_id

    def get_scope(self) -> str:
        return " ".join(self.scopes)

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at - self.now).total_seconds()))

    def is_expired(self) -> bool:
        return self.expires_at <= self.now

    def is_revoked(self) -> bool:
        # An erased person's or an inactive partner's tokens are as good as revoked.
        return self.revoked_at is not None or not self.subject_active


@dataclass(frozen=True)
class NewCode:
    """An authorization code Authlib handed out; stored before the redirect is sent."""

    code: str = field(repr=False)
    client: ClientRecord
    person_id: uuid.UUID
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    code_challenge_method: str


@dataclass(frozen=True)
class TokenPlan:
    """Tokens Authlib decided to issue; made (and their plaintext filled in) afterwards."""

    client: ClientRecord
    person_id: uuid.UUID | None
    partner_id: uuid.UUID | None
    scopes: frozenset[str]
    refresh: bool
    family_id: uuid.UUID | None


@dataclass
class Exchange:
    """One request's rows for Authlib, and the decisions it took from them."""

    now: datetime
    clients: dict[str, ClientRecord] = field(default_factory=dict)
    code: CodeRecord | None = None
    token: TokenRecord | None = None
    # -- decisions ----------------------------------------------------------------------
    new_code: NewCode | None = None
    plan: TokenPlan | None = None
    consumed: CodeRecord | None = None
    rotated: TokenRecord | None = None
    revoked: TokenRecord | None = None
    # Set when a used code or a rotated refresh token comes back: its family is revoked.
    replayed_family: uuid.UUID | None = None
    replayed: bool = False

    def find_code(self, code: str, client: ClientRecord) -> CodeRecord | None:
        """The live code `code` of `client`; a used one is a replay (its family is revoked)."""
        found = self.code
        if found is None or not same_digest(found.code_hash, code):
            return None
        if found.client_pk != client.pk:
            return None
        if found.used_at is not None:
            self.replayed, self.replayed_family = True, found.family_id
            return None
        if found.expires_at <= self.now or not found.person_active:
            return None
        return found

    def find_refresh(self, token: str, client: ClientRecord) -> TokenRecord | None:
        """The live refresh token `token` of `client`; a revoked one is a replay."""
        found = self.find_token(token)
        if found is None or found.kind != TokenKind.REFRESH or not found.check_client(client):
            return None
        if found.revoked_at is not None:
            self.replayed, self.replayed_family = True, found.family_id
            return None
        if found.is_expired() or found.is_revoked():
            return None
        return found

    def find_token(self, token: str) -> TokenRecord | None:
        found = self.token
        if found is None or not same_digest(found.token_hash, token):
            return None
        return found
