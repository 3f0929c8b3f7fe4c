"""Bad input of the annex store: a wrong PFMP_STORAGE_URL stops the start in one line, an object store out of reach
answers 503 SERVICE_UNAVAILABLE with Retry-After (as the database does) and /healthz says which part is down, and
`pfmp backup` refuses a deployment whose annexes are in an object store."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from click.testing import CliRunner

from graph.app import create_app
from graph.cli import main
from graph.settings import ConfigError, S3Location, parse_storage_url
from graph.types.common import encode_id
from models.fiches import Annex, AnnexKind
from tests.conformance.server import free_port
from tests.conftest import STORAGES
from tests.fiches import samples
from tests.fiches.conftest import UPLOAD, Demo, multipart
from tests.storage import ACCESS_KEY, BUCKET, SECRET_KEY

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret"}


@pytest.mark.parametrize(
    "url, words",
    [
        ("http://bucket/prefix", "must be s3://"),
        ("s3://ab", "not a bucket name"),
        ("s3://Bucket_Name", "not a bucket name"),
        ("s3://" + "b" * 64, "not a bucket name"),
        ("s3://bucket?endpoint=ftp://host", "endpoint must be http(s)://host[:port]"),
        ("s3://bucket?endpoint=http://host:9000/path", "endpoint must be http(s)://host[:port]"),
        ("s3://bucket?regoin=eu-west-3", "unknown parameter(s) regoin"),
    ],
)
def test_a_wrong_storage_url_is_refused_in_one_line(url, words):
    with pytest.raises(ConfigError) as refused:
        parse_storage_url(url, CREDENTIALS)
    assert words in str(refused.value) and "\n" not in str(refused.value)


def test_a_storage_url_is_read_with_its_credentials_from_the_environment_or_the_query():
    assert parse_storage_url("", {}) is None
    location = parse_storage_url("s3://pfmp-annexes/lycee/annexes?endpoint=http://127.0.0.1:8333/", CREDENTIALS)
    assert location == S3Location(
        bucket="pfmp-annexes",
        prefix="lycee/annexes",
        endpoint="http://127.0.0.1:8333",
        region="us-east-1",
        access_key_id="key",
        secret_access_key="secret",
    )
    assert "secret" not in repr(location)
    inline = parse_storage_url("s3://pfmp-annexes?region=eu-west-3&access_key_id=k&secret_access_key=s", {})
    assert inline is not None and (inline.region, inline.access_key_id, inline.secret_access_key) == (
        "eu-west-3",
        "k",
        "s",
    )
    with pytest.raises(ConfigError, match="needs credentials"):
        parse_storage_url("s3://pfmp-annexes", {})


def _serve(tmp_path, storage_url: str, **env):
    runner = CliRunner()
    return runner.invoke(
        main,
        ["serve", "--port", str(free_port())],
        env={"PFMP_DATA_DIR": str(tmp_path), "PFMP_STORAGE_URL": storage_url, "DATABASE_URL": "", **env},
    )


def test_a_wrong_storage_setting_stops_the_server_at_start_in_one_line(tmp_path):
    result = _serve(tmp_path, "s3://x", **CREDENTIALS)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: PFMP_STORAGE_URL: 'x' is not a bucket name (3 to 63 lowercase letters, digits, dots, hyphens)"
    ]


def test_a_store_that_refuses_the_credentials_stops_the_server_at_start_in_one_line(tmp_path, s3_server):
    result = _serve(
        tmp_path,
        f"s3://{BUCKET}?endpoint={s3_server.endpoint}",
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY="not-the-secret-" + "x" * 20,
    )
    assert result.exit_code == 1, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: the annex store cannot be used") and "PFMP_STORAGE_URL" in line
    assert not (tmp_path / "pfmp.sqlite3").exists()  # stopped before the database was touched


def test_backup_refuses_an_object_store(tmp_path):
    result = CliRunner().invoke(
        main,
        ["backup", str(tmp_path / "backup")],
        env={"PFMP_DATA_DIR": str(tmp_path), "PFMP_STORAGE_URL": f"s3://{BUCKET}", **CREDENTIALS},
    )
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "object store" in line and "versioning" in line
    assert not (tmp_path / "backup").exists()


@pytest.mark.parametrize("storage", STORAGES, indirect=True)
async def test_healthz_checks_the_store(storage, anonymous):
    response = await anonymous.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "storage": "up"}


@pytest.fixture
async def unreachable(settings, learner, demo):
    """The app on an object store nobody answers at (a closed port), with a learner signed in and an annex row."""
    dead = S3Location(
        bucket=BUCKET,
        prefix="gone",
        endpoint=f"http://127.0.0.1:{free_port()}",
        region="us-east-1",
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
    app = create_app(dataclasses.replace(settings, storage=dead))
    row = await Annex.create(
        fiche_id=Demo.pk(demo.fiche1),
        kind=AnnexKind.FILE,
        title="plan",
        original_filename="plan.pdf",
        stored_name="ab" * 16,
        content_type="application/pdf",
        size=10,
    )
    async with app.router.lifespan_context(app):  # starts: the sweep waits for the next start
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, learner.headers, encode_id("Annex", row.id)


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "127.0.0.1" not in response.text and "gone" not in response.text


async def test_a_store_out_of_reach_answers_503_with_retry_after(unreachable, demo):
    http, headers, annex_id = unreachable
    # an upload
    _assert_unavailable(
        await http.post("/graphql", headers=headers, **multipart(UPLOAD, {"f": demo.fiche1, "t": None}, samples.PDF))
    )
    assert await Annex.all().count() == 1  # only the row made by the fixture
    # a download
    _assert_unavailable(await http.get(f"/annexes/{annex_id}", headers=headers))
    # the health check names the store
    health = await http.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"status": "unavailable", "database": "up", "storage": "down"}
    # and what needs no file still answers
    me = await http.post("/graphql", headers=headers, json={"query": "{ me { fullName } }"})
    assert me.status_code == 200 and me.json()["data"]["me"]["fullName"]
