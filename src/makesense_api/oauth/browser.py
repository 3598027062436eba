"""The browser session of the login and consent pages: one signed cookie, and its CSRF token.

The cookie holds a random CSRF token, the signed-in person (once the password was checked)
and the instant it was made; it is signed with HMAC-SHA256 under `oauth_session_secret` and
expires after `oauth_session_ttl_s`. It is HttpOnly and SameSite=Lax (the authorization request
arrives by a top-level cross-site navigation, which Lax allows); over HTTPS it is `Secure` and
`__Host-` prefixed, so a sibling subdomain cannot plant one.

CSRF: every form carries the cookie's token and a POST is accepted only when both agree.
Signing in replaces the cookie and its token (no session fixation). A signed cookie cannot be
withdrawn server-side before it expires: hence the short lifetime.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "msk_oauth"
SECURE_COOKIE = "__Host-msk_oauth"
_CONTEXT = b"makesense oauth session\x00"


@dataclass(frozen=True)
class BrowserSession:
    csrf: str
    person_id: uuid.UUID | None
    issued_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """Reads, makes and writes the signed session cookie."""

    def __init__(self, secret: str, ttl_s: int) -> None:
        self._key = hashlib.sha256(_CONTEXT + secret.encode()).digest()
        self.ttl_s = ttl_s

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    @staticmethod
    def _name(request: Request) -> str:
        return SECURE_COOKIE if request.url.scheme == "https" else COOKIE

    def new(self, person_id: uuid.UUID | None = None) -> BrowserSession:
        return BrowserSession(secrets.token_urlsafe(32), person_id, int(time.time()))

    def read(self, request: Request) -> BrowserSession | None:
        """The request's valid session, or None (absent, forged, malformed or expired)."""
        value = request.cookies.get(self._name(request), "")
        payload, _, mac = value.partition(".")
        if not payload or not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            return None
        try:
            data = json.loads(_unb64(payload))
            person = data["p"]
            session = BrowserSession(
                str(data["c"]), None if person is None else uuid.UUID(person), int(data["t"])
            )
        except (ValueError, KeyError, TypeError):
            return None
        age = time.time() - session.issued_at
        return session if -60 <= age < self.ttl_s else None

    def write(self, response: Response, request: Request, session: BrowserSession) -> None:
        person = None if session.person_id is None else str(session.person_id)
        data = {"c": session.csrf, "p": person, "t": session.issued_at}
        payload = _b64(json.dumps(data).encode())
        response.set_cookie(
            self._name(request),
            f"{payload}.{self._mac(payload)}",
            max_age=self.ttl_s,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )

    @staticmethod
    def csrf_ok(session: BrowserSession | None, submitted: str) -> bool:
        """The form's token is the cookie's (compared in constant time)."""
        return session is not None and hmac.compare_digest(
            session.csrf.encode(), submitted.encode()
        )
