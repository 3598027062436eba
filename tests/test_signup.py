"""Self-service sign-up: the policy, the REST and GraphQL operations for apps, and the
"Create an account" page of the OAuth flow, which continues to consent and back to the app."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.app import create_app
from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.kit.db import Database
from makesense_api.kit.errors import ValidationFailed
from makesense_api.oauth.pages import SECURITY_HEADERS
from makesense_api.oauth.throttle import MemoryThrottle
from makesense_api.people import accounts
from makesense_api.people.models import Account, Person
from tests.factories import Factory
from tests.live import LiveServer, live_server
from tests.test_oauth import (
    App,
    authorize_url,
    consent_to,
    form_of,
    pkce,
    redeem,
    redirect_params,
    viewer,
)
from tests.test_oauth_browser import (
    HOW_TO_RUN,
    IN_CI,
    MISSING,
    STEP_TIMEOUT_S,
    Callback,
    chromium,
)

PASSWORD = "a fresh volunteer passphrase"


@pytest.fixture(autouse=True)
def _plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test client speaks http://testserver; production runs behind TLS.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


def email() -> str:
    return f"new-{uuid.uuid4().hex[:10]}@example.org"


def attempts(limit: int = 100) -> accounts.Attempts:
    return accounts.Attempts(MemoryThrottle(900), "192.0.2.1", limit)


async def people_count(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(Person))).one()


@pytest.fixture
def anon(session: AsyncSession) -> Ctx:
    return Ctx.of(session, Principal.anonymous())


@pytest.fixture
async def tight(settings: Settings, app_database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that allows three sign-ups per address."""
    app = create_app(settings.model_copy(update={"signup_max_per_ip": 3}), app_database)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


# -- the service --------------------------------------------------------------------------


async def test_register_creates_a_person_and_a_login(session: AsyncSession, anon: Ctx) -> None:
    address = email()
    view = await accounts.register(
        anon,
        {"name": "Amina", "email": f"  {address.upper()} ", "password": PASSWORD,
         "locale": "fr-FR"},
        attempts(),
    )
    assert view.email == address and view.verified is False
    person = (await session.exec(select(Person).where(Person.id == view.person_id))).one()
    assert (person.display_name, person.email, person.languages) == ("Amina", address, ["fr-FR"])
    stored = (await session.exec(
        select(Account.password_hash).where(Account.person_id == view.person_id)
    )).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert await accounts.authenticate(session, address, PASSWORD) == view.person_id


async def test_the_password_is_kept_exactly_as_typed(session: AsyncSession, anon: Ctx) -> None:
    address, spaced = email(), f"  {PASSWORD}  "
    view = await accounts.register(
        anon, {"name": "Amina", "email": address, "password": spaced}, attempts()
    )
    assert await accounts.authenticate(session, address, spaced) == view.person_id
    assert await accounts.authenticate(session, address, PASSWORD) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": "too short"}, "password"),
        ({"password": "x" * 129}, "password"),
        ({"password": "x" * 5_000}, "password"),
        ({"email": "not-an-address"}, "email"),
        ({"name": ""}, "name"),
        ({"locale": "not a tag!"}, "locale"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_register_refuses_bad_input_and_writes_nothing(
    session: AsyncSession, anon: Ctx, change: dict[str, Any], field: str
) -> None:
    before = await people_count(session)
    data = {"name": "Amina", "email": email(), "password": PASSWORD, **change}
    with pytest.raises(ValidationFailed) as caught:
        await accounts.register(anon, data, attempts())
    assert field in {e.field for e in caught.value.errors}
    assert await people_count(session) == before


async def test_the_password_is_not_the_email(anon: Ctx) -> None:
    address = f"longlocalpart{uuid.uuid4().hex[:6]}@example.org"
    for password in (address, address.upper(), address.split("@")[0]):
        with pytest.raises(ValidationFailed) as caught:
            await accounts.register(
                anon, {"name": "A", "email": address, "password": password}, attempts()
            )
        assert [e.field for e in caught.value.errors] == ["password"]


async def test_an_address_with_a_login_is_refused_whatever_its_case(
    session: AsyncSession, anon: Ctx
) -> None:
    address = email()
    await accounts.register(anon, {"name": "A", "email": address, "password": PASSWORD}, attempts())
    before = await people_count(session)
    with pytest.raises(ValidationFailed) as caught:
        await accounts.register(
            anon, {"name": "B", "email": address.upper(), "password": PASSWORD + "!"}, attempts()
        )
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("email", accounts.EMAIL_TAKEN)
    ]
    assert await people_count(session) == before


