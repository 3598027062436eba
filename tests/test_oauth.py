"""The OAuth 2 authorization server over HTTP: the code flow with PKCE through the sign-in and
consent pages, client credentials, refresh rotation, revocation, introspection, metadata, and
the RFC 9700 refusals."""

import base64
import hashlib
import html
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.app import create_app
from makesense_api.authz.principal import ALL_SCOPES
from makesense_api.chapters.schemas import ChapterView
from makesense_api.config import Settings
from makesense_api.graphql.relay import to_global_id
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import Database
from makesense_api.oauth import exchange
from makesense_api.oauth.browser import COOKIE
from makesense_api.oauth.models import AuthorizationCode, Consent
from makesense_api.oauth.records import Exchange
from makesense_api.oauth.server import Server, ServerConfig
from makesense_api.oauth.throttle import MemoryThrottle
from makesense_api.oauth.wrappers import OAuthRequest
from makesense_api.people import accounts
from makesense_api.tokens.models import AccessToken
from tests.factories import Factory

Tree = dict[str, ChapterView]
REDIRECT = "https://app.example.org/callback"
ISSUER = "http://testserver"
PASSWORD = "correct horse battery staple"
VIEWER = "{ viewer { anonymous scopes clientId partnerId reach } }"


@pytest.fixture(autouse=True)
def _plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test client speaks http://testserver; production runs behind TLS.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


@dataclass(frozen=True)
class Someone:
    person_id: uuid.UUID
    email: str


@pytest.fixture
async def alice(factory: Factory, tree: Tree) -> Someone:
    email = f"alice-{uuid.uuid4().hex[:8]}@example.org"
    view = await accounts.sign_up(factory.ctx, email, PASSWORD, "Alice")
    return Someone(view.person_id, email)


@dataclass(frozen=True)
class App:
    client_id: str
    secret: str | None = None


@pytest.fixture
async def app(factory: Factory, tree: Tree) -> App:
    """Paris's mobile app: a public client."""
    created = await factory.oauth_client(chapter=tree["paris"])
    return App(created.view.client_id)


@pytest.fixture
async def site(factory: Factory, tree: Tree) -> App:
    """Paris's web site: a confidential client that keeps people signed in."""
    created = await factory.oauth_client(
        chapter=tree["paris"],
        client_type="confidential",
        grant_types=["authorization_code", "refresh_token"],
        scopes=["profile", "events:read", "offline_access"],
    )
    return App(created.view.client_id, created.client_secret)


# -- helpers ------------------------------------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(client_id: str, challenge: str | None, **params: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "profile events:read",
        "state": "af0ifjsldkj",
    }
    if challenge is not None:
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return "/oauth/authorize?" + urlencode({**query, **params})


def form_of(page: httpx.Response) -> tuple[str, str]:
    """The form's action URL and CSRF token."""
    action = re.search(r'action="([^"]+)"', page.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert action and csrf, page.text
    return html.unescape(action.group(1)), html.unescape(csrf.group(1))


def redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


async def sign_in(http: httpx.AsyncClient, url: str, who: Someone) -> httpx.Response:
    """From the authorization URL through the sign-in page (unless already signed in);
    returns what the authorization URL answers then."""
    page = await http.get(url)
    if page.status_code != 200 or 'name="password"' not in page.text:
        return page
    action, csrf = form_of(page)
    done = await http.post(
        action, data={"csrf": csrf, "action": "login", "email": who.email, "password": PASSWORD}
    )
    assert done.status_code == 303, done.text
    return await http.get(done.headers["location"])


async def consent_to(http: httpx.AsyncClient, page: httpx.Response, choice: str = "allow") -> Any:
    assert page.status_code == 200 and "Allow access?" in page.text, page.text
    action, csrf = form_of(page)
    return await http.post(action, data={"csrf": csrf, "action": choice})


async def code_for(
    http: httpx.AsyncClient, client: App, who: Someone, challenge: str, **params: str
) -> str:
    page = await sign_in(http, authorize_url(client.client_id, challenge, **params), who)
    if page.status_code == 200:
        page = await consent_to(http, page)
    return redirect_params(page)["code"]


def basic(client: App) -> dict[str, str]:
    assert client.secret is not None
    raw = f"{client.client_id}:{client.secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def redeem(
    http: httpx.AsyncClient, client: App, code: str, verifier: str | None, **extra: str
) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}
    if verifier is not None:
        data["code_verifier"] = verifier
    if client.secret is None:
        return await http.post("/oauth/token", data={"client_id": client.client_id, **data})
    return await http.post("/oauth/token", data=data, headers=basic(client))


