"""Redaction of what must never reach a log line: tokens, secrets, passwords, e-mail addresses.

Applied to every log event (ops/logging.py), whichever logger emitted it:

    keys          authorization, cookie, password, secret, token, code_verifier, … → "[redacted]"
    bearer        "Bearer <anything>"                          → "Bearer [redacted]"
    tokens        msk_… (tokens, client secrets), whsec_…      → "msk_[redacted]"
    query values  token=…, code=…, client_secret=…, password=… → "token=[redacted]"
    URL userinfo  redis://user:secret@host                     → "redis://user:[redacted]@host"
    e-mail        jane.doe@example.org                         → "j***@example.org"

The contract is best effort on free text: the safe habit stays to log ids, never values.
"""

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
SENSITIVE_KEYS = re.compile(
    r"(authorization|cookie|passw|secret|token|code_verifier|api[_-]?key|credential)", re.I
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*")
_TOKENS = re.compile(r"\b(msk|whsec)_[A-Za-z0-9_\-+/=.]+")
_QUERY = re.compile(
    r"(?i)\b(token|access_token|refresh_token|code|client_secret|password|secret)=[^&\s\"']+"
)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^:/@\s]*):[^@/\s]+@")
_EMAIL = re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})\b")
# Keys that merely describe a secret without holding one.
_HARMLESS_KEYS = frozenset({"token_id", "token_kind", "token_type", "token_prefix"})


def redact_text(text: str) -> str:
    """`text` with bearer credentials, tokens, secret query values and e-mail addresses masked."""
    if not text:
        return text
    text = _USERINFO.sub(lambda m: f"{m.group(1)}:{REDACTED}@", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _TOKENS.sub(lambda m: f"{m.group(1)}_{REDACTED}", text)
    text = _QUERY.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def redact(value: Any, key: str | None = None) -> Any:
    """A copy of `value` safe to log; mappings and sequences are walked, keys are judged."""
    if key is not None and key not in _HARMLESS_KEYS and SENSITIVE_KEYS.search(key):
        return REDACTED if value not in (None, "", [], {}) else value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    return value
