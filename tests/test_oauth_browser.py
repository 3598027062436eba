"""The authorization code flow in a real browser: headless Chromium driven by chromedriver signs
a person in on the server-rendered pages of a live server, consents, and lands on a native
app's loopback redirect URI; the app then redeems the code with its PKCE verifier and calls
the API as that person.

Needs the Debian packages `chromium` and `chromium-driver` (`.ci/run` installs them, so CI
always runs this test). Nothing is downloaded: the driver is named explicitly, so Selenium
Manager never runs.
"""

import asyncio
import base64
import hashlib
import http.server
import os
import queue
import secrets
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from makesense_api.people import accounts
from tests.live import LiveServer, live_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
HOW_TO_RUN = (
    "browser tests need chromium and chromium-driver: "
    "`sudo apt-get install chromium chromium-driver` or run `.ci/run`"
)
MISSING = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
STEP_TIMEOUT_S = 20
PASSWORD = "a long browser passphrase"

pytestmark = [
    pytest.mark.browser,
    # On a bare machine the test is skipped; in CI a missing browser is a failure (below).
    pytest.mark.skipif(bool(MISSING) and not IN_CI, reason=HOW_TO_RUN),
]


@pytest.fixture(scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path_factory.mktemp("live-browser")) as server:
        yield server


class Callback:
    """A native app's loopback redirect URI: records each request's path and says done."""

    def __init__(self) -> None:
        self.paths: queue.Queue[str] = queue.Queue()
        received = self.paths

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                received.put(self.path)
                body = b"<!doctype html><title>Signed in</title><p>You may close this window."
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}/callback"

    @contextmanager
    def running(self) -> Iterator["Callback"]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(timeout=5)


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """Headless Chromium with a fresh profile, through the system's chromedriver."""
    if MISSING:
        pytest.fail(f"{', '.join(MISSING)} missing; {HOW_TO_RUN}")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--no-default-browser-check", f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            driver.set_page_load_timeout(STEP_TIMEOUT_S)
            yield driver
        finally:
            driver.quit()


def sign_in_and_consent(url: str, email: str, password: str, callback: Callback) -> str:
    """Play the person: sign in, allow; returns the URL the browser lands on."""
    with chromium() as driver:
        wait = WebDriverWait(driver, STEP_TIMEOUT_S)
        driver.get(url)
        wait.until(expected_conditions.title_contains("Sign in"))
        driver.find_element(By.ID, "email").send_keys(email)
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(expected_conditions.title_contains("Allow access?"))
        assert "See and edit your profile" in driver.page_source
        driver.find_element(By.CSS_SELECTOR, "button[name=action][value=allow]").click()
        wait.until(expected_conditions.url_contains(callback.uri))
        wait.until(expected_conditions.title_is("Signed in"))
        landed: str = driver.current_url
    received = callback.paths.get(timeout=STEP_TIMEOUT_S)
    assert landed.endswith(received), (landed, received)
    return landed


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def test_a_person_signs_in_with_a_browser_and_the_app_acts_as_them(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    if MISSING:  # only in CI, where the browser is installed by .ci/run
        pytest.fail(f"{', '.join(MISSING)} missing; {HOW_TO_RUN}")
    # Belt and braces: Selenium Manager never runs with an explicit driver; were it to, it
    # would stay offline and never fetch a browser.
    monkeypatch.setenv("SE_OFFLINE", "true")
    monkeypatch.setenv("SE_AVOID_BROWSER_DOWNLOAD", "true")
    email = f"awa-{secrets.token_hex(4)}@example.org"
    with Callback().running() as callback:
        async with live.seed() as factory:
            tree = await factory.tree()
            await accounts.sign_up(factory.ctx, email, PASSWORD, "Awa Diallo")
            app = await factory.oauth_client(
                chapter=tree["paris"], name="Paris volunteers app", redirect_uris=[callback.uri],
                scopes=["profile", "events:read"],
            )
        verifier, challenge = pkce()
        state = secrets.token_urlsafe(16)
        url = f"{live.base_url}/oauth/authorize?" + urlencode({
            "response_type": "code", "client_id": app.view.client_id,
            "redirect_uri": callback.uri, "scope": "profile events:read", "state": state,
            "code_challenge": challenge, "code_challenge_method": "S256",
        })
        landed = await asyncio.to_thread(sign_in_and_consent, url, email, PASSWORD, callback)

    params = {k: v[0] for k, v in parse_qs(urlsplit(landed).query).items()}
    assert landed.startswith(callback.uri + "?")
    assert params["state"] == state
    assert params["iss"] == live.base_url
    async with httpx.AsyncClient(base_url=live.base_url, timeout=10) as http:
        issued = await http.post("/oauth/token", data={
            "grant_type": "authorization_code", "code": params["code"],
            "redirect_uri": callback.uri, "client_id": app.view.client_id,
            "code_verifier": verifier,
        })
        assert issued.status_code == 200, issued.text
        token = issued.json()
        assert token["token_type"] == "Bearer" and token["scope"] == "events:read profile"
        answer = await http.post(
            "/graphql",
            json={"query": "{ viewer { anonymous scopes clientId person { displayName } } }"},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] == {"viewer": {
            "anonymous": False, "scopes": ["events:read", "profile"],
            "clientId": app.view.client_id, "person": {"displayName": "Awa Diallo"},
        }}
        # The code was good for one redemption only.
        again = await http.post("/oauth/token", data={
            "grant_type": "authorization_code", "code": params["code"],
            "redirect_uri": callback.uri, "client_id": app.view.client_id,
            "code_verifier": verifier,
        })
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
