"""Schemathesis against the REST surface: generated requests from the committed OpenAPI
document, with and without a token, must never meet a server error and every response must
conform to the document.

Hypothesis runs in a worker thread; each request it makes is sent through the test's ASGI
client on the test's own event loop, so the app runs inside the test's rolled-back transaction.
A bounded number of examples per operation and a fixed seed keep the run short and repeatable.
"""

import asyncio
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import ignored_auth
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from makesense_api.rest import all_operations
from makesense_api.rest.openapi import document
from tests.factories import Factory
from tests.test_rest_http import bearer

EXAMPLES = 5
BASE_URL = "http://testserver"
# Checks that send requests of their own through `requests` cannot reach an in-process app.
EXCLUDED = [ignored_auth]
# Schema-valid input may still break a rule the schema cannot state (an unknown chapter, an end
# before the start, a cursor from elsewhere): 422 names the field. Never 400 or 5xx.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "304", "401", "403", "404", "409", "412", "422"]
            }
        }
    }
)


def _send(
    client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop, kwargs: dict[str, Any]
) -> httpx.Response:
    headers = dict(kwargs.get("headers") or {})
    if kwargs.get("cookies"):
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in kwargs["cookies"].items())
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": headers,
        "params": kwargs.get("params") or {},
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        request["content"] = data.encode() if isinstance(data, str) else data
    future = asyncio.run_coroutine_threadsafe(client.request(**request), loop)
    return future.result(timeout=30)


def _fuzz(client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop,
          headers: dict[str, str], statuses: list[int]) -> list[str]:
    schema = schemathesis.openapi.from_dict(
        document(all_operations()).document, config=CONFIG
    )
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
                response = _send(client, loop, kwargs)
                statuses.append(response.status_code)
                case.validate_response(
                    response, headers=kwargs["headers"], excluded_checks=EXCLUDED
                )

            try:
                run()
            except Unsatisfiable:
                continue  # nothing to make invalid (no parameters, no body)
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    return failures


@pytest.fixture
async def token(factory: Factory) -> str:
    tree = await factory.tree()
    organizer = await factory.member(tree["root"], "admin")
    await factory.event(tree["paris"])
    return await factory.token(organizer, {
        "chapters:write", "events:write", "registrations:write", "projects:write",
        "people:write", "programs:write", "impact:write", "profile",
    })


@pytest.mark.parametrize("authenticated", [False, True], ids=["anonymous", "token"])
async def test_generated_requests_conform_and_never_fail(
    client: httpx.AsyncClient, token: str, authenticated: bool
) -> None:
    headers = bearer(token) if authenticated else {}
    loop = asyncio.get_running_loop()
    statuses: list[int] = []
    failures = await asyncio.to_thread(_fuzz, client, loop, headers, statuses)
    assert failures == [], "\n\n".join(failures)
    assert len(statuses) >= 2 * len(all_operations())
    assert any(200 <= s < 300 for s in statuses) and max(statuses) < 500
