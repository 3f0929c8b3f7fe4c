"""The access request (issue 17, part 1): a learner's whole data as one ZIP, over HTTP and from `pfmp`.

The archive holds a README, `donnees.json` (every row about the learner) and
their annex files byte for byte. access.md, "Learner data archive (access
request)": R for ADMIN, R own for LEARNER, — for the others; a learner out of
reach is 404 (another school's, another learner), a role that may never have
it 403. Streamed: the statements sent do not grow with the fiches and annexes,
and a 30 MB annex passes through without being held in memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from graph.types.common import encode_id
from models.bilans import BilanResultEntry, CompanyBilan
from models.fiches import ActivityFiche, Annex, AnnexKind, FicheTask
from models.frameworks import AchievementLevel, Competence
from models.users import Role, User
from tests.access.other_school import MARK, build_other_school
from tests.conftest import STORAGES, Api, token_for
from tests.exports.delivery import complete, portfolio_of, refusal
from tests.fiches.conftest import upload_payload

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


async def _dupire() -> User:
    return await User.get(role=Role.LEARNER, last_name="DUPIRE")


async def _path(last_name: str = "DUPIRE") -> str:
    learner = await User.get(role=Role.LEARNER, last_name=last_name)
    return f"/exports/learner-data/{encode_id('Learner', learner.id)}"


async def _prepared(learner: Api) -> dict:
    """DUPIRE's fiche with an annex uploaded through the API, and a completed bilan with one result."""
    fiche = await ActivityFiche.get(learner_id=learner.user.id, title__startswith="Fiche 1")
    payload = await upload_payload(
        learner, encode_id("ActivityFiche", fiche.id), PDF, filename="rapport de stage.pdf", title="Rapport"
    )
    assert payload["errors"] == [], payload
    bilan = await CompanyBilan.get(portfolio=await portfolio_of("DUPIRE"))
    competence = await Competence.filter(task_links__task__fiche_links__fiche_id=fiche.id).first()
    assert competence is not None
    await BilanResultEntry.create(bilan=bilan, competence=competence, level=AchievementLevel.ACQUIRED)
    await complete([bilan.id])
    return {"fiche": fiche, "annex_id": payload["annex"]["id"], "bilan": bilan, "competence": competence}


def _archive(content: bytes) -> tuple[zipfile.ZipFile, dict]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.testzip() is None
    return archive, json.loads(archive.read("donnees.json"))


