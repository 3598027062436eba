"""The authorization endpoint: GET and POST /oauth/authorize.

    GET  → request refused?  error page (unknown client, bad redirect URI) or error redirect
         → nobody signed in  sign-in page (sign-up page with `prompt=create`)
         → consent on file   302 to the client with code, state and iss
         → otherwise         consent page
    POST → the form's CSRF token must match the browser session's, else 403
         action=login        password check (throttled) → new session → 303 back to GET
         action=signup       new account (`oauth.signup`, throttled) → new session → 303
         action=allow        consent remembered → 302 with code, state, iss
         action=deny         302 with error=access_denied, state, iss

The authorization request always travels in the query string, also on POST (the forms post
back to the same URL), and is validated again on every step. Errors before the redirect URI
is known to be the client's are never redirected. A GET that may issue a code opens a write
transaction (on SQLite a deferred read could not later take the write lock).
"""

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.base import OAuth2Error  # type: ignore[import-untyped]
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from makesense_api.config import Settings
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import write_intent
from makesense_api.oauth import consents, pages, signup
from makesense_api.oauth import exchange as ex
from makesense_api.oauth.browser import Browser, BrowserSession
from makesense_api.oauth.records import ClientRecord, Exchange, Subject
from makesense_api.oauth.server import Server, ServerConfig
from makesense_api.oauth.throttle import Throttle
from makesense_api.oauth.wrappers import OAuthRequest, Outcome
from makesense_api.people import accounts
from makesense_api.people.models import Person

log = logging.getLogger(__name__)

MAX_PASSWORD = 1_024  # longer input is refused without hashing it
REDIRECT_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@contextlib.contextmanager
def _writing(writes: bool) -> Iterator[None]:
    token = write_intent.set(writes or write_intent.get())
    try:
        yield
    finally:
        write_intent.reset(token)


def _redirect(outcome: Outcome) -> Response:
    if outcome.location is None:
        detail = outcome.body.get("error_description", "") if isinstance(outcome.body, dict) else ""
        return pages.error("Authorization refused", str(detail or outcome.error))
    return Response(status_code=302, headers={"Location": outcome.location, **REDIRECT_HEADERS})


@dataclass(frozen=True)
class Pending:
    """A valid authorization request, waiting for the person's decision."""

    server: Server
    request: OAuthRequest
    grant: Any
    exchange: Exchange
    config: ServerConfig

    @property
    def client(self) -> ClientRecord:
        client: ClientRecord = self.grant.client
        return client


