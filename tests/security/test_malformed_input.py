"""Hostile bodies and query strings get a 4xx problem+json, never a 500, and change nothing.

MongoDB operators where a value belongs (`{"$ne": null}`, `{"$where": "1"}`), keys that
start with `$`, JSON nested 10,000 deep, a 10 MB body, bytes that are not UTF-8: sent to a
representative write endpoint of every service, as a caller the endpoint lets through, so
that what refuses them is the input handling and not the role guard. NUL bytes are in
test_nul_bytes (they are sent to a platform of their own).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.flows import nif_for

from .cast import Cast, Clients, problem_of
from .test_role_matrix import later, soon

pytestmark = pytest.mark.integration

TEN_MB = 10 * 1024 * 1024
OPERATORS: list[Any] = [{"$ne": None}, {"$where": "1"}, {"$gt": ""}, {"$regex": ".*"}]


def registration() -> dict[str, Any]:
    seed = uuid.uuid4().int % 10**8
    return {
        "full_name": "Ines Costa",
        "date_of_birth": "1990-01-01",
        "nif": nif_for(seed),
        "sns_number": f"3{seed:08d}",
        "email": "ines@example.pt",
        "phone": "+351914000000",
        "address": "Rua D, Braga",
        "password": "yet another secret",
    }


@dataclass(frozen=True)
class Write:
    """A write endpoint, who may call it, and a body it accepts."""

    service: str
    method: str
    path: str
    caller: str
    body: Callable[[Cast], dict[str, Any]]

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"

    def url(self, cast: Cast) -> str:
        return self.path.format(citizen_id=cast.citizen_id, practitioner_id=cast.practitioner_id)


WRITES = [
    Write("identity", "POST", "/citizens", "anonymous", lambda c: registration()),
    Write(
        "identity",
        "POST",
        "/auth/token",
        "anonymous",
        lambda c: {
            "username": c.citizen["body"]["sns_number"],
            "password": c.citizen["body"]["password"],
        },
    ),
    Write(
        "identity",
        "PATCH",
        "/citizens/{citizen_id}/contacts",
        "citizen",
        lambda c: {"email": "novo@example.pt", "address": "Rua E, Faro"},
    ),
    Write(
        "consent",
        "POST",
        "/citizens/{citizen_id}/consents",
        "citizen",
        lambda c: {
            "grantee": {"kind": "professional", "id": "P-injection"},
            "categories": ["vaccinations"],
            "purpose": "treatment",
        },
    ),
    Write(
        "records",
        "POST",
        "/records/{citizen_id}/health-summary/allergies",
        "professional",
        lambda c: {"allergy": "Pólen"},
    ),
    Write(
        "records",
        "PUT",
        "/records/{citizen_id}/care-plan",
        "professional",
        lambda c: {
            "goals": ["Caminhar 30 min/dia"],
            "interventions": ["Consulta de nutrição"],
            "responsible_professional": "Dr. Sá",
        },
    ),
    Write(
        "records",
        "POST",
        "/records/{citizen_id}/vaccinations",
        "professional",
        lambda c: {
            "vaccine": "Hepatite B",
            "dose_number": 2,
            "administered_on": later(-3),
            "lot": f"HB-{uuid.uuid4().hex[:6]}",
        },
    ),
    Write(
        "requests",
        "POST",
        "/referrals",
        "professional",
        lambda c: {
            "citizen_id": c.citizen_id,
            "specialty": "Dermatologia",
            "hospital": "Hospital de Braga",
            "priority": "normal",
        },
    ),
    Write(
        "requests",
        "POST",
        "/practitioners/{practitioner_id}/slots",
        "professional",
        lambda c: {"starts_at": soon(6), "duration_minutes": 30},
    ),
    Write(
        "benefits",
        "POST",
        "/citizens/{citizen_id}/exemptions",
        "citizen",
        lambda c: {
            "category": "unemployed",
            "evidence": [{"kind": "IEFP declaration", "reference": "IEFP-9"}],
            "household_monthly_income_per_person": "300.00",
        },
    ),
]


def string_leaves(body: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path to every string value in a JSON document."""
    if isinstance(body, str):
        yield path
    elif isinstance(body, dict):
        for key, value in body.items():
            yield from string_leaves(value, (*path, key))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            yield from string_leaves(value, (*path, index))


def replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    if isinstance(body, dict):
        return {**body, head: replaced(body[head], tuple(rest), value)}
    return [replaced(v, tuple(rest), value) if i == head else v for i, v in enumerate(body)]


