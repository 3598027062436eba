"""A standard OAuth client library against a live server: Authlib's `AsyncOAuth2Client` (httpx)
speaks to `makesense-api serve` over a real socket, as a partner integration and as a
chapter's web site would.

- client credentials: a partner's confidential client gets a token that acts as the partner;
- authorization code with PKCE, then refresh with rotation: each refresh returns a new refresh
  token, and replaying a rotated one is refused and revokes every token of the authorization.

The sign-in and consent pages are filled in with plain HTTP (the browser test covers them in
a browser).
"""

import html
import re
import secrets
import uuid
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import OAuthError

with warnings.catch_warnings():
    # Authlib prefers the `httpx2` package and warns when it falls back to `httpx`, which this
    # project uses; the client's behaviour is the same.
    warnings.filterwarnings("ignore", "The httpx module is deprecated",
                            AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from makesense_api.graphql.relay import to_global_id
from makesense_api.people import accounts
from tests.live import LiveServer, live_server

PASSWORD = "a long live-server passphrase"
REDIRECT = "https://paris.example.org/auth/callback"
VIEWER = "{ viewer { anonymous scopes clientId partnerId reach person { displayName } } }"
TIMEOUT = httpx.Timeout(10)


@dataclass(frozen=True)
class Registered:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class Seeded:
    paris_id: uuid.UUID
    partner_id: uuid.UUID
    crm: Registered  # the partner's integration (client credentials)
    site: Registered  # Paris's web site (code flow, refresh)
    email: str


@pytest.fixture(scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path_factory.mktemp("live-clients")) as server:
        yield server


@pytest.fixture(scope="module")
async def seeded(live: LiveServer) -> Seeded:
    email = f"lea-{secrets.token_hex(4)}@example.org"
    async with live.seed() as factory:
        tree = await factory.tree()
        partner = await factory.partner(name="Climate CRM")
        await factory.grant(partner.id, tree["paris"], "events:read", "people:read")
        crm = await factory.oauth_client(
            partner_id=partner.id, client_type="confidential", redirect_uris=[],
            grant_types=["client_credentials"], scopes=["events:read", "people:read"],
            reach=[tree["paris"].id],
        )
        site = await factory.oauth_client(
            chapter=tree["paris"], client_type="confidential", redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            scopes=["profile", "events:read", "offline_access"],
        )
        await accounts.sign_up(factory.ctx, email, PASSWORD, "Léa Martin")
    assert crm.client_secret and site.client_secret
    return Seeded(
        paris_id=tree["paris"].id,
        partner_id=partner.id,
        crm=Registered(crm.view.client_id, crm.client_secret),
        site=Registered(site.view.client_id, site.client_secret),
        email=email,
    )


async def viewer(client: httpx.AsyncClient, url: str) -> httpx.Response:
    return await client.post(url, json={"query": VIEWER})


async def test_client_credentials_with_authlib_acts_as_the_partner(
    live: LiveServer, seeded: Seeded
) -> None:
    async with AsyncOAuth2Client(
        seeded.crm.client_id, seeded.crm.client_secret,
        token_endpoint_auth_method="client_secret_basic", timeout=TIMEOUT,
    ) as client:
        token = await client.fetch_token(
            f"{live.base_url}/oauth/token", grant_type="client_credentials"
        )
        assert token["token_type"] == "Bearer"
        assert token["scope"] == "events:read people:read"
        assert "refresh_token" not in token
        answer = await viewer(client, f"{live.base_url}/graphql")
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["viewer"] == {
        "anonymous": False,
        "scopes": ["events:read", "people:read"],
        "clientId": seeded.crm.client_id,
        "partnerId": to_global_id("Partner", seeded.partner_id),
        "reach": [to_global_id("Chapter", seeded.paris_id)],
        "person": None,
    }
    async with AsyncOAuth2Client(
        seeded.crm.client_id, "msk_cs_not-the-secret", timeout=TIMEOUT
    ) as impostor:
        with pytest.raises(OAuthError) as refused:
            await impostor.fetch_token(
                f"{live.base_url}/oauth/token", grant_type="client_credentials"
            )
    assert refused.value.error == "invalid_client"


def form_of(page: httpx.Response) -> tuple[str, str]:
    """A server-rendered form's action and CSRF token."""
    action = re.search(r'action="([^"]+)"', page.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert action and csrf, page.text
    return html.unescape(action.group(1)), html.unescape(csrf.group(1))


async def authorize_as(live: LiveServer, url: str, email: str) -> str:
    """A person signs in and allows; returns where the server redirects them."""
    async with httpx.AsyncClient(base_url=live.base_url, timeout=TIMEOUT) as person:
        page = await person.get(url)
        action, csrf = form_of(page)
        signed_in = await person.post(action, data={
            "csrf": csrf, "action": "login", "email": email, "password": PASSWORD,
        })
        assert signed_in.status_code == 303, signed_in.text
        consent = await person.get(signed_in.headers["location"])
        assert "Allow access?" in consent.text, consent.text
        action, csrf = form_of(consent)
        allowed = await person.post(action, data={"csrf": csrf, "action": "allow"})
        assert allowed.status_code == 302, allowed.text
        location: str = allowed.headers["location"]
        return location


async def introspect(client: AsyncOAuth2Client, live: LiveServer, token: str) -> dict[str, Any]:
    response = await client.introspect_token(f"{live.base_url}/oauth/introspect", token=token)
    assert response.status_code == 200, response.text
    claims: dict[str, Any] = response.json()
    return claims


async def test_code_flow_and_refresh_rotation_with_authlib(
    live: LiveServer, seeded: Seeded
) -> None:
    token_url = f"{live.base_url}/oauth/token"
    async with AsyncOAuth2Client(
        seeded.site.client_id, seeded.site.client_secret,
        scope="profile events:read offline_access", redirect_uri=REDIRECT,
        code_challenge_method="S256", timeout=TIMEOUT,
    ) as client:
        verifier = generate_token(64)
        url, state = client.create_authorization_url(
            f"{live.base_url}/oauth/authorize", code_verifier=verifier
        )
        location = await authorize_as(live, url, seeded.email)
        answered = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert location.startswith(REDIRECT + "?")
        assert answered["state"] == state and answered["iss"] == live.base_url
        first = await client.fetch_token(
            token_url, authorization_response=location, state=state, code_verifier=verifier
        )
        assert first["refresh_token"].startswith("msk_rt_")
        assert first["scope"] == "events:read offline_access profile"
        seen = await viewer(client, f"{live.base_url}/graphql")
        assert seen.json()["data"]["viewer"]["person"] == {"displayName": "Léa Martin"}

        second = await client.refresh_token(token_url)
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        assert (await viewer(client, f"{live.base_url}/graphql")).status_code == 200
        assert (await introspect(client, live, first["refresh_token"]))["active"] is False
        assert (await introspect(client, live, second["refresh_token"]))["active"] is True

        # Replaying the rotated refresh token is refused, and the whole authorization ends.
        with pytest.raises(OAuthError) as replay:
            await client.refresh_token(token_url, refresh_token=first["refresh_token"])
        assert replay.value.error == "invalid_grant"
        for token in (second["access_token"], second["refresh_token"], first["access_token"]):
            assert await introspect(client, live, token) == {"active": False}
        refused = await viewer(client, f"{live.base_url}/graphql")  # still the second token
        assert refused.status_code == 401, refused.text
        assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        with pytest.raises(OAuthError) as dead:
            await client.refresh_token(token_url)
        assert dead.value.error == "invalid_grant"