async def refresh(http: httpx.AsyncClient, client: App, token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token}
    return await http.post("/oauth/token", data=data, headers=basic(client))


async def viewer(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
    )


async def tokens_for(
    http: httpx.AsyncClient, client: App, who: Someone, **params: str
) -> dict[str, Any]:
    verifier, challenge = pkce()
    code = await code_for(http, client, who, challenge, **params)
    response = await redeem(http, client, code, verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def token_row(session: AsyncSession, token: str) -> AccessToken:
    digest = hashlib.sha256(token.encode()).hexdigest()
    stmt = select(AccessToken).where(AccessToken.token_hash == digest)
    return (await session.exec(stmt.execution_options(populate_existing=True))).one()


def assert_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


# -- the authorization code flow ----------------------------------------------------------


async def test_code_flow_with_pkce_signs_a_person_in_and_issues_a_bearer_token(
    client: httpx.AsyncClient, app: App, alice: Someone, tree: Tree
) -> None:
    verifier, challenge = pkce()
    url = authorize_url(app.client_id, challenge, scope="profile events:read people:read")
    login = await client.get(url)
    assert login.status_code == 200
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    assert login.headers["x-frame-options"] == "DENY"
    assert login.headers["cache-control"] == "no-store"
    action, csrf = form_of(login)
    assert action == url
    signed_in = await client.post(
        action, data={"csrf": csrf, "action": "login", "email": alice.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == url
    consent = await client.get(url)
    assert "Allow access?" in consent.text and "people:read" not in consent.text
    assert consent.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in consent.headers["content-security-policy"]
    assert form_of(consent)[1] != csrf  # signing in renewed the session and its token
    params = redirect_params(await consent_to(client, consent))
    assert params["state"] == "af0ifjsldkj"
    assert params["iss"] == ISSUER
    response = await redeem(client, app, params["code"], verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "events:read profile"  # requested ∩ allowed
    assert body["access_token"].startswith("msk_at_")
    assert "refresh_token" not in body  # no offline_access asked
    seen = await viewer(client, body["access_token"])
    assert seen.status_code == 200, seen.text
    assert seen.json()["data"]["viewer"] == {
        "anonymous": False,
        "scopes": ["events:read", "profile"],
        "clientId": app.client_id,
        "partnerId": None,
        "reach": [to_global_id("Chapter", tree["paris"].id)],
    }


async def test_a_confidential_client_authenticates_at_the_token_endpoint(
    client: httpx.AsyncClient, site: App, alice: Someone
) -> None:
    verifier, challenge = pkce()
    code = await code_for(client, site, alice, challenge)
    unauthenticated = await redeem(client, App(site.client_id), code, verifier)
    assert_error(unauthenticated, 401, "invalid_client")
    wrong = await redeem(client, App(site.client_id, "msk_cs_wrong"), code, verifier)
    assert_error(wrong, 401, "invalid_client")
    assert wrong.headers["www-authenticate"].startswith("Basic ")
    posted = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": site.client_id,
            "client_secret": site.secret or "",
        },
    )
    assert posted.status_code == 200, posted.text


async def test_remembered_consent_skips_the_consent_page(
    client: httpx.AsyncClient, session: AsyncSession, app: App, alice: Someone
) -> None:
    await tokens_for(client, app, alice)
    consent = (
        await session.exec(select(Consent).where(Consent.person_id == alice.person_id))
    ).one()
    assert consent.scopes == ["events:read", "profile"]
    verifier, challenge = pkce()
    again = await client.get(authorize_url(app.client_id, challenge, state="second"))
    params = redirect_params(again)
    assert params["state"] == "second" and params["iss"] == ISSUER
    assert (await redeem(client, app, params["code"], verifier)).status_code == 200
    # A narrower request is covered too; a wider one asks again.
    _, challenge = pkce()
    narrower = await client.get(authorize_url(app.client_id, challenge, scope="profile"))
    assert narrower.status_code == 302
    other = await client.get(authorize_url(app.client_id, challenge, scope="profile events:read"))
    assert other.status_code == 302


async def test_deny_redirects_with_access_denied(
    client: httpx.AsyncClient, app: App, alice: Someone
) -> None:
    _, challenge = pkce()
    page = await sign_in(client, authorize_url(app.client_id, challenge), alice)
    params = redirect_params(await consent_to(client, page, "deny"))
    assert params["error"] == "access_denied"
    assert params["state"] == "af0ifjsldkj" and params["iss"] == ISSUER
    assert "code" not in params


async def test_codes_are_short_lived_and_hashed_at_rest(
    client: httpx.AsyncClient, session: AsyncSession, app: App, alice: Someone
) -> None:
    verifier, challenge = pkce()
    code = await code_for(client, app, alice, challenge)
    row = (
        await session.exec(
            select(AuthorizationCode).where(
                AuthorizationCode.code_hash == hashlib.sha256(code.encode()).hexdigest()
            )
        )
    ).one()
    assert row.code_challenge == challenge and row.code_challenge_method == "S256"
    assert timedelta(seconds=55) < row.expires_at - row.created_at <= timedelta(seconds=61)
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    await session.flush()
    assert_error(await redeem(client, app, code, verifier), 400, "invalid_grant")


# -- RFC 9700 refusals --------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},  # no challenge at all
        {"code_challenge": "x" * 43},  # a challenge without a method means plain
        {"code_challenge": "x" * 43, "code_challenge_method": "plain"},
        {"code_challenge": "x" * 43, "code_challenge_method": "S512"},
    ],
)
async def test_pkce_s256_is_required_at_the_authorization_endpoint(
    client: httpx.AsyncClient, app: App, params: dict[str, str]
) -> None:
    response = await client.get(authorize_url(app.client_id, None, **params))
    error = redirect_params(response)
    assert error["error"] == "invalid_request"
    assert error["state"] == "af0ifjsldkj" and error["iss"] == ISSUER


