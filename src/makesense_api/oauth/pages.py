"""Server-rendered pages of the authorization endpoint: sign-in, sign-up, consent, errors.

Plain HTML forms, no script. Every value is escaped. Every page forbids framing (clickjacking:
`frame-ancestors 'none'` and `X-Frame-Options: DENY`), caching and referrers, and its CSP
allows nothing but its own inline style.
"""

from html import escape
from string import Template
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.responses import HTMLResponse

from makesense_api.authz.principal import Scope
from makesense_api.oauth.records import ClientRecord
from makesense_api.people import accounts

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

SCOPE_TEXT: dict[str, str] = {
    Scope.CHAPTERS_READ: "See chapters, including members-only details",
    Scope.CHAPTERS_WRITE: "Manage the chapters you administer",
    Scope.EVENTS_READ: "See events, including drafts you organise",
    Scope.EVENTS_WRITE: "Create and manage events you organise",
    Scope.REGISTRATIONS_READ: "See event registrations",
    Scope.REGISTRATIONS_WRITE: "Register and manage registrations",
    Scope.PROJECTS_READ: "See projects, including drafts you review",
    Scope.PROJECTS_WRITE: "Create and manage projects",
    Scope.PEOPLE_READ: "See people's contact details where you organise",
    Scope.PEOPLE_WRITE: "Register people in your chapters",
    Scope.PROGRAMS_READ: "See programs and enrolments",
    Scope.PROGRAMS_WRITE: "Manage programs",
    Scope.IMPACT_READ: "See impact reports",
    Scope.IMPACT_WRITE: "Set impact goals",
    Scope.WEBHOOKS_READ: "See webhook subscriptions",
    Scope.WEBHOOKS_WRITE: "Manage webhook subscriptions",
    Scope.PROFILE: "See and edit your profile, registrations and calendar feed",
    Scope.OFFLINE_ACCESS: "Keep this access when you are not using the app",
}

_PAGE = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title · makesense</title>
<style>
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}.error{color:#a00}li{margin:.3rem 0}
</style></head>
<body><main><h1>$title</h1>
$body
</main></body></html>
""")

_LOGIN = Template("""<p>Sign in to continue to <strong>$client</strong> ($owner).</p>
$error
<form method="post" action="$action">
<input type="hidden" name="csrf" value="$csrf">
<input type="hidden" name="action" value="login">
<label for="email">E-mail</label>
<input id="email" name="email" type="email" autocomplete="username" required value="$email">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p>New here? <a href="$signup">Create an account</a></p>""")

_SIGNUP = Template("""<p>Create your account to continue to <strong>$client</strong> ($owner).</p>
$error
<form method="post" action="$action">
<input type="hidden" name="csrf" value="$csrf">
<input type="hidden" name="action" value="signup">
<label for="name">Your name</label>
<input id="name" name="name" type="text" autocomplete="name" required maxlength="120"
 value="$name">
<label for="email">E-mail</label>
<input id="email" name="email" type="email" autocomplete="email" required maxlength="254"
 value="$email">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required
 minlength="$min_password" maxlength="$max_password">
<small>$min_password to $max_password characters, not your e-mail address.</small>
<button type="submit">Create account</button>
</form>
<p>Already have an account? <a href="$login">Sign in</a></p>""")

_CONSENT = Template("""<p><strong>$client</strong> ($owner) asks to:</p>
<ul>$scopes</ul>
<form method="post" action="$action">
<input type="hidden" name="csrf" value="$csrf">
<button type="submit" name="action" value="allow">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>
<p><small>You will be sent to $redirect</small></p>""")


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = _PAGE.substitute(title=escape(title), body=body)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _alert(error: str | None) -> str:
    return f'<p class="error" role="alert">{escape(error)}</p>' if error else ""


def with_prompt(action: str, prompt: str | None) -> str:
    """The authorization URL `action` with `prompt` set (`create`: the sign-up page) or
    removed (the sign-in page)."""
    parts = urlsplit(action)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "prompt"]
    if prompt is not None:
        query.append(("prompt", prompt))
    return urlunsplit(parts._replace(query=urlencode(query)))


def login(
    client: ClientRecord, action: str, csrf: str, email: str = "", error: str | None = None
) -> HTMLResponse:
    body = _LOGIN.substitute(
        client=escape(client.name),
        owner=escape(client.owner_name),
        error=_alert(error),
        action=escape(action),
        csrf=escape(csrf),
        email=escape(email),
        signup=escape(with_prompt(action, "create")),
    )
    return page("Sign in", body, 400 if error else 200)


def signup(
    client: ClientRecord,
    action: str,
    csrf: str,
    name: str = "",
    email: str = "",
    errors: list[str] | None = None,
) -> HTMLResponse:
    """The "Create an account" page; the password is never echoed back."""
    body = _SIGNUP.substitute(
        client=escape(client.name),
        owner=escape(client.owner_name),
        error="".join(_alert(e) for e in errors or []),
        action=escape(action),
        csrf=escape(csrf),
        name=escape(name),
        email=escape(email),
        min_password=accounts.MIN_PASSWORD,
        max_password=accounts.MAX_PASSWORD,
        login=escape(with_prompt(action, None)),
    )
    return page("Create an account", body, 400 if errors else 200)


def consent(
    client: ClientRecord, scopes: list[str], redirect_uri: str, action: str, csrf: str
) -> HTMLResponse:
    items = "".join(
        f"<li>{escape(SCOPE_TEXT.get(s, s))} <small>({escape(s)})</small></li>" for s in scopes
    )
    body = _CONSENT.substitute(
        client=escape(client.name),
        owner=escape(client.owner_name),
        scopes=items,
        action=escape(action),
        csrf=escape(csrf),
        redirect=escape(redirect_uri),
    )
    return page("Allow access?", body)


def error(title: str, detail: str, status: int = 400) -> HTMLResponse:
    return page(title, f"<p>{escape(detail)}</p>", status)


def throttled(retry_after: int, what: str = "failed sign-ins") -> HTMLResponse:
    response = error(
        "Too many attempts", f"Too many {what}. Try again in {retry_after} seconds.", 429
    )
    response.headers["Retry-After"] = str(retry_after)
    return response