@pytest.mark.parametrize("storage", STORAGES, indirect=True)
async def test_the_admin_gets_every_row_and_file_of_the_learner(storage, admin, learner):
    rows = await _prepared(learner)
    response = await admin.http.get(await _path(), headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith("attachment;")
    archive, data = _archive(response.content)

    readme = archive.read("README.txt").decode("utf-8")
    assert "donnees.json" in readme and "annexes/" in readme and "English" in readme

    assert data["learner"]["last_name"] == "DUPIRE" and data["learner"]["first_name"] == "Angélique"
    assert "password_hash" not in data["learner"] and "token_version" not in data["learner"]
    fiche = next(f for f in data["activityFiches"] if f["id"] == rows["fiche"].id)
    assert fiche["title"] == "Fiche 1 : Découverte de l'entreprise"
    assert fiche["description"] == rows["fiche"].description
    assert len(fiche["tasks"]) == await FicheTask.filter(fiche_id=rows["fiche"].id).count() > 0
    (annex,) = fiche["annexes"]
    assert annex["title"] == "Rapport" and annex["original_filename"] == "rapport de stage.pdf"
    assert annex["size"] == len(PDF) and "stored_name" not in annex
    assert archive.read(annex["archivePath"]) == PDF

    portfolio = next(p for p in data["portfolios"] if p["period_name"] == "Stage de découverte")
    assert portfolio["liaisonFiche"]["company_name"] == "Tout élec"
    assert [t["last_name"] for t in portfolio["trainers"]] == ["Toutcourt"]
    bilan = portfolio["bilan"]
    assert bilan["id"] == rows["bilan"].id and bilan["status"] == "COMPLETED"
    assert [(r["competence_code"], r["level"]) for r in bilan["resultLog"]] == [(rows["competence"].code, "ACQUIRED")]
    history = {c["competence"]["code"]: c["current"] for c in data["dashboard"]["competences"]}
    assert history[rows["competence"].code] == "ACQUIRED"

    names = {n for n in archive.namelist()}
    assert names == {"README.txt", "donnees.json", annex["archivePath"]}
    # Nothing about any other learner.
    whole = b"".join(archive.read(n) for n in archive.namelist())
    for other in await User.filter(role=Role.LEARNER).exclude(last_name="DUPIRE"):
        assert other.last_name.encode() not in whole and other.email.encode() not in whole


async def test_the_learner_gets_their_own_without_what_they_may_not_read(learner):
    rows = await _prepared(learner)
    await ActivityFiche.filter(id=rows["fiche"].id).update(deleted_at=dt.datetime.now(dt.UTC))
    response = await learner.http.get(await _path(), headers=learner.headers)
    assert response.status_code == 200, response.text
    archive, data = _archive(response.content)
    assert data["learner"]["email"] == learner.user.email
    # access.md: a learner does not read their deleted fiches (nor read states); the annex went with the fiche.
    assert rows["fiche"].id not in [f["id"] for f in data["activityFiches"]]
    assert archive.namelist() == ["README.txt", "donnees.json"]


async def test_a_draft_bilan_shows_its_status_only_to_the_learner(learner, admin):
    bilan = await CompanyBilan.get(portfolio=await portfolio_of("DUPIRE"))
    await CompanyBilan.filter(id=bilan.id).update(comment="Entretien en cours")
    for api, visible in ((learner, False), (admin, True)):
        response = await api.http.get(await _path(), headers=api.headers)
        _, data = _archive(response.content)
        shown = next(p for p in data["portfolios"] if p["period_name"] == "Stage de découverte")["bilan"]
        assert shown["status"] == "DRAFT"
        assert ("comment" in shown) is visible


@pytest.mark.parametrize(
    "role,last_name,status",
    [
        (Role.TEACHER, "DUPIRE", 403),
        (Role.TUTOR, "DUPIRE", 403),
        (Role.MASTER, "HÔT", 403),
        (Role.MASTER, "DUPIRE", 404),
        (Role.LEARNER, "HÔT", 404),
        (None, "DUPIRE", 401),
    ],
    ids=lambda v: getattr(v, "value", v),
)
async def test_the_others_are_refused(clients, role, last_name, status):
    api = clients[role]
    response = await api.http.get(await _path(last_name), headers=api.headers)
    assert response.status_code == status
    assert response.content[:2] != b"PK"
    if status != 401:
        assert refusal(response)[1] == ("FORBIDDEN" if status == 403 else "NOT_FOUND")


async def test_another_school_and_a_bad_id_are_not_found(app, http, settings):
    other = await build_other_school(settings.annex_dir)
    stranger = Api(http, token_for(other.users[Role.ADMIN], settings), other.users[Role.ADMIN])
    response = await stranger.http.get(await _path(), headers=stranger.headers)
    assert refusal(response) == (404, "NOT_FOUND")
    dupire = await _dupire()
    for wrong in (encode_id("Portfolio", dupire.id), "not-an-id"):
        admin_of_other = await stranger.http.get(f"/exports/learner-data/{wrong}", headers=stranger.headers)
        assert refusal(admin_of_other) == (404, "NOT_FOUND")
    # The other school's own admin gets its learner's archive, which names nothing of the demo school.
    own = await stranger.http.get(f"/exports/learner-data/{other.first('Learner')}", headers=stranger.headers)
    archive, data = _archive(own.content)
    assert MARK in data["learner"]["last_name"]
    assert b"DUPIRE" not in archive.read("donnees.json")


async def test_statements_do_not_grow_with_fiches_and_annexes(admin, learner, sql_counter):
    await _prepared(learner)

    async def statements() -> int:
        sql_counter.reset()
        response = await admin.http.get(await _path(), headers=admin.headers)
        assert response.status_code == 200
        return sql_counter.count

    before = await statements()
    portfolio = await portfolio_of("DUPIRE")
    tasks = [link.task_id for link in await FicheTask.all().limit(3)]
    for n in range(12):
        fiche = await ActivityFiche.create(
            school_id=portfolio.school_id, learner_id=portfolio.learner_id, portfolio=portfolio, title=f"Fiche {n}"
        )
        await FicheTask.bulk_create([FicheTask(fiche=fiche, task_id=t) for t in set(tasks)])
        await Annex.create(fiche=fiche, kind=AnnexKind.URL, url=f"https://example.test/{n}", title=f"Lien {n}")
    assert await statements() == before


async def test_the_command_writes_the_same_archive(admin, learner, settings, tmp_path):
    await _prepared(learner)
    response = await admin.http.get(await _path(), headers=admin.headers)
    over_http, http_data = _archive(response.content)
    out = tmp_path / "dupire.zip"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PFMP_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=settings.database_url,
        PFMP_DATA_DIR=str(tmp_path / "data"),
        PFMP_ANNEX_DIR=str(settings.annex_dir),
    )
    dupire = await _dupire()
    result = subprocess.run(
        [sys.executable, "-m", "graph.cli", "export-learner-data", encode_id("Learner", dupire.id), "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    from_cli, cli_data = _archive(out.read_bytes())
    assert from_cli.namelist() == over_http.namelist()
    for name in over_http.namelist():
        if name not in ("donnees.json", "README.txt"):
            assert from_cli.read(name) == over_http.read(name)
    http_data.pop("exportedAt"), cli_data.pop("exportedAt")
    assert cli_data == http_data
    again = subprocess.run(
        [sys.executable, "-m", "graph.cli", "export-learner-data", str(dupire.id), "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode != 0 and "already exists" in again.stderr


async def test_a_large_annex_is_streamed_not_held(app, admin, learner, settings):
    size = 30 * 1024 * 1024
    fiche = await ActivityFiche.get(learner_id=learner.user.id, title__startswith="Fiche 1")
    stored_name = "ab" + "0" * 30
    path = settings.annex_dir / stored_name[:2] / stored_name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            out.write(block)
    await Annex.create(
        fiche=fiche,
        kind=AnnexKind.FILE,
        title="Vidéo",
        original_filename="video.bin",
        stored_name=stored_name,
        content_type="application/octet-stream",
        size=size,
    )
    # The bytes are not kept (that would be the memory measured): counted, and the archive's end checked.
    received = 0

    finished = asyncio.Event()
    requested = False

    async def receive():
        # The request once, then (as a server does) nothing until the client goes: the response is sent by then.
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    status = []
    tail = bytearray()

    async def send(message):
        nonlocal received, tail
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            received += len(message.get("body", b""))
            tail = (tail + message.get("body", b""))[-1024:]
            if not message.get("more_body", False):
                finished.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": await _path(),
        "raw_path": (await _path()).encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {admin.token}".encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    tracemalloc.start()
    try:
        await app(scope, receive, send)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == [200]
    assert received > size
    assert peak < size / 15, f"peak {peak} bytes for a {size}-byte annex"
    assert b"PK\x05\x06" in tail[-100:]  # the end of the ZIP's central directory: the archive was finished
