"""Requests generated from each service's own OpenAPI document never get a 5xx.

Schemathesis generates valid and invalid requests for every operation (25 per operation,
derandomised, so a run is reproducible), each sent as a caller the role table lets through
(with the quarantine cast's own citizen and practitioner ids in the path, to get past the
guards), and checks every answer with its `not_a_server_error` check. Generated text
contains NUL bytes, which stall the projections (see test_nul_bytes): hence a quarantine
platform.

The requests go through the services' httpx ASGI clients on the test's event loop rather
than through schemathesis' own ASGI transport: that one starts the app's lifespan (the
services' workers) a second time and runs the app on an event loop of its own, where the
services' MongoDB client (bound to the test's loop) cannot be used.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Platform

from .cast import Cast, build_cast
from .test_role_matrix import TABLE

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 25
DEPENDENCY = '"schemathesis>=4.32"'
PREFERRED = ("citizen", "professional", "benefits_officer", "auditor", "operator")
NOT_FUZZED = ("/health/", "/metrics", "/.well-known/")


def require_schemathesis() -> None:
    if importlib.util.find_spec("schemathesis") is None:
        pytest.fail(
            f"schemathesis is not installed: add {DEPENDENCY} to the dev dependency "
            "group in pyproject.toml ([dependency-groups] dev), then uv sync",
            pytrace=False,
        )


def caller_for(service: str, method: str, path: str) -> str:
    """The first role, in PREFERRED order, that the role table lets through."""
    for rule in TABLE:
        if (rule.service, rule.method, rule.path) == (service, method.upper(), path):
            return next((role for role in PREFERRED if role in rule.allowed), "anonymous")
    raise AssertionError(f"{service} {method} {path} is not in the role table")


def sender(
    client: httpx.AsyncClient,
    loop: asyncio.AbstractEventLoop,
) -> Callable[[dict[str, Any]], httpx.Response]:
    """Send a schemathesis case's requests-style arguments through `client`, on `loop`."""
    import requests

    def send(kwargs: dict[str, Any]) -> httpx.Response:
        names = ("method", "url", "headers", "params", "cookies", "data", "json", "files")
        prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in names}).prepare()
        headers = {
            k: v
            for k, v in prepared.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding")
        }
        call: Awaitable[httpx.Response] = client.request(
            prepared.method or "GET", prepared.url or "", headers=headers, content=prepared.body
        )
        return asyncio.run_coroutine_threadsafe(call, loop).result(timeout=60)

    return send


def fuzz(
    operation: Any,
    headers: dict[str, str],
    path_parameters: dict[str, str],
    send: Callable[[dict[str, Any]], httpx.Response],
    base_url: str,
) -> None:
    """Run the generated cases of one operation (in a worker thread); raise on a failure."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error

    cases = st.one_of(
        *[
            operation.as_strategy(
                mode, headers=headers or None, path_parameters=path_parameters or None
            )
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
    )

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def no_server_error(case: Any) -> None:
        response = send(case.as_transport_kwargs(base_url=base_url))
        case.validate_response(response, checks=[not_a_server_error])

    no_server_error()


@pytest.fixture(scope="module")
async def q_cast(quarantine: Platform) -> Cast:
    return await build_cast(quarantine, quarantine.clients)


# identity last: its operator endpoints may deregister the cast citizen the others rely on.
@pytest.mark.parametrize("service", ["consent", "records", "requests", "benefits", "identity"])
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
async def test_no_generated_request_gets_a_server_error(
    service: str,
    quarantine: Platform,
    q_cast: Cast,
) -> None:
    require_schemathesis()
    import schemathesis

    schema = schemathesis.openapi.from_dict(quarantine.services[service].api.openapi())
    send = sender(quarantine.clients[service], asyncio.get_running_loop())
    ids = {"citizen_id": q_cast.citizen_id, "practitioner_id": q_cast.practitioner_id}
    failures, fuzzed = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(NOT_FUZZED):
            continue
        caller = caller_for(service, operation.method, operation.path)
        fixed = {name: value for name, value in ids.items() if f"{{{name}}}" in operation.path}
        try:
            await asyncio.to_thread(
                fuzz, operation, q_cast.headers[caller], fixed, send, f"http://{service}"
            )
        except (Exception, BaseExceptionGroup) as failure:
            failures.append(
                f"{operation.method.upper()} {operation.path} as {caller}: {str(failure)[:1500]}"
            )
        fuzzed += 1
    assert fuzzed > 0
    assert failures == [], "\n\n".join(failures)