async def test_the_code_verifier_is_required_and_checked(
    client: httpx.AsyncClient, site: App, alice: Someone
) -> None:
    verifier, challenge = pkce()
    code = await code_for(client, site, alice, challenge)
    assert_error(await redeem(client, site, code, None), 400, "invalid_request")
    assert_error(await redeem(client, site, code, pkce()[0]), 400, "invalid_grant")
    assert_error(await redeem(client, site, code, challenge), 400, "invalid_grant")
    assert (await redeem(client, site, code, verifier)).status_code == 200


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT + "/more",
        REDIRECT + "x",
        REDIRECT + "?next=/admin",
        REDIRECT.replace("/callback", "/other"),
        REDIRECT.replace("https://", "https://user@"),
        REDIRECT.replace("app.example.org", "app.example.org:8443"),
        REDIRECT.replace("app.example.org", "app.example.org:443"),
        REDIRECT.replace("https://", "http://"),
        REDIRECT.replace("app.example.org", "evil.example.org"),
        REDIRECT.upper(),
    ],
)
async def test_a_redirect_uri_must_match_exactly_and_is_never_redirected_to(
    client: httpx.AsyncClient, app: App, redirect_uri: str
) -> None:
    _, challenge = pkce()
    response = await client.get(authorize_url(app.client_id, challenge, redirect_uri=redirect_uri))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"


async def test_unknown_clients_and_missing_redirect_uris_get_an_error_page(
    client: httpx.AsyncClient, app: App
) -> None:
    _, challenge = pkce()
    for url in [
        authorize_url("msc_nobody", challenge),
        authorize_url(app.client_id, challenge).replace("redirect_uri=", "ignored="),
    ]:
        response = await client.get(url)
        assert response.status_code == 400 and "location" not in response.headers


async def test_no_implicit_and_no_password_grant(
    client: httpx.AsyncClient, app: App, site: App, alice: Someone
) -> None:
    _, challenge = pkce()
    implicit = await client.get(authorize_url(app.client_id, challenge, response_type="token"))
    params = redirect_params(implicit)
    assert params["error"] == "unsupported_response_type" and params["iss"] == ISSUER
    password = await client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": alice.email, "password": PASSWORD},
        headers=basic(site),
    )
    assert_error(password, 400, "unsupported_grant_type")


async def test_unknown_or_disallowed_scopes_are_refused(
    client: httpx.AsyncClient, app: App
) -> None:
    _, challenge = pkce()
    for scope in ["admin", "people:read", ""]:
        response = await client.get(authorize_url(app.client_id, challenge, scope=scope))
        assert redirect_params(response)["error"] == "invalid_scope", scope