class Authorization:
    """The endpoint, with the browser session and the failure counters it shares."""

    def __init__(
        self,
        settings: Settings,
        throttle: Throttle,
        browser: Browser,
        config: Callable[[Settings, Request], ServerConfig],
    ) -> None:
        self.settings = settings
        self.throttle = throttle
        self.browser = browser
        self.config = config

    async def endpoint(self, request: Request) -> Response:
        """RFC 6749 §4.1 authorization endpoint, with sign-in and consent pages."""
        browser = self.browser.read(request)
        form: dict[str, str] = {}
        if request.method == "POST":
            form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        signed_in = browser is not None and browser.person_id is not None
        with _writing(request.method == "POST" or signed_in):
            return await self._handle(request, browser, form)

    async def _handle(
        self, request: Request, browser: BrowserSession | None, form: dict[str, str]
    ) -> Response:
        pending = await self._validate(request)
        if isinstance(pending, Response):
            return pending
        action = f"{request.url.path}?{request.url.query}"
        if request.method == "POST" and not Browser.csrf_ok(browser, form.get("csrf", "")):
            return pages.error(
                "This form has expired",
                "Go back to the application and start signing in again.",
                403,
            )
        if form.get("action") == "login":
            assert browser is not None
            return await self._login(request, pending.client, browser, form, action)
        if form.get("action") == "signup":
            assert browser is not None
            return await signup.submit(
                request, self.settings, self.throttle, self.browser, pending.client, browser,
                form, action,
            )
        person_id = await self._signed_in(request.state.session, browser)
        if browser is None or person_id is None:
            return self._login_page(request, pending.client, browser, action)
        return await self._decide(request, pending, person_id, form, browser.csrf, action)

    async def _validate(self, request: Request) -> Pending | Response:
        """The authorization request checked by Authlib, or the refusal to answer with."""
        config = self.config(self.settings, request)
        try:
            query = request.query_params.multi_items()
            req = OAuthRequest(request.method, str(request.url), request.headers, query)
        except OAuth2Error as error:
            return pages.error("Authorization refused", error.get_error_description())
        exchange = Exchange(now=utcnow())
        session: AsyncSession = request.state.session
        exchange.clients = await ex.load_clients(session, [req.payload.client_id or ""])
        server = Server(exchange, config)
        try:
            grant = server.get_consent_grant(req)
        except OAuth2Error as error:
            return self._refuse(server, req, error)
        return Pending(server, req, grant, exchange, config)

    async def _decide(
        self,
        request: Request,
        pending: Pending,
        person_id: uuid.UUID,
        form: dict[str, str],
        csrf: str,
        action: str,
    ) -> Response:
        """Signed in: ask for consent, or answer the client with a code or a denial."""
        session: AsyncSession = request.state.session
        server, client, req = pending.server, pending.client, pending.request
        scopes = req.scope.split()
        if request.method == "POST":
            if form.get("action") == "deny":
                return _redirect(server.create_authorization_response(req, None, pending.grant))
            if form.get("action") != "allow":
                return pages.error("Unexpected form", "Choose Allow or Deny.")
            await consents.remember(session, person_id, client.pk, scopes)
        elif not await consents.covers(session, person_id, client.pk, scopes):
            return pages.consent(client, scopes, req.payload.redirect_uri, action, csrf)
        outcome = server.create_authorization_response(req, Subject(person_id), pending.grant)
        await ex.store_code(session, pending.exchange, pending.config)
        log.info("oauth code issued", extra={"client_id": client.client_id})
        return _redirect(outcome)

    @staticmethod
    def _refuse(server: Server, req: OAuthRequest, error: Any) -> Response:
        """Redirect the error to the client when its redirect URI is proven; else a page."""
        if error.redirect_uri is None:
            return pages.error(
                "Authorization refused", f"{error.error}: {error.get_error_description()}"
            )
        return _redirect(server.add_issuer(server.handle_error_response(req, error)))

    async def _signed_in(
        self, session: AsyncSession, browser: BrowserSession | None
    ) -> uuid.UUID | None:
        """The session's person, unless erased since."""
        if browser is None or browser.person_id is None:
            return None
        stmt = select(Person.id).where(
            Person.id == browser.person_id, col(Person.erased_at).is_(None)
        )
        return (await session.exec(stmt)).first()

    def _login_page(
        self,
        request: Request,
        client: ClientRecord,
        browser: BrowserSession | None,
        action: str,
    ) -> Response:
        fresh = browser or self.browser.new()
        show = pages.signup if signup.wants_signup(request) else pages.login
        response = show(client, action, fresh.csrf)
        if browser is None:
            self.browser.write(response, request, fresh)
        return response

    async def _retry_after(self, account: str, ip: str) -> int | None:
        waits = [
            await self.throttle.retry_after(account, self.settings.oauth_max_failures),
            await self.throttle.retry_after(ip, self.settings.oauth_max_failures_per_ip),
        ]
        return max((w for w in waits if w is not None), default=None)

    async def _login(
        self,
        request: Request,
        client: ClientRecord,
        browser: BrowserSession,
        form: dict[str, str],
        action: str,
    ) -> Response:
        email, password = form.get("email", "").strip(), form.get("password", "")
        ip = request.client.host if request.client else "unknown"
        account_key = f"login:{accounts.normalize_email(email)}"
        ip_key = f"login-ip:{ip}"
        if (wait := await self._retry_after(account_key, ip_key)) is not None:
            log.warning("oauth sign-in throttled", extra={"retry_after": wait})
            return pages.throttled(wait)
        person_id = None
        plausible = 0 < len(email) <= accounts.MAX_EMAIL and 0 < len(password) <= MAX_PASSWORD
        if plausible:
            person_id = await accounts.authenticate(request.state.session, email, password)
        if person_id is None:
            await self.throttle.failed(account_key, ip_key)
            return pages.login(client, action, browser.csrf, email, "Wrong e-mail or password.")
        await self.throttle.clear(account_key)
        response = RedirectResponse(action, status_code=303, headers=REDIRECT_HEADERS)
        self.browser.write(response, request, self.browser.new(person_id))
        return response
