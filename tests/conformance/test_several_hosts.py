"""Several hosts behind one address (issue 15, part 3): two `pfmp serve` processes that share nothing but the
PostgreSQL database, the object store and the token secret.

Each process has its own data folder (PFMP_DATA_DIR: no shared disk), the same DATABASE_URL (a copy of the demo
database made for this module), the same PFMP_STORAGE_URL (the SeaweedFS bucket, under a prefix of this module)
and the same PFMP_TOKEN_SECRET. The two processes are started once for the module; each test signs in a demo
account that no other test of the module revokes or throttles. Everything goes through HTTP, as a load balancer
sending any request to any host would.

Idempotency keys and refresh tokens (issue 16, part 4) live in the database too: a key claimed through one host
answers the retry through the other, and a refresh token spent through one is spent for both.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from graph.settings import S3Location
from models.users import Role
from resolvers.demo import DEMO_PASSWORD
from tests.conformance.server import ServerProcess
from tests.conftest import DEMO_EMAIL, TOKEN_SECRET, _pg_admin, _with_database, copy_of_baseline
from tests.fiches.conftest import stored_objects
from tests.storage import SeaweedServer

pytestmark = pytest.mark.skipif(
    os.environ.get("PFMP_TEST_DATABASE", "sqlite") != "postgres",
    reason="several hosts share one PostgreSQL database (SQLite is one host's file): run with PFMP_TEST_DATABASE=postgres",
)

LOGIN = """mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) {
  token retryAfter errors { code reason } } }"""
ME = "{ me { id fullName } }"
MY_FICHES = "{ me { ... on Learner { portfolios { activityFiches { nodes { id } } } } } }"
UPLOAD = """mutation($f: ID!, $file: Upload!) { annexUpload(input: {ficheId: $f, file: $file}) {
  annex { id size downloadUrl } errors { code reason } } }"""
ANNEX_DELETE = "mutation($id: ID!) { annexDelete(input: {id: $id}) { deletedAnnexId errors { code reason } } }"
SIGN_OUT_EVERYWHERE = "mutation { signOutEverywhere { revoked errors { code } } }"
MY_PORTFOLIOS = "{ me { ... on Learner { portfolios { id activityFiches { nodes { id } } } } } }"
CREATE_FICHE = """mutation($p: ID!, $t: String!) { activityFicheCreate(input: {portfolioId: $p, title: $t}) {
  activityFiche { id title } errors { code reason } } }"""
LOGIN_REFRESH = """mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) {
  token refreshToken errors { code reason } } }"""
REFRESH = """mutation($r: String!) { tokenRefresh(input: {refreshToken: $r}) {
  token refreshToken errors { code reason } } }"""
# Larger than one part of the store's multipart upload (6 MiB): the upload goes up in several parts.
ANNEX = b"%PDF-1.4\n" + os.urandom(7 * 1024 * 1024) + b"\n%%EOF\n"
_counter = itertools.count()


@dataclass
class Hosts:
    a: ServerProcess
    b: ServerProcess
    store: S3Location


def graphql(
    host: ServerProcess, query: str, token: str | None = None, key: str | None = None, **variables
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if key is not None:
        headers["Idempotency-Key"] = key
    return httpx.post(
        f"{host.base}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=30
    )


def data(host: ServerProcess, query: str, token: str | None = None, key: str | None = None, **variables) -> dict:
    answer = graphql(host, query, token, key, **variables)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert not body.get("errors"), body
    return body["data"]


def login(host: ServerProcess, email: str, password: str = DEMO_PASSWORD) -> dict:
    return data(host, LOGIN, e=email, p=password)["login"]


def sign_in(host: ServerProcess, role: Role) -> str:
    payload = login(host, DEMO_EMAIL[role])
    assert payload["errors"] == [] and payload["token"], payload
    return payload["token"]


def files_in(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


@pytest.fixture(scope="module")
async def module_database(server_url, baseline) -> AsyncIterator[str]:
    """A copy of the demo database for the module's two processes (the `database_url` fixture is per test)."""
    name = f"pfmp_hosts_{os.getpid()}_{next(_counter)}"
    await _pg_admin(server_url, copy_of_baseline(name))
    try:
        yield _with_database(server_url, name)
    finally:
        await _pg_admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def hosts(module_database, s3_server: SeaweedServer, tmp_path_factory) -> Iterator[Hosts]:
    store = s3_server.location(f"hosts-{os.getpid()}-{next(_counter)}")
    shared = {
        "DATABASE_URL": module_database,
        "PFMP_STORAGE_URL": f"s3://{store.bucket}/{store.prefix}?endpoint={store.endpoint}&region={store.region}",
        "AWS_ACCESS_KEY_ID": store.access_key_id,
        "AWS_SECRET_ACCESS_KEY": store.secret_access_key,
        "PFMP_TOKEN_SECRET": TOKEN_SECRET,
    }
    # Each with its own data folder; the sign-in throttle, the response cache and GC tuning on, as served.
    a = ServerProcess(tmp_path_factory.mktemp("host-a"), args=(), extra_env=shared)
    b = ServerProcess(tmp_path_factory.mktemp("host-b"), args=(), extra_env=shared)
    try:
        a.start()
        b.start()
        yield Hosts(a, b, store)
    finally:
        b.stop()
        a.stop()