async def test_a_reused_code_is_refused_and_revokes_what_it_issued(
    client: httpx.AsyncClient, session: AsyncSession, site: App, alice: Someone
) -> None:
    verifier, challenge = pkce()
    code = await code_for(client, site, alice, challenge, scope="profile offline_access")
    first = await redeem(client, site, code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert (await viewer(client, tokens["access_token"])).status_code == 200
    replay = await redeem(client, site, code, verifier)
    assert_error(replay, 400, "invalid_grant")
    # The revocation survived the 400 (which rolls the request's transaction back).
    assert (await viewer(client, tokens["access_token"])).status_code == 401
    assert (await token_row(session, tokens["access_token"])).revoked_at is not None
    assert (await token_row(session, tokens["refresh_token"])).revoked_at is not None
    assert_error(await refresh(client, site, tokens["refresh_token"]), 400, "invalid_grant")


async def test_a_code_is_bound_to_its_client(
    client: httpx.AsyncClient, factory: Factory, tree: Tree, app: App, site: App, alice: Someone
) -> None:
    verifier, challenge = pkce()
    code = await code_for(client, site, alice, challenge)
    # Another client of the same chapter, with the same redirect URI, cannot use it.
    stolen = await redeem(client, app, code, verifier)
    assert_error(stolen, 400, "invalid_grant")
    # Nor does its attempt burn the code for its rightful client.
    assert (await redeem(client, site, code, verifier)).status_code == 200


async def test_the_redirect_uri_must_be_repeated_at_the_token_endpoint(
    client: httpx.AsyncClient, app: App, alice: Someone
) -> None:
    verifier, challenge = pkce()
    code = await code_for(client, app, alice, challenge)
    other = await redeem(client, app, code, verifier, redirect_uri=REDIRECT + "/x")
    assert_error(other, 400, "invalid_grant")


async def test_token_requests_are_forms_without_repeated_parameters(
    client: httpx.AsyncClient, site: App
) -> None:
    as_json = await client.post(
        "/oauth/token", json={"grant_type": "client_credentials"}, headers=basic(site)
    )
    assert_error(as_json, 400, "invalid_request")
    repeated = await client.post(
        "/oauth/token",
        content="grant_type=refresh_token&refresh_token=a&refresh_token=b",
        headers={**basic(site), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(repeated, 400, "invalid_request")


# -- sign-in page: CSRF and brute force ---------------------------------------------------


async def test_forms_without_the_sessions_csrf_token_are_refused(
    client: httpx.AsyncClient, app: App, alice: Someone
) -> None:
    _, challenge = pkce()
    url = authorize_url(app.client_id, challenge)
    page = await client.get(url)
    action, csrf = form_of(page)
    login = {"action": "login", "email": alice.email, "password": PASSWORD}
    forged = await client.post(action, data={**login, "csrf": "forged"})
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    missing = await client.post(action, data=login)
    assert missing.status_code == 403
    client.cookies.clear()
    no_cookie = await client.post(action, data={**login, "csrf": csrf})
    assert no_cookie.status_code == 403
    # And once signed in, consent needs the token too.
    page = await sign_in(client, url, alice)
    action, _ = form_of(page)
    assert (await client.post(action, data={"csrf": csrf, "action": "allow"})).status_code == 403


async def test_failed_sign_ins_are_throttled(
    client: httpx.AsyncClient, app: App, alice: Someone
) -> None:
    _, challenge = pkce()
    page = await client.get(authorize_url(app.client_id, challenge))
    action, csrf = form_of(page)
    attempt = {"csrf": csrf, "action": "login", "email": alice.email}
    for _ in range(5):
        failed = await client.post(action, data={**attempt, "password": "wrong password!!"})
        assert failed.status_code == 400 and "Wrong e-mail or password" in failed.text
    blocked = await client.post(action, data={**attempt, "password": PASSWORD})
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["retry-after"]) <= 900
    assert blocked.headers["x-frame-options"] == "DENY"


async def test_failed_client_authentications_are_throttled(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    partner = await factory.partner()
    created = await factory.oauth_client(
        partner_id=partner.id,
        client_type="confidential",
        redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["events:read"],
    )
    wrong = App(created.view.client_id, "msk_cs_guess")
    data = {"grant_type": "client_credentials"}
    for _ in range(5):
        assert_error(
            await client.post("/oauth/token", data=data, headers=basic(wrong)), 401, "invalid_client"
        )
    right = App(created.view.client_id, created.client_secret)
    blocked = await client.post("/oauth/token", data=data, headers=basic(right))
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0


# -- client credentials -------------------------------------------------------------------


async def test_client_credentials_speak_for_the_partner(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    partner = await factory.partner()
    created = await factory.oauth_client(
        partner_id=partner.id,
        client_type="confidential",
        redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["events:read", "people:read"],
        reach=[tree["france"].id],
    )
    crm = App(created.view.client_id, created.client_secret)
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "events:read impact:read"},
        headers=basic(crm),
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["scope"] == "events:read" and "refresh_token" not in body
    seen = (await viewer(client, body["access_token"])).json()["data"]["viewer"]
    assert seen == {
        "anonymous": False,
        "scopes": ["events:read"],
        "clientId": crm.client_id,
        "partnerId": to_global_id("Partner", partner.id),
        "reach": [to_global_id("Chapter", tree["france"].id)],
    }
    everything = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(crm)
    )
    assert everything.json()["scope"] == "events:read people:read"


async def test_client_credentials_are_refused_to_other_clients(
    client: httpx.AsyncClient, app: App, site: App
) -> None:
    as_site = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(site)
    )
    assert_error(as_site, 400, "unauthorized_client")
    as_app = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": app.client_id}
    )
    assert_error(as_app, 401, "invalid_client")


