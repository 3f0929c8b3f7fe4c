"""The `pfmp` command: it starts fully configured or stops with a one-line reason."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graph.schema import schema
from resolvers.frameworks.importing import BUILTIN_DIR

ROOT = Path(__file__).resolve().parents[2]


def pfmp(*args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PFMP_", "DATABASE_URL"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "graph.cli", *args],
        cwd=ROOT,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_export_schema_prints_the_sdl(tmp_path):
    result = pfmp("export-schema", env={"PFMP_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0
    assert result.stdout.strip() == schema.as_str().strip()


def test_a_wrong_database_url_stops_with_one_line(tmp_path):
    result = pfmp("migrate", env={"PFMP_DATA_DIR": str(tmp_path), "DATABASE_URL": "mysql://nobody@nowhere/db"})
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "DATABASE_URL" in result.stderr


def test_an_unreachable_postgres_stops_with_one_line(tmp_path):
    result = pfmp("migrate", env={"PFMP_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgres://u@127.0.0.1:1/db"})
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "database" in result.stderr and "Traceback" not in result.stderr


def test_an_unwritable_data_folder_stops_with_one_line(tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    result = pfmp("migrate", env={"PFMP_DATA_DIR": str(blocker / "data")})
    assert result.returncode != 0
    assert "PFMP_DATA_DIR" in result.stderr and result.stderr.strip().count("\n") == 0


def test_production_refuses_to_start_without_a_token_secret(tmp_path):
    result = pfmp("migrate", env={"PFMP_DATA_DIR": str(tmp_path), "PFMP_ENV": "production"})
    assert result.returncode != 0
    assert "PFMP_TOKEN_SECRET" in result.stderr
    assert not (tmp_path / "token-secret").exists()


def test_development_generates_and_keeps_a_token_secret(tmp_path):
    env = {"PFMP_DATA_DIR": str(tmp_path)}
    assert pfmp("migrate", env=env).returncode == 0
    secret = (tmp_path / "token-secret").read_text()
    assert len(secret) >= 32
    assert pfmp("migrate", env=env).returncode == 0
    assert (tmp_path / "token-secret").read_text() == secret


def test_import_framework_refuses_a_bad_file_naming_the_entry(tmp_path):
    doc = json.loads((BUILTIN_DIR / "cap-electricien.json").read_text("utf-8"))
    doc["competences"][0]["unit"] = "NOPE"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), "utf-8")
    result = pfmp("import-framework", str(bad), env={"PFMP_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "competences[0].unit: unknown unit 'NOPE'" in result.stderr
    assert "nothing imported" in result.stderr


def test_import_framework_twice_reports_unchanged(tmp_path):
    doc = json.loads((BUILTIN_DIR / "cap-electricien.json").read_text("utf-8")) | {"code": "CAP-LOCAL"}
    path = tmp_path / "cap.json"
    path.write_text(json.dumps(doc), "utf-8")
    env = {"PFMP_DATA_DIR": str(tmp_path)}
    assert pfmp("import-framework", str(path), env=env).stdout.strip() == "CAP-LOCAL: created"
    assert pfmp("import-framework", str(path), env=env).stdout.strip() == "CAP-LOCAL: unchanged"


@pytest.mark.parametrize("password, ok", [("short", False), ("a-long-enough-password", True)])
def test_create_admin(tmp_path, password, ok):
    result = pfmp(
        "create-admin",
        "--email",
        "Chef@School.test",
        "--first-name",
        "Ana",
        "--last-name",
        "LOPEZ",
        "--school-uai",
        "0591234A",
        "--school-name",
        "LP Test",
        "--password",
        password,
        env={"PFMP_DATA_DIR": str(tmp_path)},
    )
    assert (result.returncode == 0) is ok, result.stderr
    if ok:
        again = pfmp(
            "create-admin",
            "--email",
            "chef@school.test",
            "--first-name",
            "A",
            "--last-name",
            "B",
            "--school-uai",
            "0591234A",
            "--password",
            password,
            env={"PFMP_DATA_DIR": str(tmp_path)},
        )
        assert again.returncode != 0 and "already exists" in again.stderr