def test_an_annex_uploaded_through_one_host_downloads_and_deletes_through_the_other(hosts):
    # given a learner signed in through host A, and one of her fiches
    token = sign_in(hosts.a, Role.LEARNER)
    portfolios = data(hosts.a, MY_FICHES, token)["me"]["portfolios"]
    fiche = next(f["id"] for p in portfolios for f in p["activityFiches"]["nodes"])
    # when she uploads an annex through A (the GraphQL multipart request)
    operations = json.dumps({"query": UPLOAD, "variables": {"f": fiche, "file": None}})
    answer = httpx.post(
        f"{hosts.a.base}/graphql",
        headers={"Authorization": f"Bearer {token}"},
        data={"operations": operations, "map": '{"0": ["variables.file"]}'},
        files={"0": ("rapport.pdf", ANNEX, "application/pdf")},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    payload = answer.json()["data"]["annexUpload"]
    assert payload["errors"] == [] and payload["annex"]["size"] == len(ANNEX), payload
    annex = payload["annex"]
    # then the file is one object in the bucket, and on neither host's disk
    # (keys under the module's prefix; no upload left in flight, no incomplete multipart upload)
    [stored] = stored_objects(hosts.store)
    assert not stored.startswith((".incoming/", "multipart:")), stored
    assert files_in(hosts.a.data_dir / "annexes") == files_in(hosts.b.data_dir / "annexes") == []
    # and it downloads byte-identical through host B, with the token A issued
    download = httpx.get(f"{hosts.b.base}{annex['downloadUrl']}", headers={"Authorization": f"Bearer {token}"})
    assert download.status_code == 200, download.text
    assert download.content == ANNEX
    # when it is deleted through B
    deleted = data(hosts.b, ANNEX_DELETE, token, id=annex["id"])["annexDelete"]
    assert deleted == {"deletedAnnexId": annex["id"], "errors": []}
    # then no object is left in the bucket, and neither host serves it any more
    assert stored_objects(hosts.store) == []
    for host in (hosts.a, hosts.b):
        gone = httpx.get(f"{host.base}{annex['downloadUrl']}", headers={"Authorization": f"Bearer {token}"})
        assert gone.status_code == 404


def test_a_token_issued_by_one_host_is_accepted_by_the_other(hosts):
    from_a = sign_in(hosts.a, Role.ADMIN)
    from_b = sign_in(hosts.b, Role.ADMIN)
    me = data(hosts.a, ME, from_a)["me"]
    assert data(hosts.b, ME, from_a)["me"] == me
    assert data(hosts.a, ME, from_b)["me"] == me


def test_a_revocation_through_one_host_holds_on_the_other_at_once(hosts):
    # given a teacher's token issued by B, and B's answer to it (kept in B's response cache)
    token = sign_in(hosts.b, Role.TEACHER)
    me = data(hosts.b, ME, token)["me"]
    again = graphql(hosts.b, ME, token)
    assert again.headers["x-cache"] == "hit" and again.json()["data"]["me"] == me
    # when she signs out everywhere through A
    assert data(hosts.a, SIGN_OUT_EVERYWHERE, token)["signOutEverywhere"] == {"revoked": True, "errors": []}
    # then B refuses the token at its very next request, whatever it answered before
    for host in (hosts.b, hosts.a):
        body = graphql(host, ME, token).json()
        assert body.get("data") is None and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
    # and a new sign-in through B works on both
    fresh = sign_in(hosts.b, Role.TEACHER)
    assert data(hosts.a, ME, fresh)["me"] == data(hosts.b, ME, fresh)["me"] == me


def test_sign_in_failures_through_both_hosts_add_up_to_one_throttle(hosts):
    email = DEMO_EMAIL[Role.TUTOR]
    # given five wrong passwords for one account, sent alternately to A and B (three to A, two to B: neither
    # host alone has seen the account's five failures in a row)
    for host in (hosts.a, hosts.b, hosts.a, hosts.b, hosts.a):
        refused = login(host, email, "not the password at all")
        assert [e["reason"] for e in refused["errors"]] == ["CREDENTIALS_WRONG"], refused
    # then both hosts answer THROTTLED, even to the right password
    for host in (hosts.b, hosts.a):
        throttled = login(host, email)
        assert throttled["token"] is None, throttled
        assert [e["code"] for e in throttled["errors"]] == ["THROTTLED"], throttled
        assert 0 < throttled["retryAfter"] <= 60


def test_an_idempotency_key_used_through_one_host_answers_the_retry_through_the_other(hosts):
    # given a learner signed in through A, one of her portfolios and its fiches
    token = sign_in(hosts.a, Role.LEARNER)
    portfolio = data(hosts.a, MY_PORTFOLIOS, token)["me"]["portfolios"][0]
    before = len(portfolio["activityFiches"]["nodes"])
    key = str(uuid.uuid4())
    # when she creates a fiche through A with a key, and the retry goes to B
    first = data(hosts.a, CREATE_FICHE, token, key, p=portfolio["id"], t="Fiche écrite en atelier")
    retry = data(hosts.b, CREATE_FICHE, token, key, p=portfolio["id"], t="Fiche écrite en atelier")
    # then B answers the fiche A created, and one fiche was written
    assert first["activityFicheCreate"]["errors"] == []
    assert retry == first
    after = {p["id"]: p for p in data(hosts.b, MY_PORTFOLIOS, token)["me"]["portfolios"]}[portfolio["id"]]
    assert len(after["activityFiches"]["nodes"]) == before + 1
    # and the same key with another body is refused through either host
    for host in (hosts.a, hosts.b):
        refused = data(host, CREATE_FICHE, token, key, p=portfolio["id"], t="Une autre fiche")["activityFicheCreate"]
        assert [e["reason"] for e in refused["errors"]] == ["IDEMPOTENCY_KEY_REUSED"], refused


def test_a_refresh_token_issued_by_one_host_is_refreshed_by_the_other_and_its_reuse_revokes_the_family(hosts):
    # given a sign-in through A (the master's account, which no other test of the module uses)
    signed = data(hosts.a, LOGIN_REFRESH, e=DEMO_EMAIL[Role.MASTER], p=DEMO_PASSWORD)["login"]
    assert signed["errors"] == [] and signed["refreshToken"], signed
    # when the app refreshes through B
    rotated = data(hosts.b, REFRESH, r=signed["refreshToken"])["tokenRefresh"]
    # then B answers a new access token that A accepts, and a new refresh token
    assert rotated["errors"] == [] and rotated["token"] and rotated["refreshToken"], rotated
    assert data(hosts.a, ME, rotated["token"])["me"]["id"]
    # when the spent token is presented again through A (B spent it)
    replayed = data(hosts.a, REFRESH, r=signed["refreshToken"])["tokenRefresh"]
    # then A refuses it as a reuse, and the whole family is revoked on both hosts
    assert replayed["token"] is None and [e["reason"] for e in replayed["errors"]] == ["REFRESH_TOKEN_REUSED"]
    successor = data(hosts.b, REFRESH, r=rotated["refreshToken"])["tokenRefresh"]
    assert successor["token"] is None and [e["reason"] for e in successor["errors"]] == ["REFRESH_TOKEN_REVOKED"]