# -- refresh tokens -----------------------------------------------------------------------


async def test_refresh_tokens_need_offline_access_and_rotate(
    client: httpx.AsyncClient, session: AsyncSession, site: App, alice: Someone
) -> None:
    online = await tokens_for(client, site, alice)
    assert "refresh_token" not in online
    first = await tokens_for(client, site, alice, scope="profile events:read offline_access")
    assert first["refresh_token"].startswith("msk_rt_")
    assert first["scope"] == "events:read offline_access profile"
    # A refresh token is not a bearer token.
    assert (await viewer(client, first["refresh_token"])).status_code == 401
    second = await refresh(client, site, first["refresh_token"])
    assert second.status_code == 200 and second.headers["cache-control"] == "no-store"
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert (await viewer(client, rotated["access_token"])).status_code == 200
    family = (await token_row(session, first["access_token"])).family_id
    assert family is not None
    assert (await token_row(session, rotated["refresh_token"])).family_id == family
    # A narrower refresh is allowed; a wider one is not.
    narrower = await refresh(client, site, rotated["refresh_token"])
    assert narrower.status_code == 200
    wider = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": narrower.json()["refresh_token"],
            "scope": "profile events:write",
        },
        headers=basic(site),
    )
    assert_error(wider, 400, "invalid_scope")


async def test_reusing_a_rotated_refresh_token_revokes_the_family(
    client: httpx.AsyncClient, session: AsyncSession, site: App, alice: Someone
) -> None:
    first = await tokens_for(client, site, alice, scope="profile offline_access")
    second = (await refresh(client, site, first["refresh_token"])).json()
    replay = await refresh(client, site, first["refresh_token"])
    assert_error(replay, 400, "invalid_grant")
    # Everything descended from the authorization is gone, committed despite the 400.
    assert (await viewer(client, second["access_token"])).status_code == 401
    assert_error(await refresh(client, site, second["refresh_token"]), 400, "invalid_grant")
    for token in [first["access_token"], second["access_token"], second["refresh_token"]]:
        assert (await token_row(session, token)).revoked_at is not None
    # Other authorizations of the same person are untouched.
    other = await tokens_for(client, site, alice, scope="profile offline_access")
    assert (await viewer(client, other["access_token"])).status_code == 200


async def test_refresh_tokens_are_bound_to_their_client(
    client: httpx.AsyncClient, factory: Factory, tree: Tree, site: App, alice: Someone
) -> None:
    tokens = await tokens_for(client, site, alice, scope="profile offline_access")
    created = await factory.oauth_client(
        chapter=tree["paris"],
        client_type="confidential",
        grant_types=["authorization_code", "refresh_token"],
        scopes=["profile", "offline_access"],
    )
    other = App(created.view.client_id, created.client_secret)
    assert_error(await refresh(client, other, tokens["refresh_token"]), 400, "invalid_grant")
    # The rightful client still refreshes: a stranger's attempt is no replay.
    assert (await refresh(client, site, tokens["refresh_token"])).status_code == 200


