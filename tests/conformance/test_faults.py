"""Faults: a server process killed (SIGKILL) in the middle of an operation, and the database going away.

On PostgreSQL the middle is reached deterministically: the test holds a row the operation needs after its
first writes, waits until pg_stat_activity shows the server blocked on it, and kills the server there. SQLite
cannot be caught waiting (fault_tools.killed_in_the_middle): the server is killed a few milliseconds after the
request left and both outcomes are accepted, and an upload is stopped (SIGSTOP) while its file is copied,
then killed. A new server then starts on the same database and folder: what it finds must be the whole
operation or none of it, and no annex file without its row nor row without its file. An upload is also cut
while its body is still arriving. The tests run on the database under test (PFMP_TEST_DATABASE).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sqlite3
import time

import httpx
import pytest

from graph.types.common import encode_id
from models.bilans import BilanCompetenceMode, BilanResultEntry, CompanyBilan
from models.fiches import ActivityFiche, Annex
from models.frameworks import Competence, Framework
from models.periods import Period
from models.portfolios import Portfolio
from models.users import Role, User
from resolvers.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from resolvers.fiches.annex_store import LocalStore, S3Store, annex_path
from tests.conformance.fault_tools import (
    StoppableCluster,
    files_under,
    in_flight,
    killed_in_the_middle,
    outcome,
    post_graphql,
    row_lock,
    server_waits_on_row,
    session_ended,
    sign_in,
)
from tests.conformance.server import ServerProcess
from tests.fiches.conftest import stored_objects

EMAIL = {role: email for role, email, *_ in DEMO_ACCOUNTS}
PERIOD_DELETE = (
    "mutation($id: ID!) { periodDelete(input: {id: $id}) { deletedPeriodId movedFicheCount errors { code } } }"
)
BILAN_UPDATE = """mutation($input: BilanUpdateInput!) {
  bilanUpdate(input: $input) { bilan { version } errors { field code reason message } } }"""
UPLOAD = """mutation($f: ID!, $file: Upload!) { annexUpload(input: {ficheId: $f, file: $file}) {
  annex { id size downloadUrl } errors { code message } } }"""
PDF = b"%PDF-1.4\n" + b"0123456789abcdef" * 65536 + b"\n%%EOF\n"  # 1 MiB
# Large enough (the server's default limit is 20 MiB) for its copy to last a few tens of milliseconds.
BIG_PDF = b"%PDF-1.4\n" + b"0123456789abcdef" * (16 * 65536) + b"\n%%EOF\n"


# ---- a period deletion (R8): the fiches move to free fiches, then the portfolios and the period go ----


async def period_state(period_id: int, portfolio_ids: list[int], fiche_ids: list[int]) -> str:
    """'untouched' or 'deleted'; anything in between fails the test."""
    period = await Period.exists(id=period_id)
    portfolios = await Portfolio.filter(id__in=portfolio_ids).count()
    fiches = {f.id: f for f in await ActivityFiche.filter(id__in=fiche_ids)}
    assert len(fiches) == len(fiche_ids), "fiches are never deleted with their period"
    attached = sum(1 for f in fiches.values() if f.portfolio_id is not None)
    if period and portfolios == len(portfolio_ids) and attached == len(fiche_ids):
        assert all(f.former_period_name is None for f in fiches.values())
        return "untouched"
    if not period and portfolios == 0 and attached == 0:
        assert all(f.former_period_name == "Stage de découverte" for f in fiches.values())
        return "deleted"
    raise AssertionError(
        f"half a deletion: period {period}, {portfolios}/{len(portfolio_ids)} portfolios, "
        f"{attached}/{len(fiche_ids)} fiches still in the period"
    )


async def test_a_period_deletion_killed_midway_is_undone_whole(app, backend, database_url, fault_server):
    period = await Period.get(name="Stage de découverte")
    portfolio_ids = sorted(await Portfolio.filter(period=period).values_list("id", flat=True))
    fiche_ids = sorted(await ActivityFiche.filter(portfolio_id__in=portfolio_ids).values_list("id", flat=True))
    base = fault_server.start()
    token = sign_in(base, EMAIL[Role.TEACHER], DEMO_PASSWORD)
    variables = {"id": encode_id("Period", period.id)}
    # when the server is killed in the middle of the deletion (on PostgreSQL: every fiche moved out of the
    # period, the update's trigger waiting to date a portfolio the test holds: migration 0017)
    await killed_in_the_middle(
        backend,
        database_url,
        fault_server,
        lambda: post_graphql(base, token, PERIOD_DELETE, variables),
        table=Portfolio._meta.db_table,
        pk=portfolio_ids[-1],
        statement='UPDATE "activity_fiche"',
    )
    # then a new server finds the period whole, or gone whole
    base = fault_server.start()
    state = await period_state(period.id, portfolio_ids, fiche_ids)
    assert state == "untouched" or backend == "sqlite"
    if state == "untouched":
        # and deletes it whole when asked again
        answer = (await post_graphql(base, token, PERIOD_DELETE, variables)).json()
        assert answer["data"]["periodDelete"]["errors"] == []
        assert answer["data"]["periodDelete"]["movedFicheCount"] == len(fiche_ids)
        assert await period_state(period.id, portfolio_ids, fiche_ids) == "deleted"


# ---- a bilan batch save (R19–R20): version bumped, modes replaced, results appended to the log ----


async def test_a_bilan_save_killed_midway_leaves_version_and_result_log_agreeing(
    app, backend, database_url, fault_server
):
    learner = await User.get(email=EMAIL[Role.LEARNER])
    bilan = await CompanyBilan.get(portfolio__learner=learner)
    teacher = await User.get(email=EMAIL[Role.TEACHER])
    framework = await Framework.get(school_id=None, code="CAP-ELEC")
    competences = [
        encode_id("Competence", pk)
        for pk in await Competence.filter(framework=framework).order_by("id").values_list("id", flat=True)
    ]
    batch = {
        "modes": [{"competenceId": c, "mode": "GLOBAL"} for c in competences],
        "results": [{"competenceId": c, "level": "ACQUIRED"} for c in competences],
    }
    variables = {"input": {"id": encode_id("CompanyBilan", bilan.id), "version": bilan.version, **batch}}
    base = fault_server.start()
    token = sign_in(base, EMAIL[Role.TEACHER], DEMO_PASSWORD)
    # when the server is killed in the middle of the save (on PostgreSQL: version bumped and modes written,
    # waiting to append results whose author row the test holds)
    await killed_in_the_middle(
        backend,
        database_url,
        fault_server,
        lambda: post_graphql(base, token, BILAN_UPDATE, variables),
        table=User._meta.db_table,
        pk=teacher.id,
        statement=f'INSERT INTO "{BilanResultEntry._meta.db_table}"',
    )
    base = fault_server.start()
    # then the version, the modes and the result log agree: all as before, or all saved
    state = await bilan_state(bilan, len(competences))
    assert state == "untouched" or backend == "sqlite"
    if state == "untouched":
        # and the same save, sent again, is taken whole
        answer = (await post_graphql(base, token, BILAN_UPDATE, variables)).json()["data"]["bilanUpdate"]
        assert answer["errors"] == [] and answer["bilan"]["version"] == bilan.version + 1
        assert await bilan_state(bilan, len(competences)) == "saved"


async def bilan_state(before: CompanyBilan, items: int) -> str:
    """'untouched' or 'saved'; anything in between fails the test."""
    version = (await CompanyBilan.get(id=before.id)).version
    entries = await BilanResultEntry.filter(bilan_id=before.id).count()
    modes = await BilanCompetenceMode.filter(bilan_id=before.id).count()
    if (version, entries, modes) == (before.version, 0, 0):
        return "untouched"
    if (version, entries, modes) == (before.version + 1, items, items):
        return "saved"
    raise AssertionError(
        f"half a save: version {before.version} → {version}, {entries}/{items} results, {modes}/{items} modes"
    )


# ---- an upload: the body arriving, then the copy done and the row not yet written ----


def multipart(fiche_id: str, content: bytes) -> tuple[dict[str, str], bytes, bytes]:
    """(headers, everything before the file's bytes, everything after) of a GraphQL multipart request."""
    boundary = "pfmp-fault-boundary"
    operations = json.dumps({"query": UPLOAD, "variables": {"f": fiche_id, "file": None}})
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.file"]}}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="rapport.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {
        "content-type": f"multipart/form-data; boundary={boundary}",
        "content-length": str(len(head) + len(content) + len(tail)),
    }
    return headers, head, tail


async def annexes_consistent(annex_dir) -> int:
    """Every stored file has its row and every file row its file; the number of annex files."""
    rows = set(await Annex.filter(kind="FILE").values_list("stored_name", flat=True))
    files = files_under(annex_dir)
    assert {annex_path(annex_dir, name) for name in rows} == set(files), "an annex file without its row, or back"
    return len(files)


async def demo_fiche_id() -> tuple[int, str]:
    learner = await User.get(email=EMAIL[Role.LEARNER])
    fiche = await ActivityFiche.filter(learner=learner).order_by("id").first()
    return fiche.id, encode_id("ActivityFiche", fiche.id)


async def test_an_upload_killed_while_its_body_arrives_leaves_no_file(app, settings, fault_server, tmp_path):
    _, fiche = await demo_fiche_id()
    base = fault_server.start()
    token = sign_in(base, EMAIL[Role.LEARNER], DEMO_PASSWORD)
    headers, head, tail = multipart(fiche, PDF)
    half_sent, server_dead = asyncio.Event(), asyncio.Event()

    async def slow_body():
        yield head
        yield PDF[: len(PDF) // 2]
        half_sent.set()
        await server_dead.wait()  # the rest comes too late, to a closed connection
        yield PDF[len(PDF) // 2 :] + tail

    async def send():
        async with httpx.AsyncClient(timeout=60) as client:
            return await client.post(
                f"{base}/graphql", content=slow_body(), headers={**headers, "Authorization": f"Bearer {token}"}
            )

    # given an upload whose body stops halfway through the file
    request = await in_flight(send())
    await asyncio.wait_for(half_sent.wait(), 10)
    await asyncio.sleep(0.5)
    # when the server is killed while it waits for the rest
    fault_server.kill()
    server_dead.set()
    assert (await outcome(request)).startswith("cut off")
    fault_server.start()
    # then no row, no file among the annexes nor in the server's temporary folder
    assert await Annex.all().count() == 0
    assert await annexes_consistent(settings.annex_dir) == 0
    assert files_under(tmp_path / "tmp") == []


async def test_an_upload_killed_after_its_copy_leaves_no_file(app, backend, database_url, settings, fault_server):
    fiche_pk, fiche = await demo_fiche_id()
    base = fault_server.start()
    token = sign_in(base, EMAIL[Role.LEARNER], DEMO_PASSWORD)
    headers, head, tail = multipart(fiche, BIG_PDF)
    body = head + BIG_PDF + tail

    async def send():
        async with httpx.AsyncClient(timeout=60) as client:
            return await client.post(
                f"{base}/graphql", content=body, headers={**headers, "Authorization": f"Bearer {token}"}
            )

    if backend == "postgres":
        # given the test holding the fiche, which the upload locks once the file is copied
        async with row_lock(database_url, ActivityFiche._meta.db_table, fiche_pk):
            request = await in_flight(send())
            # when the whole file is on disk, the server waits to write its row, and is killed there
            await copy_seen(settings.annex_dir, request, size=len(BIG_PDF))
            pid = await server_waits_on_row(database_url, '"activity_fiche"', request)
            fault_server.kill()
        await session_ended(database_url, pid)
    else:
        # when the server is stopped (SIGSTOP) while it copies the file, and killed there (no lock to wait on:
        # see killed_in_the_middle)
        request = await in_flight(send())
        copy = await copy_seen(settings.annex_dir, request)
        fault_server.freeze()
        assert copy.exists(), "the copy ended before the server could be stopped: the test proves nothing"
        fault_server.kill()
    assert (await outcome(request)).startswith("cut off")
    base = fault_server.start()
    # then the new server removed the orphan copy at start-up: no row, no file
    assert await Annex.all().count() == 0
    assert await annexes_consistent(settings.annex_dir) == 0
    # and the same upload now goes through, and downloads whole
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.post(
            f"{base}/graphql", content=body, headers={**headers, "Authorization": f"Bearer {token}"}
        )
    annex = response.json()["data"]["annexUpload"]["annex"]
    assert annex["size"] == len(BIG_PDF)
    assert await annexes_consistent(settings.annex_dir) == 1
    download = httpx.get(base + annex["downloadUrl"], headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert download.content == BIG_PDF


async def copy_seen(annex_dir, request: asyncio.Task, *, size: int | None = None):
    """The upload's file once the server started copying it (or copied `size` bytes), polled every millisecond."""
    for _ in range(20000):
        for path in files_under(annex_dir):
            if size is None or path.stat().st_size == size:
                return path
        assert not request.done(), f"the upload ended before its copy was seen: {await outcome(request)}"
        await asyncio.sleep(0.001)
    raise AssertionError("the upload was never copied")


async def test_start_up_recovery_finishes_committed_uploads_and_leaves_live_folders_alone(app, settings):
    # given the incoming folder of a dead process, with a committed upload's file (the process died between
    # its commit and the move) and a partial one, and the folder of a live process (its lock held)
    root = settings.annex_dir / ".incoming"
    dead, live = root / "dead", root / "live"
    committed, partial, in_flight_name = "ab" * 16, "cd" * 16, "ef" * 16
    dead.mkdir(parents=True)
    live.mkdir()
    (dead / committed).write_bytes(PDF)
    (dead / partial).write_bytes(PDF[:100])
    (live / in_flight_name).write_bytes(PDF)
    fiche_pk, _ = await demo_fiche_id()
    await Annex.create(
        fiche_id=fiche_pk,
        kind="FILE",
        title="rapport",
        original_filename="rapport.pdf",
        stored_name=committed,
        content_type="application/pdf",
        size=len(PDF),
    )
    holder = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        # when a server starts
        assert await LocalStore(settings.annex_dir).recover_incoming() == (1, 1)
    finally:
        os.close(holder)
    # then the committed file is in place, the partial one and the dead folder are gone, the live one untouched
    assert annex_path(settings.annex_dir, committed).read_bytes() == PDF
    assert not dead.exists()
    assert (live / in_flight_name).read_bytes() == PDF


async def test_an_upload_to_the_object_store_killed_midway_is_swept_once_old_enough(
    app, settings, fault_server, s3_server
):
    # given a server whose annexes are in the object store, under a prefix of this test
    location = s3_server.location(f"killed-{os.getpid()}-{id(settings)}")
    fault_server.env.update(
        PFMP_STORAGE_URL=f"s3://{location.bucket}/{location.prefix}?endpoint={location.endpoint}",
        AWS_ACCESS_KEY_ID=location.access_key_id,
        AWS_SECRET_ACCESS_KEY=location.secret_access_key,
        PFMP_STORAGE_SWEEP_AGE="60",
    )
    _, fiche = await demo_fiche_id()
    base = fault_server.start()
    token = sign_in(base, EMAIL[Role.LEARNER], DEMO_PASSWORD)
    headers, head, tail = multipart(fiche, BIG_PDF)
    sent, server_dead = asyncio.Event(), asyncio.Event()

    async def slow_body():
        yield head
        yield BIG_PDF[: 13 * 1024 * 1024]  # two multipart parts of 6 MiB and more: the upload has begun in the store
        sent.set()
        await server_dead.wait()
        yield BIG_PDF[13 * 1024 * 1024 :] + tail

    async def send():
        async with httpx.AsyncClient(timeout=60) as client:
            return await client.post(
                f"{base}/graphql", content=slow_body(), headers={**headers, "Authorization": f"Bearer {token}"}
            )

    request = await in_flight(send())
    await asyncio.wait_for(sent.wait(), 30)
    store = S3Store(location)
    for _ in range(100):  # until the store shows the multipart upload under the server's incoming prefix
        if await asyncio.to_thread(stored_objects, location):
            break
        await asyncio.sleep(0.1)
    # when the server is killed in the middle of the upload
    fault_server.kill()
    server_dead.set()
    assert (await outcome(request)).startswith("cut off")
    [left] = await asyncio.to_thread(stored_objects, location)
    assert left.startswith("multipart:") and "/.incoming/" in left
    # then a server starting at once leaves it alone (it may be another host's upload in flight)
    fault_server.start()
    assert await asyncio.to_thread(stored_objects, location) == [left]
    # and once it is older than the threshold, the sweep aborts it: no row, no object, no multipart upload
    time.sleep(0.05)
    assert (await store.sweep(0)).aborted == 1
    assert await asyncio.to_thread(stored_objects, location) == []
    assert await Annex.all().count() == 0


# ---- the database going away ----


def test_the_database_going_away_answers_cleanly_and_the_server_recovers(backend, tmp_path):
    if backend != "postgres":
        pytest.skip("SQLite is a file the server opens itself: there is no database server to stop")
    cluster = StoppableCluster()
    server = None
    try:
        server = ServerProcess(tmp_path, extra_env={"DATABASE_URL": cluster.start()})
        base = server.start()
        token = sign_in(base, EMAIL[Role.TEACHER], DEMO_PASSWORD)
        me = {"query": "{ me { fullName } }"}
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.post(f"{base}/graphql", json=me, headers=auth).json()["data"]["me"]["fullName"]
        # when the database stops
        cluster.pause()
        # then the health check says so, and GraphQL requests get a clean error
        health = httpx.get(f"{base}/healthz", timeout=30)
        assert health.status_code == 503 and health.json()["database"] == "down"
        for request in (
            dict(json=me, headers=auth),
            dict(json={"query": "{ frameworks { code } }"}, headers=auth),
            dict(json={"query": 'mutation { login(input: {email: "a@b.fr", password: "x"}) { token } }'}),
        ):
            response = httpx.post(f"{base}/graphql", timeout=30, **request)
            assert_clean_unavailable(response)
        # when it is back, the same server answers again, without a restart
        cluster.resume()
        for _ in range(100):
            if httpx.get(f"{base}/healthz", timeout=30).status_code == 200:
                break
        assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200
        assert httpx.post(f"{base}/graphql", json=me, headers=auth).json()["data"]["me"]["fullName"]
        assert server.process.poll() is None
    finally:
        if server is not None:
            server.stop()
        cluster.stop()


async def test_a_sqlite_database_locked_by_another_process_answers_cleanly(backend, database_url, teacher):
    if backend != "sqlite":
        pytest.skip("PostgreSQL locks rows and waits for them; only SQLite refuses a locked database at once")
    period = await Period.get(name="Stage de découverte")
    # given another process (a CLI import, a second worker) holding SQLite's write lock
    other = sqlite3.connect(database_url.removeprefix("sqlite://"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        # when a mutation that reads, then writes, runs
        response = await teacher.post(PERIOD_DELETE, {"id": encode_id("Period", period.id)})
    finally:
        other.execute("ROLLBACK")
        other.close()
    # then it is told to retry, and nothing was deleted
    assert_clean_unavailable(response)
    assert await Period.exists(id=period.id)


def assert_clean_unavailable(response: httpx.Response) -> None:
    text = response.text
    for leak in (
        "Traceback",
        "SELECT ",
        "asyncpg",
        "/work/",
        "site-packages",
        "Internal Server Error",
        "Unexpected error",
    ):
        assert leak not in text, text
    assert response.status_code == 503, text
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "retry-after" in response.headers
