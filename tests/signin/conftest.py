"""Sign-in tests: the app with a clock the test moves (no sleeping) and clients at chosen socket addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from graph.app import create_app
from tests.conftest import Api, _settings

LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    token passwordChangeRequired retryAfter errors { field code reason message }
  }
}"""


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def trusted_proxies() -> tuple:
    return ()


@pytest.fixture
def signin_throttle() -> bool:
    return True


@pytest.fixture
def settings(tmp_path, database_url, clock, trusted_proxies, signin_throttle):
    # Refusals answer at once here: the delay is measured by bench/flood.py, not waited for by every test.
    return _settings(
        tmp_path,
        database_url,
        clock=clock,
        trusted_proxies=trusted_proxies,
        signin_throttle=signin_throttle,
        signin_refusal_delay=0,
    )


class Peer:
    """HTTP clients of the app whose socket address is `host` (what the server sees as the peer)."""

    def __init__(self, app):
        self.app = app
        self._clients: list[httpx.AsyncClient] = []

    def at(self, host: str) -> Api:
        transport = httpx.ASGITransport(app=self.app, client=(host, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self._clients.append(client)
        return Api(client)

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


@pytest.fixture
async def peers(app) -> AsyncIterator[Peer]:
    peer = Peer(app)
    try:
        yield peer
    finally:
        await peer.close()


async def login(api: Api, email: str, password: str, headers: dict | None = None) -> tuple[dict, httpx.Response]:
    response = await api.post(LOGIN, {"email": email, "password": password}, headers=headers or {})
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]["login"], response


def make_app(settings):
    return create_app(settings)