async def test_every_attempt_counts_against_the_address(anon: Ctx) -> None:
    counter = attempts(limit=2)
    with pytest.raises(ValidationFailed):
        await accounts.register(anon, {"name": "A", "email": "bad", "password": PASSWORD}, counter)
    await accounts.register(anon, {"name": "A", "email": email(), "password": PASSWORD}, counter)
    with pytest.raises(accounts.TooManyAttempts) as caught:
        await accounts.register(
            anon, {"name": "A", "email": email(), "password": PASSWORD}, counter
        )
    assert caught.value.retry_after > 0
    other = accounts.Attempts(counter.throttle, "198.51.100.7", 2)
    await accounts.register(anon, {"name": "A", "email": email(), "password": PASSWORD}, other)


# -- REST and GraphQL -----------------------------------------------------------------------


async def test_rest_sign_up_is_anonymous_and_issues_no_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    address = email()
    response = await client.post(
        "/v1/accounts", json={"name": "Kofi", "email": address, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "person_id", "email", "verified", "created_at"}
    assert body["email"] == address
    assert response.headers["location"] == f"/v1/people/{body['person_id']}"
    assert await accounts.authenticate(session, address, PASSWORD) == uuid.UUID(body["person_id"])
    again = await client.post(
        "/v1/accounts", json={"name": "Kofi", "email": address, "password": PASSWORD}
    )
    assert again.status_code == 422
    assert again.json()["errors"] == [{"field": "email", "message": accounts.EMAIL_TAKEN}]
    weak = await client.post("/v1/accounts", json={"name": "K", "email": email(), "password": "x"})
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "password"


async def test_rest_sign_ups_are_throttled_per_address(tight: httpx.AsyncClient) -> None:
    statuses = []
    for _ in range(4):
        response = await tight.post(
            "/v1/accounts", json={"name": "K", "email": email(), "password": PASSWORD}
        )
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 429]
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["code"] == "too_many_attempts"


SIGN_UP = """mutation($input: AccountSignUpInput!) {
  accountSignUp(input: $input) {
    __typename
    ... on AccountSignUpPayload { personId email verified }
    ... on Error { code message }
    ... on ValidationError { fields { field message } }
  }
}"""


async def graphql(http: httpx.AsyncClient, **data: Any) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": SIGN_UP, "variables": {"input": data}})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["data"]["accountSignUp"]
    return result


async def test_graphql_sign_up(tight: httpx.AsyncClient) -> None:
    address = email()
    done = await graphql(tight, name="Ines", email=address, password=PASSWORD, locale="pt-BR")
    assert done["__typename"] == "AccountSignUpPayload" and done["email"] == address
    taken = await graphql(tight, name="Ines", email=address, password=PASSWORD)
    assert taken["__typename"] == "ValidationError"
    assert taken["fields"] == [{"field": "email", "message": accounts.EMAIL_TAKEN}]
    await graphql(tight, name="Ines", email=email(), password=PASSWORD)
    throttled = await graphql(tight, name="Ines", email=email(), password=PASSWORD)
    assert throttled["__typename"] == "ConflictError"
    assert throttled["code"] == "too_many_attempts"


# -- the page of the OAuth flow -------------------------------------------------------------


@pytest.fixture
async def app(factory: Factory) -> App:
    tree: dict[str, ChapterView] = await factory.tree()
    created = await factory.oauth_client(chapter=tree["paris"])
    return App(created.view.client_id)