# -- revocation and introspection ---------------------------------------------------------


async def introspect(http: httpx.AsyncClient, client: App, token: str) -> dict[str, Any]:
    response = await http.post("/oauth/introspect", data={"token": token}, headers=basic(client))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


async def test_introspection_reports_live_tokens_to_their_client(
    client: httpx.AsyncClient, site: App, app: App, alice: Someone
) -> None:
    tokens = await tokens_for(client, site, alice, scope="profile offline_access")
    claims = await introspect(client, site, tokens["access_token"])
    assert claims["active"] is True
    assert claims["scope"] == "offline_access profile"
    assert claims["client_id"] == site.client_id
    assert claims["sub"] == str(alice.person_id)
    assert claims["token_type"] == "Bearer" and claims["iss"] == ISSUER
    assert 0 < claims["exp"] - claims["iat"] <= 900
    assert (await introspect(client, site, tokens["refresh_token"]))["active"] is True
    assert await introspect(client, site, "msk_at_nonsense") == {"active": False}
    # Public clients cannot introspect; nobody sees another client's tokens.
    public = await client.post(
        "/oauth/introspect", data={"token": tokens["access_token"], "client_id": app.client_id}
    )
    assert_error(public, 401, "invalid_client")
    mine = await tokens_for(client, app, alice)
    assert await introspect(client, site, mine["access_token"]) == {"active": False}


async def test_revoking_an_access_token(
    client: httpx.AsyncClient, site: App, alice: Someone
) -> None:
    tokens = await tokens_for(client, site, alice, scope="profile offline_access")
    response = await client.post(
        "/oauth/revoke",
        data={"token": tokens["access_token"], "token_type_hint": "access_token"},
        headers=basic(site),
    )
    assert response.status_code == 200
    assert (await viewer(client, tokens["access_token"])).status_code == 401
    assert (await introspect(client, site, tokens["access_token"]))["active"] is False
    # The refresh token lives on; revoking an unknown token is not an error (RFC 7009).
    assert (await introspect(client, site, tokens["refresh_token"]))["active"] is True
    unknown = await client.post("/oauth/revoke", data={"token": "nope"}, headers=basic(site))
    assert unknown.status_code == 200


async def test_revoking_a_refresh_token_ends_the_whole_authorization(
    client: httpx.AsyncClient, site: App, alice: Someone
) -> None:
    tokens = await tokens_for(client, site, alice, scope="profile offline_access")
    response = await client.post(
        "/oauth/revoke", data={"token": tokens["refresh_token"]}, headers=basic(site)
    )
    assert response.status_code == 200
    assert (await introspect(client, site, tokens["refresh_token"]))["active"] is False
    assert (await viewer(client, tokens["access_token"])).status_code == 401


async def test_public_clients_revoke_their_own_tokens(
    client: httpx.AsyncClient, app: App, site: App, alice: Someone
) -> None:
    tokens = await tokens_for(client, app, alice)
    others = await tokens_for(client, site, alice)
    refused = await client.post(
        "/oauth/revoke", data={"token": others["access_token"], "client_id": app.client_id}
    )
    assert_error(refused, 400, "invalid_grant")
    assert (await viewer(client, others["access_token"])).status_code == 200
    response = await client.post(
        "/oauth/revoke", data={"token": tokens["access_token"], "client_id": app.client_id}
    )
    assert response.status_code == 200
    assert (await viewer(client, tokens["access_token"])).status_code == 401


# -- metadata -----------------------------------------------------------------------------


