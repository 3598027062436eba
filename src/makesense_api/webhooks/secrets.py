"""Signing secrets: Standard Webhooks `whsec_` keys, kept encrypted at rest, and signatures.

An HMAC key must be usable to sign, so unlike OAuth client secrets it cannot be hashed. With
`MAKESENSE_WEBHOOKS_SECRET_KEY` set, secrets are stored as Fernet tokens (AES-128-CBC and
HMAC-SHA256) under a key derived from that setting with SHA-256; a stolen database then
reveals nothing without the application key. Without it they are stored as they are (only
acceptable for development). Stored values carry a prefix (`enc:` or `plain:`), so setting the
key later keeps existing secrets readable; rotating an endpoint's secret re-encrypts it.

Caveats: losing the application key makes every stored secret unreadable (rotate each
endpoint's secret); secrets never appear in logs or in any read model after creation.
"""

import base64
import hashlib
import secrets
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr
from standardwebhooks import Webhook

PREFIX = "whsec_"  # the Standard Webhooks secret prefix


def new_secret() -> str:
    """A fresh 256-bit signing secret in Standard Webhooks form."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _fernet(key: SecretStr) -> Fernet:
    digest = hashlib.sha256(key.get_secret_value().encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret: str, key: SecretStr | None) -> str:
    """The stored form of `secret`: encrypted when an application key is configured."""
    if key is None:
        return "plain:" + secret
    return "enc:" + _fernet(key).encrypt(secret.encode()).decode()


def unseal(stored: str, key: SecretStr | None) -> str:
    """The secret behind a stored value; raises ValueError when it cannot be read."""
    kind, _, value = stored.partition(":")
    if kind == "plain":
        return value
    if kind == "enc" and key is not None:
        try:
            return _fernet(key).decrypt(value.encode()).decode()
        except InvalidToken:
            raise ValueError("the webhook secret key does not decrypt this secret") from None
    raise ValueError("the webhook secret is encrypted and no key is configured")


def signature(secrets_: list[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,…` signature per secret, space-separated."""
    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets_)
