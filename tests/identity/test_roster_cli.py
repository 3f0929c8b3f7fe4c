"""`pfmp import-roster FILE`: the same import from the command line, with a progress bar."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = Path(__file__).parent / "files"


def pfmp(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PFMP_", "DATABASE_URL"))}
    env["PFMP_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "graph.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def data_dir(tmp_path):
    created = pfmp(
        "create-admin",
        "--email",
        "chef@lp.test",
        "--first-name",
        "Ana",
        "--last-name",
        "LOPEZ",
        "--school-uai",
        "0591234A",
        "--school-name",
        "LP Test",
        "--password",
        "a-long-enough-password",
        data_dir=tmp_path,
    )
    assert created.returncode == 0, created.stderr
    return tmp_path


def test_an_export_imported_twice_then_changed(data_dir):
    # when
    first = pfmp("import-roster", str(FILES / "eleves-2026.xml"), "--level", "Première année de CAP", data_dir=data_dir)
    again = pfmp("import-roster", str(FILES / "eleves-2026.xml"), data_dir=data_dir)
    changed = pfmp("import-roster", str(FILES / "eleves-2026-octobre.xml"), "--level", "CAP 1", data_dir=data_dir)
    # then
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "learners: 4 created, 0 updated, 0 unchanged, 0 missing",
        "classrooms: 2 created, 0 updated, 0 unchanged",
    ]
    assert "learners" in first.stderr  # the progress bar's label
    assert "warning: ELEVE #5 (ELEVE_ID 4005): left the school on 30/06/2024, not imported" in first.stderr
    assert again.stdout.splitlines() == [
        "learners: 0 created, 0 updated, 4 unchanged, 0 missing",
        "classrooms: 0 created, 0 updated, 2 unchanged",
    ]
    assert changed.stdout.splitlines() == [
        "learners: 1 created, 2 updated, 1 unchanged, 1 missing",
        "classrooms: 0 created, 0 updated, 2 unchanged",
        # no longer listed: she left today (Learner.leftAt, docs/stewardship.md)
        f"missing (kept, not in the file, left on {dt.date.today().isoformat()}): NGUYEN Bao",
    ]


@pytest.mark.parametrize(
    "file, problem",
    [
        ("bomb.xml", "bomb.xml: document: declares a DTD or entities, refused"),
        ("classes-sans-classe.csv", "classes-sans-classe.csv: line 1: missing column(s): classe"),
        ("classes-date-fausse.csv", "classes-date-fausse.csv: line 3: date_naissance '30/13/2009' is not a past date"),
    ],
)
def test_a_bad_file_is_refused_whole(data_dir, file, problem):
    result = pfmp("import-roster", str(FILES / file), data_dir=data_dir)
    assert result.returncode != 0
    assert problem in result.stderr
    assert "refused" in result.stderr and "nothing imported" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_file_that_does_not_fit_the_school_is_refused_whole(data_dir):
    # classes.csv creates its levels, but no level is given for the second file's new classroom
    ok = pfmp("import-roster", str(FILES / "classes.csv"), data_dir=data_dir)
    assert ok.returncode == 0, ok.stderr
    refused = pfmp("import-roster", str(FILES / "eleves-2026.xml"), data_dir=data_dir)
    assert refused.returncode != 0
    assert "classroom 'CAP 1 ELEC' is new; give its level" in refused.stderr
    again = pfmp("import-roster", str(FILES / "classes.csv"), data_dir=data_dir)
    assert again.stdout.splitlines()[0] == "learners: 0 created, 0 updated, 3 unchanged, 0 missing"


def test_an_unknown_identity_provider_is_refused(data_dir):
    result = pfmp("import-roster", str(FILES / "classes.csv"), "--provider", "ent", data_dir=data_dir)
    assert result.returncode != 0 and "not a configured identity provider" in result.stderr


def test_teachers_from_sts_web_after_the_learners(data_dir):
    # given: the learners' export creates « CAP 1 ELEC » and « 1CAP B » (not « CAPELECT »)
    learners = pfmp("import-roster", str(FILES / "eleves-2026.xml"), "--level", "CAP 1", data_dir=data_dir)
    assert learners.returncode == 0, learners.stderr
    # when
    first = pfmp("import-staff", str(FILES / "sts_emp_0599999Z_2026.xml"), data_dir=data_dir)
    again = pfmp("import-staff", str(FILES / "sts_emp_0599999Z_2026.xml"), data_dir=data_dir)
    refused = pfmp("import-staff", str(FILES / "enseignants-mauvais.csv"), data_dir=data_dir)
    # then
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == ["teachers: 3 created, 0 updated, 0 unchanged, 0 missing"]
    assert "warning: INDIVIDU #4 (ID 8103): FONCTION DIR is not teaching (ENS), not imported" in first.stderr
    assert "warning: INDIVIDU #2 (ID 8101): classroom 'CAPELECT' is not in the school" in first.stderr
    assert again.stdout.splitlines() == ["teachers: 0 created, 0 updated, 3 unchanged, 0 missing"]
    assert refused.returncode != 0
    assert "enseignants-mauvais.csv: line 3: nom is missing or empty" in refused.stderr
    assert "nothing imported" in refused.stderr and "Traceback" not in refused.stderr
