"""`pfmp backup` and `pfmp restore` (issue 17, part 4): a live SQLite deployment copied under writes, and back.

A real server runs on the demo data while a learner keeps creating fiches
and uploading annexes through the API; `pfmp backup` runs meanwhile. The
backup is restored into a fresh folder, a server started on it, and every
fiche committed before the backup started must be there, with every annex
file a restored row names, byte for byte.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from graph.types.common import encode_id
from resolvers.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.conformance.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
LEARNER_EMAIL = next(email for _, email, _, last in DEMO_ACCOUNTS if last == "DUPIRE")

LOGIN = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }"
CREATE = """mutation($p: ID!, $t: String!) { activityFicheCreate(input: {portfolioId: $p, title: $t}) {
  activityFiche { id } errors { code message } } }"""
UPLOAD = """mutation($f: ID!, $file: Upload!) { annexUpload(input: {ficheId: $f, file: $file}) {
  annex { id } errors { code message } } }"""
FICHES = """query($p: ID!) { node(id: $p) { ... on Portfolio { activityFiches { nodes { id title } } } } }"""


def pfmp(*args: str, data_dir: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PFMP_", "DATABASE_URL"))}
    full_env.update({"PFMP_DATA_DIR": str(data_dir)}, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "graph.cli", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _token(client: httpx.Client) -> str:
    body = client.post("/graphql", json={"query": LOGIN, "variables": {"e": LEARNER_EMAIL, "p": DEMO_PASSWORD}})
    return body.json()["data"]["login"]["token"]


def _portfolio_id(data_dir: Path) -> str:
    with sqlite3.connect(data_dir / "pfmp.sqlite3") as db:
        (pk,) = db.execute(
            "SELECT p.id FROM portfolio p JOIN app_user u ON u.id = p.learner_id JOIN period d ON d.id = p.period_id"
            " WHERE u.last_name = 'DUPIRE' AND d.name = 'Stage de découverte'"
        ).fetchone()
    return encode_id("Portfolio", pk)


class Writer(threading.Thread):
    """Creates fiches, and an annex on every third, as fast as the server takes them; remembers what was
    committed (the answer came back) and when, and the bytes of each annex."""

    def __init__(self, base: str, token: str, portfolio: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        self.portfolio = portfolio
        self.committed: list[tuple[float, str, str]] = []  # (time answered, fiche id, title)
        self.files: dict[str, bytes] = {}  # annex id -> content
        self.failures: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            self._write()
        except Exception as exc:  # reported by the test, which stops waiting
            self.failures.append(repr(exc))

    def _write(self) -> None:
        n = 0
        while not self.halt.is_set():
            n += 1
            title = f"Fiche sous écriture {n}"
            body = self.client.post("/graphql", json={"query": CREATE, "variables": {"p": self.portfolio, "t": title}})
            assert body.status_code == 200 and body.json().get("data"), body.text
            payload = body.json()["data"]["activityFicheCreate"]
            if payload["errors"]:
                self.failures.append(str(payload["errors"]))
                continue
            fiche = payload["activityFiche"]["id"]
            self.committed.append((time.monotonic(), fiche, title))
            if n % 3 == 0:
                content = f"annexe {n}\n".encode() * (200 * n)
                operations = {"query": UPLOAD, "variables": {"f": fiche, "file": None}}
                answer = self.client.post(
                    "/graphql",
                    data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
                    files={"0": (f"notes-{n}.txt", content, "text/plain")},
                ).json()["data"]["annexUpload"]
                if answer["errors"]:
                    self.failures.append(str(answer["errors"]))
                else:
                    self.files[answer["annex"]["id"]] = content


def test_a_live_server_backed_up_under_writes_restores_whole(tmp_path):
    live_dir, backup_dir, fresh_dir = tmp_path / "live", tmp_path / "backup", tmp_path / "fresh"
    server = ServerProcess(live_dir)
    base = server.start()
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            token = _token(client)
        writer = Writer(base, token, _portfolio_id(live_dir))
        writer.start()
        try:
            deadline = time.monotonic() + 60
            while len(writer.committed) < 12:  # writes under way, some annexes stored
                assert writer.is_alive() and time.monotonic() < deadline, writer.failures
                time.sleep(0.05)
            started = time.monotonic()
            result = pfmp("backup", str(backup_dir), data_dir=live_dir)
            finished = time.monotonic()
            time.sleep(0.3)  # and writes after it
        finally:
            writer.halt.set()
            writer.join(timeout=60)
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert writer.failures == []
    before = [(fiche, title) for at, fiche, title in writer.committed if at < started]
    during = [at for at, *_ in writer.committed if started <= at <= finished]
    assert len(before) >= 12 and during, "the backup must have run while fiches were being written"

    # A restore refuses a folder that holds a deployment.
    refused = pfmp("restore", str(backup_dir), data_dir=live_dir)
    assert refused.returncode != 0 and "fresh data folder" in refused.stderr

    restored = pfmp("restore", str(backup_dir), data_dir=fresh_dir)
    assert restored.returncode == 0, restored.stderr
    server = ServerProcess(fresh_dir, args=())
    base = server.start()
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            client.headers["Authorization"] = f"Bearer {_token(client)}"
            fiches = client.post(
                "/graphql", json={"query": FICHES, "variables": {"p": _portfolio_id(fresh_dir)}}
            ).json()["data"]["node"]["activityFiches"]["nodes"]
            there = {(f["id"], f["title"]) for f in fiches}
            assert set(before) <= there
            # Every annex a restored row names has its file, byte for byte.
            with sqlite3.connect(fresh_dir / "pfmp.sqlite3") as db:
                annex_ids = [encode_id("Annex", pk) for (pk,) in db.execute("SELECT id FROM annex WHERE kind='FILE'")]
            assert annex_ids and set(annex_ids) <= set(writer.files)
            for annex in annex_ids:
                response = client.get(f"/annexes/{annex}")
                assert response.status_code == 200, (annex, response.text)
                assert response.content == writer.files[annex]
    finally:
        server.stop()


def test_restore_refuses_what_is_not_a_backup(tmp_path):
    (tmp_path / "nothing").mkdir()
    result = pfmp("restore", str(tmp_path / "nothing"), data_dir=tmp_path / "fresh")
    assert result.returncode != 0 and "not a finished pfmp backup" in result.stderr
    assert not (tmp_path / "fresh" / "pfmp.sqlite3").exists()


def test_backup_refuses_a_non_empty_destination_and_postgres(tmp_path):
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "pfmp.sqlite3") as db:
        db.execute("CREATE TABLE annex (id INTEGER)")
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "keep.txt").write_text("x")
    result = pfmp("backup", str(tmp_path / "dest"), data_dir=tmp_path / "data")
    assert result.returncode != 0 and "not empty" in result.stderr
    on_postgres = pfmp(
        "backup", str(tmp_path / "dest2"), data_dir=tmp_path / "data", env={"DATABASE_URL": "postgres://u@h/db"}
    )
    assert on_postgres.returncode != 0
    assert "pg_dump" in on_postgres.stderr and "README" in on_postgres.stderr
    assert "Traceback" not in on_postgres.stderr
    assert not (tmp_path / "dest2").exists()