async def test_metadata_lists_exactly_what_is_supported(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response.json() == {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/oauth/authorize",
        "token_endpoint": f"{ISSUER}/oauth/token",
        "revocation_endpoint": f"{ISSUER}/oauth/revoke",
        "introspection_endpoint": f"{ISSUER}/oauth/introspect",
        "scopes_supported": sorted(ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "authorization_response_iss_parameter_supported": True,
    }
    from authlib.oauth2 import rfc8414, rfc9207

    rfc8414.AuthorizationServerMetadata(response.json()).validate(
        metadata_classes=[rfc9207.AuthorizationServerMetadata]
    )


# -- races, tampering, limits -------------------------------------------------------------

CONFIG = ServerConfig(
    issuer=ISSUER,
    access_ttl=timedelta(minutes=15),
    refresh_ttl=timedelta(days=30),
    code_ttl=timedelta(seconds=60),
)


async def stale_exchange(
    session: AsyncSession, client: App, *, code: str | None = None, token: str | None = None
) -> Exchange:
    """What a request loaded before a concurrent one changed the rows under it."""
    loaded = Exchange(now=utcnow())
    loaded.clients = await exchange.load_clients(session, [client.client_id])
    if code is not None:
        loaded.code = await exchange.load_code(session, code)
    if token is not None:
        loaded.token = await exchange.load_token(session, token, loaded)
    return loaded


async def decide(
    session: AsyncSession, loaded: Exchange, client: App, items: list[tuple[str, str]]
) -> Any:
    headers = basic(client)
    request = OAuthRequest("POST", f"{ISSUER}/oauth/token", headers, items)
    outcome = Server(loaded, CONFIG).create_token_response(request)
    return await exchange.settle(session, loaded, outcome, CONFIG)


async def test_a_code_redeemed_concurrently_is_a_replay(
    client: httpx.AsyncClient, session: AsyncSession, site: App, alice: Someone
) -> None:
    verifier, challenge = pkce()
    code = await code_for(client, site, alice, challenge)
    loaded = await stale_exchange(session, site, code=code)
    winner = await redeem(client, site, code, verifier)  # commits first
    assert winner.status_code == 200
    items = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ]
    outcome = await decide(session, loaded, site, items)
    assert outcome.status == 400 and outcome.error == "invalid_grant"
    assert "access_token" not in outcome.body
    assert (await viewer(client, winner.json()["access_token"])).status_code == 401


async def test_a_refresh_token_rotated_concurrently_is_a_replay(
    client: httpx.AsyncClient, session: AsyncSession, site: App, alice: Someone
) -> None:
    tokens = await tokens_for(client, site, alice, scope="profile offline_access")
    loaded = await stale_exchange(session, site, token=tokens["refresh_token"])
    winner = await refresh(client, site, tokens["refresh_token"])
    assert winner.status_code == 200
    items = [("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"])]
    outcome = await decide(session, loaded, site, items)
    assert outcome.status == 400 and outcome.error == "invalid_grant"
    assert (await viewer(client, winner.json()["access_token"])).status_code == 401


async def test_a_tampered_session_cookie_signs_nobody_in(
    client: httpx.AsyncClient, app: App, alice: Someone
) -> None:
    _, challenge = pkce()
    url = authorize_url(app.client_id, challenge)
    consent = await sign_in(client, url, alice)
    assert "Allow access?" in consent.text
    cookie = client.cookies[COOKIE]
    payload, _, mac = cookie.partition(".")
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    forged = base64.urlsafe_b64encode(data.replace(b'"t": ', b'"t": 1')).rstrip(b"=")
    for value in [f"{forged.decode()}.{mac}", f"{payload}.{mac[:-2]}xx", payload, ""]:
        client.cookies.set(COOKIE, value)
        page = await client.get(url)
        assert 'name="password"' in page.text, value


