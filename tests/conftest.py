"""The test harness: a real database (SQLite, or PostgreSQL with PFMP_TEST_DATABASE=postgres),
the real ASGI app over HTTP (httpx + ASGITransport), real signed tokens, one client per role.

A baseline database (migrations, built-in frameworks, demo data) is built once
per session; each test gets its own copy (a file copy on SQLite, CREATE
DATABASE … TEMPLATE on PostgreSQL), so tests never see each other's writes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import queue
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from tortoise import Tortoise, connections
from tortoise.migrations.api.migrate import migrate

from graph.app import create_app
from graph.database import prepare_database
from graph.settings import Settings, tortoise_config
from models.users import Role, User
from permissions.tokens import issue_token
from resolvers.demo import DEMO_ACCOUNTS
from tests.postgres import ThrowawayCluster
from tests.storage import SeaweedServer

TOKEN_SECRET = "test-secret-" + "x" * 40
_counter = itertools.count()


def _settings(tmp: Path, database_url: str, **overrides) -> Settings:
    values = dict(
        environment="development",
        data_dir=tmp,
        database_url=database_url,
        annex_dir=tmp / "annexes",
        token_secret=TOKEN_SECRET,
        token_lifetime=3600,
        token_issuer="pfmp",
        upload_limit=2 * 1024 * 1024,
        request_body_limit=2 * 1024 * 1024 + 256 * 1024,
        cors_origins=("https://front.example.test",),
        graphiql=True,
    )
    values.update(overrides)
    (tmp / "annexes").mkdir(parents=True, exist_ok=True)
    return Settings(**values)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def backend() -> str:
    return os.environ.get("PFMP_TEST_DATABASE", "sqlite")


@pytest.fixture(scope="session")
def server_url(backend) -> AsyncIterator[str | None]:
    """The PostgreSQL server URL (a throwaway cluster unless DATABASE_URL names one)."""
    if backend != "postgres":
        yield None
        return
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        yield os.environ["DATABASE_URL"].replace("postgresql://", "postgres://", 1)
        return
    cluster = ThrowawayCluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


async def _pg_admin(server: str, *statements: str) -> None:
    conn = await asyncpg.connect(server.replace("postgres://", "postgresql://", 1))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def scratch_database(backend, server_url, tmp_path, request) -> AsyncIterator[str]:
    """The URL of an empty database of the kind under test, this test's own (a migration test migrates it where it
    needs, the generator fills it), dropped at the end on PostgreSQL."""
    if backend != "postgres":
        yield f"sqlite://{tmp_path / 'scratch.sqlite3'}"
        await Tortoise.close_connections()
        return
    name = f"pfmp_scratch_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    await _pg_admin(server_url, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    try:
        yield _with_database(server_url, name)
    finally:
        await Tortoise.close_connections()
        await _pg_admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def migrated_holding(url: str, target: str, statements: list[str]) -> None:
    """Migrates the database at `url` up to the migration `target` (e.g. "models.0002_foreign_key_indexes"), then
    writes the rows of `statements` (SQL of the schema at that point)."""
    await migrate(config=tortoise_config(url), target=target)
    try:
        connection = connections.get("default")
        for statement in statements:
            await connection.execute_script(statement)
    finally:
        await Tortoise.close_connections()


def json_column(value):
    """A JSON column's value as read back by either driver (text on SQLite, decoded on PostgreSQL)."""
    return json.loads(value) if isinstance(value, str) else value


@pytest.fixture(scope="session")
async def baseline(backend, server_url, tmp_path_factory) -> str:
    """URL of the database every test copies: migrated, frameworks and demo data loaded."""
    tmp = tmp_path_factory.mktemp("baseline")
    shared = os.environ.get("PFMP_TEST_BASELINE")
    if shared and backend == "sqlite":
        # bench/mutation.sh starts thousands of short pytest sessions: they share one baseline file
        if not Path(shared).exists():
            await prepare_database(_settings(tmp, f"sqlite://{shared}"), demo=True)
        return f"sqlite://{shared}"
    if backend == "postgres":
        await _pg_admin(server_url, "DROP DATABASE IF EXISTS pfmp_baseline", "CREATE DATABASE pfmp_baseline")
        url = _with_database(server_url, "pfmp_baseline")
    else:
        url = f"sqlite://{tmp / 'baseline.sqlite3'}"
    await prepare_database(_settings(tmp, url), demo=True)
    return url


def copy_of_baseline(name: str) -> str:
    """The statement that copies the baseline database. FILE_COPY copies its files at once (two checkpoints, cheap
    on the throwaway cluster without fsync): about ten times faster here than PostgreSQL 15's default, which
    writes every page of the copy through the WAL."""
    return f"CREATE DATABASE {name} TEMPLATE pfmp_baseline STRATEGY FILE_COPY"


