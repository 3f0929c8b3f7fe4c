"""The response cache (graph/response_cache.py) and the data version stamps (models/stamps.py), through HTTP.

What the issue asks of repeat reads (issue 12, part 4): a repeat read of unchanged data is answered from the cache
(two statements: the token, the stamps); a write through the API, or through another app instance on the same
database (another host), makes the next read fresh; a write in another school does not; a cached answer never
reaches another viewer; GET answers carry an ETag, If-None-Match answers 304 until a write changes the stamps; a
failed mutation and a sign-in bump nothing. `X-Cache` (hit, miss, revalidated) says what the cache did.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx
import pytest
from tortoise.transactions import in_transaction

from graph.app import create_app
from graph.response_cache import ENTRY_OVERHEAD, ResponseCache
from graph.types.common import encode_id
from models.schools import Classroom, School
from models.stamps import DataStamp
from models.users import Role, User
from resolvers.demo import DEMO_PASSWORD
from resolvers.frameworks.importing import BUILTIN_DIR, import_framework, load_builtin_frameworks, parse_framework
from resolvers.people.roster import RosterFormat, parse_roster
from resolvers.people.roster_write import apply_roster
from tests.conformance.server import ServerProcess
from tests.conftest import DEMO_EMAIL, Api, _settings, token_for
from tests.periods.helpers import demo_period, portfolio_of

PERIOD_VIEW = """query($id: ID!) { node(id: $id) { ... on Period { name
  portfolios { nodes { daysDone completedFicheCount learner { fullName classroom { name } } } } } } }"""
DAYS_DONE = """mutation($id: ID!, $days: Decimal) { portfolioDaysDoneSet(input: {id: $id, daysDone: $days}) {
  portfolio { daysDone } errors { code } } }"""


@pytest.fixture
def cached_settings(tmp_path, database_url):
    return _settings(tmp_path, database_url, response_cache_bytes=8 * 1024 * 1024)


@pytest.fixture
async def cached_app(cached_settings):
    application = create_app(cached_settings)
    async with application.router.lifespan_context(application):
        yield application


def _client(application) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver")


@pytest.fixture
async def http_a(cached_app):
    async with _client(cached_app) as client:
        yield client


@pytest.fixture
async def http_b(cached_app, cached_settings):
    """Another app instance on the same database, with its own cache: another host behind the load balancer."""
    async with _client(create_app(cached_settings)) as client:
        yield client


async def _api(http: httpx.AsyncClient, settings, role: Role) -> Api:
    user = await User.get(email=DEMO_EMAIL[role])
    return Api(http, token_for(user, settings), user)


async def _stamps() -> dict[str, int]:
    return {row.scope: row.version for row in await DataStamp.all()}


PERIOD_ID: dict[str, str] = {}


async def _period_view(api: Api) -> httpx.Response:
    if "id" not in PERIOD_ID:
        PERIOD_ID["id"] = encode_id("Period", (await demo_period()).id)
    response = await api.post(PERIOD_VIEW, {"id": PERIOD_ID["id"]})
    assert response.status_code == 200, response.text
    return response


async def test_a_repeat_read_is_served_from_the_cache_in_two_statements(http_a, cached_settings, sql_counter):
    # given a teacher who read their period view once
    teacher = await _api(http_a, cached_settings, Role.TEACHER)
    await demo_period()
    first = await _period_view(teacher)
    assert first.headers["x-cache"] == "miss"
    assert len(first.json()["data"]["node"]["portfolios"]["nodes"]) == 5
    # when they read it again
    sql_counter.reset()
    again = await _period_view(teacher)
    # then the same answer comes from the cache: the token's statement and the stamps' one, nothing else
    assert again.headers["x-cache"] == "hit"
    assert again.content == first.content
    assert sql_counter.count == 2, sql_counter.statements
    assert "data_stamp" in sql_counter.statements[1]


async def test_without_the_setting_nothing_is_cached_and_no_stamp_is_read(teacher, sql_counter):
    # given the app as tests build it (no PFMP_RESPONSE_CACHE_MB): the cache is off
    await _period_view(teacher)
    sql_counter.reset()
    # when the same read comes again
    response = await _period_view(teacher)
    # then it ran again, without reading any stamp
    assert "x-cache" not in response.headers
    assert sql_counter.count > 2
    assert not any("data_stamp" in s for s in sql_counter.statements)


async def test_a_write_through_the_api_makes_the_next_read_fresh(http_a, cached_settings):
    # given a cached period view
    teacher = await _api(http_a, cached_settings, Role.TEACHER)
    await _period_view(teacher)
    assert (await _period_view(teacher)).headers["x-cache"] == "hit"
    # when the teacher records the days one learner did
    portfolio = await portfolio_of("DUPIRE")
    written = await teacher.data(DAYS_DONE, id=encode_id("Portfolio", portfolio.id), days="4.5")
    assert written["portfolioDaysDoneSet"]["errors"] == []
    # then the next read runs again and shows it
    fresh = await _period_view(teacher)
    assert fresh.headers["x-cache"] == "miss"
    rows = fresh.json()["data"]["node"]["portfolios"]["nodes"]
    assert [float(p["daysDone"]) for p in rows if p["learner"]["fullName"] == "Angélique DUPIRE"] == [4.5]


async def test_a_write_through_another_host_makes_the_next_read_fresh_on_both(http_a, http_b, cached_settings):
    # given the period view cached by two app instances on the same database
    on_a = await _api(http_a, cached_settings, Role.TEACHER)
    on_b = await _api(http_b, cached_settings, Role.TEACHER)
    for api in (on_a, on_b):
        await _period_view(api)
        assert (await _period_view(api)).headers["x-cache"] == "hit"
    # when a write goes through the second instance
    portfolio = await portfolio_of("CARLIER")
    await on_b.data(DAYS_DONE, id=encode_id("Portfolio", portfolio.id), days="3")
    # then the first instance, which saw no request of it, answers the next read afresh
    for api in (on_a, on_b):
        fresh = await _period_view(api)
        assert fresh.headers["x-cache"] == "miss"
        rows = fresh.json()["data"]["node"]["portfolios"]["nodes"]
        assert [float(p["daysDone"]) for p in rows if p["learner"]["fullName"] == "Matis CARLIER"] == [3]
    # and the write through the first instance shows on the second
    await on_a.data(DAYS_DONE, id=encode_id("Portfolio", portfolio.id), days="2.5")
    rows = (await _period_view(on_b)).json()["data"]["node"]["portfolios"]["nodes"]
    assert [float(p["daysDone"]) for p in rows if p["learner"]["fullName"] == "Matis CARLIER"] == [2.5]


async def test_a_write_in_another_school_leaves_this_schools_answers_cached(http_a, cached_settings):
    # given an administrator of a second school, and a cached period view in the demo school
    other = await School.create(uai="0123456A", name="Autre lycée")
    other_admin = await User.create(
        school=other, role=Role.ADMIN, email="admin@autre.test", first_name="A", last_name="B"
    )
    teacher = await _api(http_a, cached_settings, Role.TEACHER)
    await _period_view(teacher)
    before = await _stamps()
    # when the other school's administrator creates a level there
    admin_b = Api(http_a, token_for(other_admin, cached_settings), other_admin)
    created = await admin_b.data(
        'mutation { levelCreate(input: {name: "Seconde"}) { level { name } errors { code } } }'
    )
    assert created["levelCreate"]["errors"] == []
    # then only that school's stamp moved, and the demo school's teacher still reads from the cache
    after = await _stamps()
    assert after[f"school:{other.id}"] == before.get(f"school:{other.id}", 0) + 1
    assert {k: v for k, v in after.items() if k != f"school:{other.id}"} == before
    assert (await _period_view(teacher)).headers["x-cache"] == "hit"


async def test_a_cached_answer_never_reaches_another_viewer(http_a, cached_settings):
    # given a second teacher who teaches CAP 1 ELEC only, and the demo teacher (both classrooms) with a cached view
    school_id = (await demo_period()).school_id
    other_teacher = await User.create(
        school_id=school_id, role=Role.TEACHER, email="second@demo.pfmp.test", first_name="B", last_name="BIS"
    )
    await other_teacher.taught_classrooms.add(await Classroom.get(name="CAP 1 ELEC"))
    teacher = await _api(http_a, cached_settings, Role.TEACHER)
    cached = await _period_view(teacher)
    assert (await _period_view(teacher)).headers["x-cache"] == "hit"
    classrooms = {p["learner"]["classroom"]["name"] for p in cached.json()["data"]["node"]["portfolios"]["nodes"]}
    assert classrooms == {"CAP 1 ELEC", "CAPELECT"}
    # when the second teacher and a learner send the same query text with the same variables
    second = await _period_view(Api(http_a, token_for(other_teacher, cached_settings), other_teacher))
    learner = await _period_view(await _api(http_a, cached_settings, Role.LEARNER))
    # then each answer is computed for them: the second teacher sees their classroom's learners only
    assert second.headers["x-cache"] == "miss"
    rows = second.json()["data"]["node"]["portfolios"]["nodes"]
    assert {p["learner"]["classroom"]["name"] for p in rows} == {"CAP 1 ELEC"}
    assert len(rows) == 2
    # and the learner their own portfolio only
    assert learner.headers["x-cache"] == "miss"
    assert [p["learner"]["fullName"] for p in learner.json()["data"]["node"]["portfolios"]["nodes"]] == [
        "Angélique DUPIRE"
    ]
    # and again, from the cache, each still gets their own
    assert (await _period_view(Api(http_a, token_for(other_teacher, cached_settings)))).content == second.content
    assert (await _period_view(await _api(http_a, cached_settings, Role.LEARNER))).content == learner.content
    assert (await _period_view(teacher)).content == cached.content


async def test_a_get_answers_an_etag_then_304_until_a_write_changes_the_stamps(http_a, cached_settings, sql_counter):
    # given a teacher reading their period view by GET
    teacher = await _api(http_a, cached_settings, Role.TEACHER)
    params = urlencode(
        {"query": PERIOD_VIEW, "variables": json.dumps({"id": encode_id("Period", (await demo_period()).id)})}
    )
    first = await http_a.get(f"/graphql?{params}", headers=teacher.headers)
    assert first.status_code == 200
    etag = first.headers["etag"]
    # when they ask again with If-None-Match
    sql_counter.reset()
    again = await http_a.get(f"/graphql?{params}", headers={**teacher.headers, "If-None-Match": etag})
    # then 304, nothing run but the token's and the stamps' statements
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert sql_counter.count == 2, sql_counter.statements
    # and another viewer's If-None-Match with that tag gets their own answer
    learner = await _api(http_a, cached_settings, Role.LEARNER)
    other = await http_a.get(f"/graphql?{params}", headers={**learner.headers, "If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag
    # when a write changes what the view shows
    portfolio = await portfolio_of("LECAM")
    await teacher.data(DAYS_DONE, id=encode_id("Portfolio", portfolio.id), days="1")
    # then the same conditional GET answers 200 with the new data and a new ETag
    fresh = await http_a.get(f"/graphql?{params}", headers={**teacher.headers, "If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.headers["etag"] != etag
    rows = fresh.json()["data"]["node"]["portfolios"]["nodes"]
    assert [float(p["daysDone"]) for p in rows if p["learner"]["fullName"] == "Jean LECAM"] == [1]


async def test_a_failed_mutation_bumps_nothing_and_is_never_served_from_the_cache(http_a, cached_settings):
    # given a cached period view
    teacher = await _api(http_a, cached_settings, Role.TEACHER)
    await _period_view(teacher)
    before = await _stamps()
    portfolio_id = encode_id("Portfolio", (await portfolio_of("DUPIRE")).id)
    # when a mutation fails with a payload error (rolled back), twice
    for _ in range(2):
        response = await teacher.post(DAYS_DONE, {"id": portfolio_id, "days": "-1"})
        assert response.json()["data"]["portfolioDaysDoneSet"]["errors"] == [{"code": "INVALID"}]
        assert response.headers["x-cache"] == "miss"
    # then no stamp moved, and the read is still a hit
    assert await _stamps() == before
    assert (await _period_view(teacher)).headers["x-cache"] == "hit"
    # while a mutation that succeeds bumps the school's stamp once, each time it runs
    school = f"school:{teacher.user.school_id}"
    for n in (1, 2):
        response = await teacher.post(DAYS_DONE, {"id": portfolio_id, "days": "2"})
        assert response.headers["x-cache"] == "miss"
        assert (await _stamps())[school] == before[school] + n


async def test_a_sign_in_and_a_refused_one_bump_nothing(http_a, cached_settings):
    # given a cached period view
    teacher = await _api(http_a, cached_settings, Role.TEACHER)
    await _period_view(teacher)
    before = await _stamps()
    login = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token errors { code } } }"
    # when someone signs in, and someone fails to (the throttle writes its bookkeeping)
    signed = await Api(http_a).data(login, e=DEMO_EMAIL[Role.LEARNER], p=DEMO_PASSWORD)
    assert signed["login"]["token"]
    refused = await Api(http_a).data(login, e=DEMO_EMAIL[Role.LEARNER], p="wrong-password")
    assert refused["login"]["errors"] == [{"code": "INVALID"}]
    # then no stamp moved and the read is still served from the cache
    assert await _stamps() == before
    assert (await _period_view(teacher)).headers["x-cache"] == "hit"


async def test_an_answer_with_errors_is_not_kept(http_a, cached_settings):
    # given a learner asking a node by a malformed id (BAD_USER_INPUT)
    learner = await _api(http_a, cached_settings, Role.LEARNER)
    query = '{ node(id: "not-an-id") { id } }'
    first = await learner.post(query)
    assert first.json().get("errors")
    # when they ask again
    again = await learner.post(query)
    # then it ran again: nothing was kept
    assert again.headers["x-cache"] == "miss"


def test_the_cache_keeps_at_most_its_bytes_evicting_the_least_recently_used():
    cache = ResponseCache(max_bytes=3 * (100 + ENTRY_OVERHEAD), secret="s" * 32, version="v")
    for key in "abc":
        cache.put(key, b"x" * 100)
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("d", b"x" * 100)
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("d") is not None
    assert cache.size <= cache.max_bytes
    cache.put("huge", b"x" * cache.max_bytes)
    assert cache.get("huge") is None


async def test_the_writers_besides_graphql_bump_the_stamp_of_what_they_write(http_a, cached_settings):
    # given a cached list of frameworks and a cached period view
    teacher = await _api(http_a, cached_settings, Role.TEACHER)
    frameworks = "{ frameworks { code name } }"
    await teacher.post(frameworks)
    await _period_view(teacher)
    school_id = teacher.user.school_id
    before = await _stamps()
    # when the built-in frameworks are loaded again unchanged (each start does it)
    await load_builtin_frameworks()
    # then nothing moved and both reads are still hits
    assert await _stamps() == before
    assert (await teacher.post(frameworks)).headers["x-cache"] == "hit"
    # when a built-in framework changes (pfmp import-framework without --school)
    path = sorted(BUILTIN_DIR.glob("*.json"))[0]
    doc = parse_framework(path.read_text("utf-8"))
    doc["name"] = doc["name"] + " (révisé)"
    await import_framework(doc, school_id=None)
    # then the global stamp moved, and the next read of the frameworks shows the new name
    assert (await _stamps())["global"] == before["global"] + 1
    fresh = await teacher.post(frameworks)
    assert fresh.headers["x-cache"] == "miss"
    assert doc["name"] in {f["name"] for f in fresh.json()["data"]["frameworks"]}
    # when a roster is imported into the school (pfmp import-roster writes it in one transaction)
    roster = parse_roster(
        "identifiant,nom,prenom,date_naissance,classe\nX1,NOUVEAU,Léa,01/02/2008,CAP 1 ELEC\n".encode(),
        RosterFormat.CSV,
    )
    middle = await _stamps()
    async with in_transaction():
        await apply_roster(roster, school_id=school_id)
    # then the school's stamp moved, and the period view is computed again
    assert (await _stamps())[f"school:{school_id}"] == middle[f"school:{school_id}"] + 1
    assert (await _period_view(teacher)).headers["x-cache"] == "miss"


async def test_two_server_processes_on_one_database_never_serve_what_the_other_changed(
    tmp_path, database_url, cached_settings, cached_app
):
    # given two `pfmp serve` processes (their own caches, their own connections) on the same database
    env = {"DATABASE_URL": database_url, "PFMP_TOKEN_SECRET": cached_settings.token_secret}
    hosts = [ServerProcess(tmp_path / f"host{n}", extra_env=env, args=()) for n in (1, 2)]
    teacher = await User.get(email=DEMO_EMAIL[Role.TEACHER])
    headers = {"Authorization": f"Bearer {token_for(teacher, cached_settings)}"}
    read = {"query": PERIOD_VIEW, "variables": {"id": encode_id("Period", (await demo_period()).id)}}
    portfolio = encode_id("Portfolio", (await portfolio_of("FABROWSKI")).id)
    try:
        one, two = (httpx.AsyncClient(base_url=host.start(), headers=headers) for host in hosts)

        def fabrowski(response: httpx.Response) -> list:
            rows = response.json()["data"]["node"]["portfolios"]["nodes"]
            return [p["daysDone"] for p in rows if p["learner"]["fullName"] == "Marine FABROWSKI"]

        async with one, two:
            # and the teacher's period view cached by both
            for client in (one, two):
                await client.post("/graphql", json=read)
                assert (await client.post("/graphql", json=read)).headers["x-cache"] == "hit"
            # when the second records the days a learner did
            write = {"query": DAYS_DONE, "variables": {"id": portfolio, "days": "5"}}
            assert (await two.post("/graphql", json=write)).json()["data"]["portfolioDaysDoneSet"]["errors"] == []
            # then the first answers the next read afresh, then from its cache again
            fresh = await one.post("/graphql", json=read)
            assert fresh.headers["x-cache"] == "miss"
            assert [float(d) for d in fabrowski(fresh)] == [5]
            assert (await one.post("/graphql", json=read)).headers["x-cache"] == "hit"
            # and an ETag given by one process is honoured by the other
            params = {"query": read["query"], "variables": json.dumps(read["variables"])}
            tagged = await one.get("/graphql", params=params)
            again = await two.get("/graphql", params=params, headers={"If-None-Match": tagged.headers["etag"]})
            assert again.status_code == 304
    finally:
        for host in hosts:
            host.stop()