def objects(body: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path to every object in a JSON document (the body itself first)."""
    if isinstance(body, dict):
        yield path
        for key, value in body.items():
            yield from objects(value, (*path, key))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            yield from objects(value, (*path, index))


def at(body: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        body = body[step]
    return body


def four_hundreds(response: Any, what: str) -> None:
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text[:300])
    problem_of(response, response.status_code)


async def send(api: Clients, cast: Cast, write: Write, **request: Any) -> Any:
    headers = {**cast.headers[write.caller], **request.pop("headers", {})}
    return await api[write.service].request(
        write.method, write.url(cast), headers=headers, **request
    )


@pytest.fixture(scope="module", autouse=True)
async def _the_valid_bodies_are_accepted(api: Clients, cast: Cast) -> AsyncIterator[None]:
    """Each valid body passes (or fails on its data only), so a 422 below is the injection's."""
    for write in WRITES:
        response = await send(api, cast, write, json=write.body(cast))
        assert response.status_code not in (400, 401, 403, 413, 422), (str(write), response.text)
        assert response.status_code < 500, (str(write), response.text)
    yield


@pytest.mark.parametrize("write", WRITES, ids=str)
async def test_a_mongodb_operator_where_a_value_belongs_is_refused(
    write: Write,
    api: Clients,
    cast: Cast,
) -> None:
    body = write.body(cast)
    for path in string_leaves(body):
        for operator in OPERATORS:
            response = await send(api, cast, write, json=replaced(body, path, operator))
            four_hundreds(response, f"{path} = {operator}")


@pytest.mark.parametrize("write", WRITES, ids=str)
async def test_a_key_starting_with_a_dollar_is_refused_at_every_level(
    write: Write,
    api: Clients,
    cast: Cast,
) -> None:
    body = write.body(cast)
    for path in objects(body):
        for key, value in (("$where", "1"), ("$set", {"role": "operator"}), ("$ne", None)):
            changed = replaced(body, path, {**at(body, path), key: value})
            four_hundreds(await send(api, cast, write, json=changed), f"{path}.{key}")


@pytest.mark.parametrize("write", WRITES, ids=str)
async def test_json_nested_ten_thousand_deep_is_refused(
    write: Write, api: Clients, cast: Cast
) -> None:
    json_type = {"content-type": "application/json"}
    arrays = "[" * 10_000 + "]" * 10_000
    objects_ = '{"a":' * 10_000 + "1" + "}" * 10_000
    for content in (arrays, objects_, '{"x": ' + arrays + "}"):
        response = await send(api, cast, write, content=content, headers=json_type)
        four_hundreds(response, content[:12])


@pytest.mark.parametrize("write", WRITES, ids=str)
async def test_a_ten_megabyte_body_is_refused_as_too_large(
    write: Write, api: Clients, cast: Cast
) -> None:
    content = b'{"x": "' + b"a" * TEN_MB + b'"}'
    response = await send(
        api, cast, write, content=content, headers={"content-type": "application/json"}
    )
    problem_of(response, 413)


async def ten_megabytes() -> AsyncIterator[bytes]:
    yield b'{"x": "'
    for _ in range(10):
        yield b"a" * (1024 * 1024)
    yield b'"}'


async def test_a_ten_megabyte_body_streamed_without_a_length_is_refused_as_too_large(
    api: Clients,
    cast: Cast,
) -> None:
    write = WRITES[4]  # records: a professional adds an allergy
    response = await send(
        api, cast, write, content=ten_megabytes(), headers={"content-type": "application/json"}
    )
    problem_of(response, 413)


@pytest.mark.parametrize("write", WRITES, ids=str)
async def test_bytes_that_are_not_utf8_are_refused(write: Write, api: Clients, cast: Cast) -> None:
    json_type = {"content-type": "application/json"}
    body = write.body(cast)
    for path in string_leaves(body):
        marker = "\ue000MARK\ue000"
        text = replaced(body, path, marker)
        raw = json.dumps(text, ensure_ascii=False).encode()
        for bad in (b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"):
            content = raw.replace(marker.encode(), b"ok" + bad + b"ok")
            response = await send(api, cast, write, content=content, headers=json_type)
            four_hundreds(response, f"{path} with {bad!r}")


# --- query strings: operators smuggled in as bracketed keys or as values

QUERIES = [
    ("consent", "/citizens/{citizen_id}/consents", "citizen"),
    ("consent", "/citizens/{citizen_id}/access-history", "citizen"),
    ("records", "/records/{citizen_id}/vaccinations", "professional"),
    ("requests", "/practitioners/{practitioner_id}/renewals", "professional"),
    ("benefits", "/exemptions/pending", "benefits_officer"),
]
SMUGGLED = [
    {"status[$ne]": "active"},
    {"citizen_id[$ne]": "x"},
    {"$where": "1"},
    {"limit[$gt]": "0"},
    {"practitioner_id[$regex]": ".*"},
    {"emergency_reason[$ne]": "x"},
]
AS_VALUES = [
    {"status": '{"$ne": null}'},
    {"as_of": '{"$gt": ""}'},
    {"limit": '{"$gt": 0}'},
    {"purpose": '{"$ne": null}'},
    {"from": '{"$gte": ""}'},
]


@pytest.mark.parametrize(
    ("service", "path", "caller"), QUERIES, ids=[f"{s} GET {p}" for s, p, _ in QUERIES]
)
async def test_operators_in_a_query_string_are_ignored_or_refused(
    service: str,
    path: str,
    caller: str,
    api: Clients,
    cast: Cast,
) -> None:
    url = path.format(citizen_id=cast.citizen_id, practitioner_id=cast.practitioner_id)
    headers = cast.headers[caller]
    plain = await api[service].get(url, headers=headers)
    assert plain.status_code == 200, plain.text
    for params in SMUGGLED:
        smuggled = await api[service].get(url, headers=headers, params=params)
        assert smuggled.status_code == 200, (params, smuggled.text)
        if "access" not in path and "vaccinations" not in path:  # reads add to these
            assert smuggled.json() == (await api[service].get(url, headers=headers)).json()
    for params in AS_VALUES:
        response = await api[service].get(url, headers=headers, params=params)
        assert response.status_code < 500, (params, response.text)
        if response.status_code != 200:
            four_hundreds(response, str(params))