@pytest.fixture
async def strict(settings: Settings, app_database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app with tight limits per IP address."""
    tight = settings.model_copy(update={"oauth_max_failures_per_ip": 3})
    application = create_app(tight, app_database)
    async with LifespanManager(application) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
            yield http


async def test_failed_sign_ins_are_throttled_per_address_too(
    strict: httpx.AsyncClient, app: App, alice: Someone
) -> None:
    _, challenge = pkce()
    action, csrf = form_of(await strict.get(authorize_url(app.client_id, challenge)))
    for n in range(3):
        guess = {"csrf": csrf, "action": "login", "email": f"nobody{n}@example.org"}
        failed = await strict.post(action, data={**guess, "password": "not the password"})
        assert failed.status_code == 400
    login = {"csrf": csrf, "action": "login", "email": alice.email, "password": PASSWORD}
    blocked = await strict.post(action, data=login)
    assert blocked.status_code == 429 and "retry-after" in blocked.headers


async def test_the_throttle_forgets_failures_after_its_window() -> None:
    now = [1_000.0]
    throttle = MemoryThrottle(window_s=60, clock=lambda: now[0])
    for _ in range(3):
        await throttle.failed("login:a", "login-ip:x")
        now[0] += 10
    assert await throttle.retry_after("login:a", 3) == 31  # the first failure leaves at 1060
    assert await throttle.retry_after("login:a", 4) is None
    now[0] = 1_061.0
    assert await throttle.retry_after("login:a", 3) is None
    await throttle.failed("login:a")
    await throttle.clear("login:a")
    assert await throttle.retry_after("login:a", 1) is None
    assert await throttle.retry_after("login-ip:x", 2) == 10


# -- loopback redirect URIs of native apps (RFC 8252 §7.3) ---------------------------------

NATIVE = "http://127.0.0.1/oauth/done"


@pytest.fixture
async def native(factory: Factory, tree: Tree) -> App:
    """A desktop app that listens on whatever loopback port it gets."""
    created = await factory.oauth_client(
        chapter=tree["paris"], redirect_uris=[NATIVE, "http://[::1]/oauth/done"]
    )
    return App(created.view.client_id)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1/oauth/done/x",
        "http://127.0.0.1:51004/oauth/other",
        "http://127.0.0.1:51004/oauth/done?next=/admin",
        "http://localhost:51004/oauth/done",
        "http://localhost/oauth/done",
        "https://127.0.0.1:51004/oauth/done",
        "http://127.0.0.1:51004@evil.example/oauth/done",
        "http://127.0.0.2:51004/oauth/done",
    ],
)
async def test_a_loopback_redirect_uri_must_still_match_all_but_the_port(
    client: httpx.AsyncClient, native: App, redirect_uri: str
) -> None:
    _, challenge = pkce()
    response = await client.get(
        authorize_url(native.client_id, challenge, redirect_uri=redirect_uri)
    )
    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.parametrize("port_uri", ["http://127.0.0.1:51004/oauth/done",
                                      "http://[::1]:60123/oauth/done"])
async def test_a_native_app_signs_in_on_any_loopback_port(
    client: httpx.AsyncClient, native: App, alice: Someone, port_uri: str
) -> None:
    verifier, challenge = pkce()
    page = await sign_in(
        client, authorize_url(native.client_id, challenge, redirect_uri=port_uri), alice
    )
    answered = await consent_to(client, page)
    assert answered.status_code == 302, answered.text
    location = urlsplit(answered.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == port_uri
    code = parse_qs(location.query)["code"][0]
    other_port = port_uri.replace(":51004", ":51005").replace(":60123", ":60124")
    refused = await redeem(client, native, code, verifier, redirect_uri=other_port)
    assert_error(refused, 400, "invalid_grant")
    verifier, challenge = pkce()
    page = await client.get(
        authorize_url(native.client_id, challenge, redirect_uri=port_uri)
    )
    code = parse_qs(urlsplit(page.headers["location"]).query)["code"][0]
    response = await redeem(client, native, code, verifier, redirect_uri=port_uri)
    assert response.status_code == 200, response.text


# -- client secret rotation ------------------------------------------------------------------


async def test_a_rotated_secret_keeps_working_at_the_token_endpoint_until_the_grace_ends(
    client: httpx.AsyncClient, factory: Factory, tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    from makesense_api.oauth import service as oauth_clients

    partner = await factory.partner()
    created = await factory.oauth_client(
        partner_id=partner.id,
        client_type="confidential",
        redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["events:read"],
    )
    rotated = await oauth_clients.rotate_secret(factory.ctx, created.view.id, timedelta(hours=1))
    old = App(created.view.client_id, created.client_secret)
    new = App(created.view.client_id, rotated.client_secret)
    data = {"grant_type": "client_credentials"}
    for app_ in (old, new):
        response = await client.post("/oauth/token", data=data, headers=basic(app_))
        assert response.status_code == 200, response.text
    expires = rotated.view.previous_secret_expires_at
    assert expires is not None
    monkeypatch.setattr(exchange, "utcnow", lambda: expires - timedelta(seconds=1))
    just_before = await client.post("/oauth/token", data=data, headers=basic(old))
    assert just_before.status_code == 200, just_before.text
    monkeypatch.setattr(exchange, "utcnow", lambda: expires)
    assert_error(await client.post("/oauth/token", data=data, headers=basic(old)), 401,
                 "invalid_client")
    response = await client.post("/oauth/token", data=data, headers=basic(new))
    assert response.status_code == 200, response.text
