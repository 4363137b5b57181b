import httpx
import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, OperationalError
from fastapi import FastAPI
from psycopg_pool import PoolTimeout
from pymongo.errors import ServerSelectionTimeoutError

from rse_shared.http import install_problem_handlers


def raising(error: Exception) -> FastAPI:
    api = FastAPI()
    install_problem_handlers(api, {IntegrityError: 409})

    @api.post("/command")
    async def command() -> None:
        raise error

    return api


async def answer_to(error: Exception) -> httpx.Response:
    transport = httpx.ASGITransport(app=raising(error))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post("/command")


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("connection refused"),
        PoolTimeout("couldn't get a connection after 1.00 sec"),
        psycopg.OperationalError("server closed the connection unexpectedly"),
        ServerSelectionTimeoutError("127.0.0.1:27018: connection refused"),
    ],
    ids=["event store", "pool", "psycopg", "mongo"],
)
async def test_a_store_that_does_not_answer_is_503_with_retry_after(error: Exception) -> None:
    response = await answer_to(error)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert "refused" not in response.text and "connection" not in response.text


async def test_a_conflict_stays_409() -> None:
    response = await answer_to(IntegrityError("duplicate key value violates unique constraint"))
    assert response.status_code == 409
    assert "duplicate key" not in response.text
