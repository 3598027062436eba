"""The "Create an account" step of the authorization endpoint.

The sign-in page links to the same authorization URL with `prompt=create` (the parameter of
OpenID Connect's "Initiating User Registration"; apps may send it to open on this page). The
form posts back there with `action=signup` and the browser session's CSRF token. Success signs
the new person in (a new session cookie and CSRF token, as after a password sign-in) and
answers 303 to the authorization URL, which continues to consent and back to the app.
Attempts count against the client address (`accounts.Attempts`), together with the REST and
GraphQL sign-ups.
"""

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from makesense_api.authz.principal import Principal
from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.kit.errors import ValidationFailed
from makesense_api.oauth import pages
from makesense_api.oauth.browser import Browser, BrowserSession
from makesense_api.oauth.records import ClientRecord
from makesense_api.oauth.throttle import Throttle
from makesense_api.people import accounts

LABELS = {"name": "Name", "email": "E-mail", "password": "Password", "locale": "Language"}
REDIRECT_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def wants_signup(request: Request) -> bool:
    """The authorization request asks for the sign-up page."""
    return request.query_params.get("prompt") == "create"


async def submit(
    request: Request,
    settings: Settings,
    throttle: Throttle,
    browser: Browser,
    client: ClientRecord,
    current: BrowserSession,
    form: dict[str, str],
    action: str,
) -> Response:
    """Create the account from the form, then continue the authorization signed in."""
    name, email = form.get("name", ""), form.get("email", "")
    ip = request.client.host if request.client else "unknown"
    attempts = accounts.Attempts(throttle, ip, settings.signup_max_per_ip)
    # Anonymous, but the onboarding app is remembered on the new person.
    ctx = Ctx.of(request.state.session, Principal(client_id=client.client_id))
    data = {"name": name, "email": email, "password": form.get("password", "")}
    try:
        view = await accounts.register(ctx, data, attempts)
    except accounts.TooManyAttempts as exc:
        return pages.throttled(exc.retry_after, "sign-up attempts")
    except ValidationFailed as exc:
        errors = [f"{LABELS.get(e.field, e.field)}: {e.message}" for e in exc.errors]
        return pages.signup(client, action, current.csrf, name, email, errors)
    response = RedirectResponse(
        pages.with_prompt(action, None), status_code=303, headers=REDIRECT_HEADERS
    )
    browser.write(response, request, browser.new(view.person_id))
    return response