async def test_sign_up_page_continues_to_consent_and_back_to_the_app(
    client: httpx.AsyncClient, session: AsyncSession, app: App
) -> None:
    verifier, challenge = pkce()
    login = await client.get(authorize_url(app.client_id, challenge))
    assert login.status_code == 200 and "Create an account" in login.text
    link = login.text.split('New here? <a href="')[1].split('"')[0]
    assert "prompt=create" in link
    page = await client.get(link.replace("&amp;", "&"))
    assert page.status_code == 200 and 'autocomplete="new-password"' in page.text
    for name, value in SECURITY_HEADERS.items():
        assert page.headers[name] == value
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    action, csrf = form_of(page)
    address = email()
    form = {"csrf": csrf, "action": "signup", "name": "Lea <b>", "email": address,
            "password": PASSWORD}

    forged = await client.post(action, data={**form, "csrf": "forged"})
    assert forged.status_code == 403
    weak = await client.post(action, data={**form, "password": "short"})
    assert weak.status_code == 400 and "Password:" in weak.text
    assert "short" not in weak.text.split("<form")[1]
    assert "Lea &lt;b&gt;" in weak.text

    done = await client.post(action, data=form)
    assert done.status_code == 303, done.text
    assert "prompt=" not in done.headers["location"]
    consent = await client.get(done.headers["location"])
    code = redirect_params(await consent_to(client, consent))["code"]
    tokens = await redeem(client, app, code, verifier)
    assert tokens.status_code == 200, tokens.text
    me = await viewer(client, tokens.json()["access_token"])
    assert me.json()["data"]["viewer"]["anonymous"] is False
    person = (await session.exec(
        select(Person).join(Account, Account.person_id == Person.id).where(Account.email == address)
    )).one()
    assert person.display_name == "Lea <b>" and person.created_by_client_id == app.client_id


async def test_sign_up_page_is_throttled(tight: httpx.AsyncClient, app: App) -> None:
    _, challenge = pkce()
    page = await tight.get(authorize_url(app.client_id, challenge, prompt="create"))
    action, csrf = form_of(page)
    statuses = []
    for _ in range(4):
        response = await tight.post(
            action,
            data={"csrf": csrf, "action": "signup", "name": "N", "email": "bad",
                  "password": PASSWORD},
        )
        statuses.append(response.status_code)
    assert statuses == [400, 400, 400, 429]
    assert int(response.headers["retry-after"]) > 0


# -- in a real browser ----------------------------------------------------------------------


def sign_up_and_consent(url: str, name: str, address: str, callback: Callback) -> str:
    """Play the newcomer: follow "Create an account", fill it in, allow; returns where the
    browser lands."""
    with chromium() as driver:
        wait = WebDriverWait(driver, STEP_TIMEOUT_S)
        driver.get(url)
        wait.until(expected_conditions.title_contains("Sign in"))
        driver.find_element(By.LINK_TEXT, "Create an account").click()
        wait.until(expected_conditions.title_contains("Create an account"))
        driver.find_element(By.ID, "name").send_keys(name)
        driver.find_element(By.ID, "email").send_keys(address)
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(expected_conditions.title_contains("Allow access?"))
        driver.find_element(By.CSS_SELECTOR, "button[name=action][value=allow]").click()
        wait.until(expected_conditions.url_contains(callback.uri))
        landed: str = driver.current_url
    return landed


@pytest.fixture(scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path_factory.mktemp("live-signup")) as server:
        yield server


@pytest.mark.browser
@pytest.mark.skipif(bool(MISSING) and not IN_CI, reason=HOW_TO_RUN)
async def test_a_newcomer_signs_up_in_a_browser_and_the_app_acts_as_them(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SE_OFFLINE", "true")
    monkeypatch.setenv("SE_AVOID_BROWSER_DOWNLOAD", "true")
    with Callback().running() as callback:
        async with live.seed() as factory:
            tree = await factory.tree()
            created = await factory.oauth_client(
                chapter=tree["paris"], redirect_uris=[callback.uri], scopes=["profile"]
            )
        client_id = created.view.client_id
        verifier, challenge = pkce()
        url = f"{live.base_url}/oauth/authorize?" + urlencode({
            "response_type": "code", "client_id": client_id, "redirect_uri": callback.uri,
            "scope": "profile", "state": "s1", "code_challenge": challenge,
            "code_challenge_method": "S256",
        })
        landed = await asyncio.to_thread(
            sign_up_and_consent, url, "Nour Haddad", email(), callback
        )
    code = parse_qs(urlsplit(landed).query)["code"][0]
    async with httpx.AsyncClient(base_url=live.base_url, timeout=10) as http:
        issued = await http.post("/oauth/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": callback.uri,
            "client_id": client_id, "code_verifier": verifier,
        })
        assert issued.status_code == 200, issued.text
        answer = await http.post(
            "/graphql", json={"query": "{ viewer { person { displayName } } }"},
            headers={"Authorization": f"Bearer {issued.json()['access_token']}"},
        )
    assert answer.json()["data"] == {"viewer": {"person": {"displayName": "Nour Haddad"}}}
