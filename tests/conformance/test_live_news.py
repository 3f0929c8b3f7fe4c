"""Live news through a real server and a real graphql-transport-ws client (gql's websockets transport).

The server is a `pfmp serve` process on this test's copy of the demo database (SQLite or PostgreSQL, as the suite
runs); the test process reaches the same database to add a second teacher and a second learner's account and mints
their tokens with the server's secret. Writes go through the server over HTTP; each subscriber's news is read in
the order it arrives, so "the first news this subscriber gets is its own" proves it received nothing before it.
On PostgreSQL, a second server process on the same database shows an event published by one reaching a subscriber
of the other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.exceptions import ConnectionClosed

from graph.types.common import encode_id
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import Classroom
from models.users import Role, User
from tests.conformance.server import ServerProcess
from tests.conftest import DEMO_EMAIL, TOKEN_SECRET, token_for

NEWS = gql("""subscription($portfolio: ID) { news(portfolioId: $portfolio) {
  kind subjectId portfolioId activityFiche { id title } liaisonFiche { id workplace { companyName } } bilan { id status } } }""")


def news(portfolio: str | None = None) -> GraphQLRequest:
    return GraphQLRequest(NEWS, variable_values={"portfolio": portfolio})


CREATE = """mutation($p: ID!, $t: String!) { activityFicheCreate(input: {portfolioId: $p, title: $t, description: "x"}) {
  activityFiche { id } errors { code } } }"""
DELETE = "mutation($id: ID!) { activityFicheDelete(input: {id: $id}) { errors { code } } }"
WORKPLACE = """mutation($id: ID!, $v: Int!) { liaisonFicheWorkplaceUpdate(input: {id: $id, version: $v, companyName: "Volt & Co", activityDomain: "Tertiaire", tutorName: "Eude Toutcourt"}) { errors { code } } }"""
# How long a subscriber waits for news that must come; and how long the refusals may take.
WAIT = 10


@pytest.fixture
async def people(app, settings) -> dict[str, tuple[str, User]]:
    """Tokens of the subscribers: the demo teacher (both classrooms), a teacher of « CAP 1 ELEC » only, the demo
    learner (CAPELECT), a learner of « CAP 1 ELEC », the demo tutor (Angélique's portfolio)."""
    demo_teacher = await User.get(email=DEMO_EMAIL[Role.TEACHER])
    other_classroom = await Classroom.get(name="CAP 1 ELEC")
    other_teacher = await User.create(
        school_id=demo_teacher.school_id,
        role=Role.TEACHER,
        email="autre.prof@demo.pfmp.test",
        first_name="Paul",
        last_name="AUTRE",
    )
    await other_classroom.teachers.add(other_teacher)
    other_learner = await User.get(last_name="CARLIER")
    found = {
        "teacher": demo_teacher,
        "other_teacher": other_teacher,
        "learner": await User.get(email=DEMO_EMAIL[Role.LEARNER]),
        "other_learner": other_learner,
        "tutor": await User.get(email=DEMO_EMAIL[Role.TUTOR]),
    }
    return {name: (token_for(user, settings), user) for name, user in found.items()}


def start_server(tmp_path, database_url: str, name: str) -> ServerProcess:
    server = ServerProcess(
        tmp_path / name,
        args=(),
        extra_env={"DATABASE_URL": database_url, "PFMP_TOKEN_SECRET": TOKEN_SECRET, "PFMP_SIGNIN_THROTTLE": "0"},
    )
    server.start()
    return server


@pytest.fixture
def server(tmp_path, database_url):
    process = start_server(tmp_path, database_url, "one")
    yield process
    process.stop()


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


class Subscriber:
    """One graphql-transport-ws connection with one `news` subscription, its news gathered in a queue."""

    def __init__(self, base: str, token: str | None, portfolio: str | None = None):
        init = {"Authorization": f"Bearer {token}"} if token else {}
        self.transport = WebsocketsTransport(
            url=ws_url(base), init_payload=init, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL]
        )
        self.portfolio = portfolio
        self.news: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def _run(self, session) -> None:
        async for answer in session.subscribe(news(self.portfolio)):
            await self.news.put(answer["news"])

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[Subscriber]:
        async with Client(transport=self.transport) as session:
            self.task = asyncio.create_task(self._run(session))
            # The subscription is registered once the server has run the resolver up to its first wait.
            await asyncio.sleep(0.5)
            try:
                yield self
            finally:
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self.task

    async def next(self) -> dict:
        waiting = asyncio.ensure_future(self.news.get())
        assert self.task is not None
        done, _ = await asyncio.wait({waiting, self.task}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        if waiting not in done:
            waiting.cancel()
            # the subscription ended (its error shows here) or nothing came in time
            raise AssertionError(self.task.exception() if self.task.done() else "no news in time")
        return waiting.result()


async def post(base: str, token: str, query: str, **variables) -> dict:
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(
            f"{base}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


async def portfolio_of(learner: User) -> str:
    row = await Portfolio.filter(learner_id=learner.id).order_by("id").first()
    assert row is not None
    return encode_id("Portfolio", row.id)


async def create_fiche(base: str, token: str, portfolio: str, title: str) -> str:
    data = await post(base, token, CREATE, p=portfolio, t=title)
    assert data["activityFicheCreate"]["errors"] == []
    return data["activityFicheCreate"]["activityFiche"]["id"]


async def test_each_subscriber_hears_only_of_the_fiches_they_read(server, people):
    base = server.base
    token = {name: t for name, (t, _) in people.items()}
    mine, theirs = await portfolio_of(people["learner"][1]), await portfolio_of(people["other_learner"][1])
    subscribers = {name: Subscriber(base, token[name]) for name in token}
    async with contextlib.AsyncExitStack() as stack:
        for subscriber in subscribers.values():
            await stack.enter_async_context(subscriber.listening())

        # Angélique (CAPELECT) writes a fiche, then Matis (CAP 1 ELEC) does
        first = await create_fiche(base, token["learner"], mine, "Câblage d'un tableau")
        second = await create_fiche(base, token["other_learner"], theirs, "Pose de goulottes")

        # the teacher of both classrooms hears of both, in order
        assert [(n["kind"], n["subjectId"]) for n in [await subscribers["teacher"].next() for _ in range(2)]] == [
            ("FICHE_CREATED", first),
            ("FICHE_CREATED", second),
        ]
        # the teacher of CAP 1 ELEC only, and Matis, hear first of Matis's fiche: never of Angélique's
        for name in ("other_teacher", "other_learner"):
            news = await subscribers[name].next()
            assert (news["kind"], news["subjectId"], news["portfolioId"]) == ("FICHE_CREATED", second, theirs), name
            assert news["activityFiche"] == {"id": second, "title": "Pose de goulottes"}
        # Angélique and her tutor hear of hers, the fiche as it stands
        for name in ("learner", "tutor"):
            news = await subscribers[name].next()
            assert news["activityFiche"] == {"id": first, "title": "Câblage d'un tableau"}, name

        # Angélique deletes hers: staff hear of a deletion, with the fiche; her tutor and herself that it is gone
        assert (await post(base, token["learner"], DELETE, id=first))["activityFicheDelete"]["errors"] == []
        deleted = await subscribers["teacher"].next()
        assert (deleted["kind"], deleted["activityFiche"]["id"]) == ("FICHE_DELETED", first)
        for name in ("tutor", "learner"):
            gone = await subscribers[name].next()
            assert gone == {
                "kind": "FICHE_NO_LONGER_VISIBLE",
                "subjectId": first,
                "portfolioId": mine,
                "activityFiche": None,
                "liaisonFiche": None,
                "bilan": None,
            }, name

        # Angélique's liaison fiche changes: her tutor hears of it; Matis's queue holds nothing of hers
        liaison = await LiaisonFiche.get(portfolio__learner_id=people["learner"][1].id)
        changed = await post(
            base, token["learner"], WORKPLACE, id=encode_id("LiaisonFiche", liaison.id), v=liaison.version
        )
        assert changed["liaisonFicheWorkplaceUpdate"]["errors"] == []
        news = await subscribers["tutor"].next()
        assert (news["kind"], news["liaisonFiche"]["workplace"]["companyName"]) == (
            "LIAISON_FICHE_CHANGED",
            "Volt & Co",
        )
        assert (await subscribers["teacher"].next())["kind"] == "LIAISON_FICHE_CHANGED"
        for name in ("other_teacher", "other_learner"):
            assert subscribers[name].news.empty(), name


async def test_a_subscription_narrowed_to_a_portfolio_hears_of_that_portfolio_only(server, people):
    base = server.base
    teacher = people["teacher"][0]
    mine, theirs = await portfolio_of(people["learner"][1]), await portfolio_of(people["other_learner"][1])
    async with Subscriber(base, teacher, portfolio=theirs).listening() as narrowed:
        await create_fiche(base, people["learner"][0], mine, "Pas pour ce portfolio")
        second = await create_fiche(base, people["other_learner"][0], theirs, "Pour ce portfolio")
        assert (await narrowed.next())["subjectId"] == second


async def test_a_connection_without_a_valid_token_is_closed_with_4403(server, people, settings):
    revoked = token_for(people["learner"][1], settings, token_version=people["learner"][1].token_version + 1)
    # an account still on the temporary password staff gave it: nothing but passwordChange until it is changed
    temporary = people["other_teacher"][1]
    await User.filter(id=temporary.id).update(password_change_required=True)
    for token in (None, "not-a-token", revoked, people["other_teacher"][0]):
        with pytest.raises(TransportConnectionFailed) as failed:
            async with Client(transport=Subscriber(server.base, token).transport) as session:
                async for _ in session.subscribe(news()):
                    pass
        closed = failed.value.__cause__
        assert isinstance(closed, ConnectionClosed) and closed.rcvd is not None, token
        assert (closed.rcvd.code, closed.rcvd.reason) == (4403, "Forbidden"), token


async def test_a_subscription_to_a_portfolio_out_of_reach_is_refused(server, people):
    # Matis's portfolio, asked by Angélique; then an ID that is not a portfolio's
    theirs = await portfolio_of(people["other_learner"][1])
    for portfolio, code in ((theirs, "FORBIDDEN"), (encode_id("Period", 1), "BAD_USER_INPUT")):
        async with Client(transport=Subscriber(server.base, people["learner"][0]).transport) as session:
            with pytest.raises(TransportQueryError) as refused:
                async for _ in session.subscribe(news(portfolio)):
                    pass
        assert refused.value.errors is not None and refused.value.errors[0]["extensions"]["code"] == code


async def test_an_event_published_by_one_process_reaches_a_subscriber_of_another(
    backend, tmp_path, database_url, people
):
    if backend != "postgres":
        pytest.skip("two processes share live events through PostgreSQL only (SQLite: one worker)")
    first = start_server(tmp_path, database_url, "first")
    second = start_server(tmp_path, database_url, "second")
    try:
        mine = await portfolio_of(people["learner"][1])
        async with Subscriber(first.base, people["teacher"][0]).listening() as teacher:
            fiche = await create_fiche(second.base, people["learner"][0], mine, "Écrite par l'autre processus")
            news = await teacher.next()
            assert (news["kind"], news["subjectId"]) == ("FICHE_CREATED", fiche)
    finally:
        second.stop()
        first.stop()


def test_several_workers_on_sqlite_say_at_start_that_live_events_need_one(backend, tmp_path, database_url):
    if backend != "sqlite":
        pytest.skip("the note is SQLite's")
    server = ServerProcess(tmp_path / "workers", args=("--workers", "2"), extra_env={"DATABASE_URL": database_url})
    try:
        server.start()
    finally:
        server.stop()
    assert "live events (GraphQL subscriptions) need a single worker on SQLite" in server.log()


async def test_signing_out_everywhere_ends_a_subscription_before_its_next_news(server, people):
    base = server.base
    mine = await portfolio_of(people["learner"][1])
    async with Subscriber(base, people["teacher"][0]).listening() as teacher:
        signed_out = await post(base, people["teacher"][0], "mutation { signOutEverywhere { errors { code } } }")
        assert signed_out["signOutEverywhere"]["errors"] == []
        await create_fiche(base, people["learner"][0], mine, "Après la déconnexion")
        assert teacher.task is not None
        await asyncio.wait_for(asyncio.wait({teacher.task}), WAIT)
        error = teacher.task.exception()
        assert isinstance(error, TransportQueryError) and error.errors is not None
        assert error.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert teacher.news.empty()


async def test_the_listening_connection_comes_back_after_postgresql_drops_it(backend, server, people, database_url):
    if backend != "postgres":
        pytest.skip("SQLite has no LISTEN connection")
    mine = await portfolio_of(people["learner"][1])
    async with Subscriber(server.base, people["teacher"][0]).listening() as teacher:
        # the server's LISTEN connection is ended by the database (a failover, an admin, a restart would do as much)
        connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
        try:
            ended = await connection.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN%' AND datname = current_database()"
            )
        finally:
            await connection.close()
        # the server's and this test process's own (its app fixture listens too)
        assert ended == 2
        # it listens again within a second or so; what is written after that is heard
        await asyncio.sleep(2)
        fiche = await create_fiche(server.base, people["learner"][0], mine, "Après la coupure")
        news = await teacher.next()
        assert (news["kind"], news["subjectId"]) == ("FICHE_CREATED", fiche)
    assert "the LISTEN connection was lost, reconnecting" in server.log()