class BaselineCopies:
    """Copies of the baseline database made ahead, and the used ones dropped, by a thread of their own: the
    PostgreSQL server copies on the other core while a test runs, so no test waits for its copy (a copy is about
    as long as a short test)."""

    AHEAD = 2

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.requests: queue.Queue[tuple[str, str]] = queue.Queue()
        self.ready: queue.Queue[str] = queue.Queue()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), name="baseline-copies", daemon=True)

    def start(self) -> BaselineCopies:
        for _ in range(self.AHEAD):
            self.requests.put(("copy", f"pfmp_test_{os.getpid()}_{next(_counter)}"))
        self.thread.start()
        return self

    async def _serve(self) -> None:
        conn = await asyncpg.connect(self.server_url.replace("postgres://", "postgresql://", 1))
        try:
            while True:
                action, name = self.requests.get()
                if action == "stop":
                    # Copies made ahead and never taken: dropped too, for a server the suite does not throw away.
                    while not self.ready.empty():
                        await conn.execute(f"DROP DATABASE IF EXISTS {self.ready.get()} WITH (FORCE)")
                    return
                if action == "drop":
                    await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                else:
                    await conn.execute(copy_of_baseline(name))
                    self.ready.put(name)
        except BaseException as exc:
            self.failure = exc
            self.ready.put("")
        finally:
            await conn.close()

    async def take(self) -> str:
        """A fresh copy's name; the next one is asked for at once."""
        self.requests.put(("copy", f"pfmp_test_{os.getpid()}_{next(_counter)}"))
        name = await asyncio.to_thread(self.ready.get, timeout=300)
        if self.failure is not None:
            raise RuntimeError("copying the baseline database failed") from self.failure
        return name

    def give_back(self, name: str) -> None:
        self.requests.put(("drop", name))

    def stop(self) -> None:
        self.requests.put(("stop", ""))
        self.thread.join(timeout=60)


@pytest.fixture(scope="session")
def baseline_copies(backend, server_url, baseline) -> Iterator[BaselineCopies | None]:
    if backend != "postgres":
        yield None
        return
    copies = BaselineCopies(server_url).start()
    try:
        yield copies
    finally:
        copies.stop()


@pytest.fixture
async def database_url(backend, server_url, baseline, baseline_copies, tmp_path) -> AsyncIterator[str]:
    if baseline_copies is not None:
        name = await baseline_copies.take()
        try:
            yield _with_database(server_url, name)
        finally:
            baseline_copies.give_back(name)
    else:
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(baseline.removeprefix("sqlite://"), path)
        yield f"sqlite://{path}"


@pytest.fixture(scope="session")
def s3_server() -> AsyncIterator[SeaweedServer]:
    """A real S3-compatible server (SeaweedFS) for the session, started by the first test that needs it."""
    server = SeaweedServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def storage(request) -> str:
    """Where the test's annex files live: "local" (the folder, the default) or "s3"; tests that run on both say
    `@pytest.mark.parametrize("storage", STORAGES, indirect=True)`."""
    return getattr(request, "param", "local")


STORAGES = ["local", "s3"]


@pytest.fixture
def settings(request, tmp_path, database_url, storage) -> Settings:
    if storage == "s3":
        server = request.getfixturevalue("s3_server")
        # Each test under its own prefix of the one bucket: it sees only its own objects.
        return _settings(tmp_path, database_url, storage=server.location(f"t{os.getpid()}-{next(_counter)}"))
    return _settings(tmp_path, database_url)


@pytest.fixture
async def app(settings):
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


class Api:
    """One HTTP client signed in as someone (or no one), speaking GraphQL to the real app."""

    def __init__(
        self, http: httpx.AsyncClient, token: str | None = None, user: User | None = None, language: str | None = None
    ):
        self.http = http
        self.token = token
        self.user = user
        self.language = language

    def speaking(self, language: str) -> Api:
        """The same client, sending `Accept-Language: <language>` (messages are in French without it)."""
        return Api(self.http, self.token, self.user, language)

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if self.language:
            headers["Accept-Language"] = self.language
        return headers

    async def post(self, query: str, variables: dict | None = None, **kwargs) -> httpx.Response:
        return await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={**self.headers, **kwargs.pop("headers", {})},
            **kwargs,
        )

    async def execute(self, query: str, **variables) -> dict:
        """The whole JSON answer (data and errors)."""
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, **variables) -> dict:
        """`data`, asserting there were no top-level errors."""
        body = await self.execute(query, **variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def error_code(self, query: str, **variables) -> str:
        body = await self.execute(query, **variables)
        assert body.get("errors"), body
        return body["errors"][0]["extensions"]["code"]


@pytest.fixture
async def http(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def token_for(user: User, settings: Settings, **overrides) -> str:
    values = dict(
        secret=settings.token_secret,
        issuer=settings.token_issuer,
        lifetime=settings.token_lifetime,
        user_id=user.id,
        role=user.role.value,
        school_id=user.school_id,
        token_version=user.token_version,
    )
    values.update(overrides)
    return issue_token(**values)[0]


DEMO_EMAIL = {role: email for role, email, *_ in DEMO_ACCOUNTS}


async def _client_for(role: Role, http, settings) -> Api:
    user = await User.get(email=DEMO_EMAIL[role])
    return Api(http, token_for(user, settings), user)


@pytest.fixture
async def admin(http, settings) -> Api:
    return await _client_for(Role.ADMIN, http, settings)


@pytest.fixture
async def teacher(http, settings) -> Api:
    return await _client_for(Role.TEACHER, http, settings)


@pytest.fixture
async def learner(http, settings) -> Api:
    return await _client_for(Role.LEARNER, http, settings)


@pytest.fixture
async def tutor(http, settings) -> Api:
    return await _client_for(Role.TUTOR, http, settings)


@pytest.fixture
async def master(http, settings) -> Api:
    return await _client_for(Role.MASTER, http, settings)


@pytest.fixture
async def anonymous(http) -> Api:
    return Api(http)


@pytest.fixture
async def clients(admin, teacher, learner, tutor, master, anonymous) -> dict[str | None, Api]:
    return {
        Role.ADMIN: admin,
        Role.TEACHER: teacher,
        Role.LEARNER: learner,
        Role.TUTOR: tutor,
        Role.MASTER: master,
        None: anonymous,
    }


class SqlCounter(logging.Handler):
    """Counts the SQL statements Tortoise sends (its db_client logger, at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
            self.statements.append(message)

    def reset(self) -> None:
        self.statements.clear()

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def sql_counter():
    logger = logging.getLogger("tortoise.db_client")
    handler = SqlCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
