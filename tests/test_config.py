"""Settings that must never fall back to a default in production."""

import pytest
from pydantic import ValidationError

from makesense_api.config import Settings


def test_production_refuses_to_start_without_its_issuer_and_secret_key() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", oauth_issuer=None, webhooks_secret_key=None)
    message = str(refused.value)
    assert "MAKESENSE_OAUTH_ISSUER" in message
    assert "MAKESENSE_WEBHOOKS_SECRET_KEY" in message
    with pytest.raises(ValidationError, match="MAKESENSE_WEBHOOKS_SECRET_KEY"):
        Settings(environment="production", oauth_issuer="https://api.example.org")


def test_production_starts_with_them_and_development_needs_neither() -> None:
    settings = Settings(
        environment="production",
        oauth_issuer="https://api.example.org",
        webhooks_secret_key="a long application key",
    )
    assert settings.environment == "production"
    assert Settings(environment="development").webhooks_secret_key is None
