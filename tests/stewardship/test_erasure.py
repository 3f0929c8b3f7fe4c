"""Retention and erasure (issue 17, part 2), through the real app, the real CLI and the real annex store.

What the issue asks: a learner gains `leftAt` (the admin sets it; a roster import that no longer lists them sets
it); portfolios and evaluations are kept until the end of the second school year after they left (French school
years end on 31 August); erasure removes the personal fields (access.md: names, email, phone, birth date), the free
texts the learner wrote and their files, pseudonymises the learner, keeps the aggregate figures (counts, level
distributions per period) and the allowance statements with the name; an admin erases one learner on request,
refused while a period of theirs is open (not ended, or its bilan not completed); each learner is erased in one
transaction, so a purge that fails midway leaves each learner fully kept or fully erased; the files go once the
erasure is committed, and none is left behind (the annex folder or the bucket is listed after).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tortoise import connections

from graph.types.common import encode_id
from models.allowance import AllowanceStatement
from models.audit import AuditEntry, AuditKind
from models.bilans import BilanResultEntry, CompanyBilan
from models.fiches import ActivityFiche, Annex
from models.frameworks import AchievementLevel, Competence
from models.idempotency import IdempotencyKey
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import DiplomaYear, Level, School
from models.signin import ProviderSession, RefreshToken
from models.users import Role, User
from resolvers.demo import DEMO_PASSWORD
from resolvers.stewardship.erasure import kept_until
from tests.access.other_school import build_other_school
from tests.access.probes_bilans import upload_scan
from tests.conftest import STORAGES, Api, token_for
from tests.exports.delivery import complete
from tests.fiches.conftest import stored_files, upload_payload
from tests.signin.test_refresh_tokens import LOGIN, REFRESH

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
LONG_AGO = dt.date(2020, 6, 30)  # kept until 31 August 2022

ERASE = """mutation($id: ID!) { learnerErase(input: {id: $id}) {
  learner { id firstName lastName email phone birthDate leftAt }
  filesRemoved filesLeft errors { code reason message field } } }"""

AGGREGATES = """query($level: ID!, $period: ID!) {
  level: node(id: $level) { ... on Level { dashboard { learners { nodes {
    learner { id }
    competences { competence { code } currentLevel history { level periodName } }
    periods { periodId bilanStatus engagement ficheCount completedFicheCount } } } } } }
  period: node(id: $period) { ... on Period {
    portfolios { nodes { learner { id } ficheCount completedFicheCount } } } }
}"""


async def aggregates(admin: Api) -> dict:
    """The figures a school looks at, per learner id (the names change, the figures must not): the level's
    dashboard (levels per competence and period, fiche counts) and the period's fiche counts."""
    level = await Level.get(name="Première année de CAP")
    period = await Period.get(name="Stage de découverte")
    data = await admin.data(AGGREGATES, level=encode_id("Level", level.id), period=encode_id("Period", period.id))
    dashboards = {
        d["learner"]["id"]: {k: v for k, v in d.items() if k != "learner"}
        for d in data["level"]["dashboard"]["learners"]["nodes"]
    }
    portfolios = {p["learner"]["id"]: p for p in data["period"]["portfolios"]["nodes"]}
    return {"dashboards": dashboards, "portfolios": portfolios}


def level_distribution(figures: dict) -> dict:
    """How many learners hold each current level, per competence: the distribution a school reads."""
    found: dict = {}
    for dashboard in figures["dashboards"].values():
        for line in dashboard["competences"]:
            key = (line["competence"]["code"], line["currentLevel"])
            found[key] = found.get(key, 0) + 1
    return found


async def leave_with_everything(learner_user: User, learner: Api, teacher: Api, *, left_at=LONG_AGO) -> dict:
    """The learner's data as a real school holds it once they left: a fiche written with an annex uploaded through
    the API, a workplace, a bilan completed with a result and its paper scan uploaded through the API; left long
    ago."""
    portfolio = await Portfolio.get(learner_id=learner_user.id, period__name="Stage de découverte")
    fiche = await ActivityFiche.filter(learner_id=learner_user.id).order_by("id").first()
    if fiche is None:
        fiche = await ActivityFiche.create(
            school_id=learner_user.school_id, learner_id=learner_user.id, portfolio=portfolio, title="Ma fiche"
        )
    await ActivityFiche.filter(id=fiche.id).update(
        description="J'ai posé des prises chez M. Durand, 3 rue des Lilas.", analysis="J'ai appris.", workplace="Lille"
    )
    payload = await upload_payload(
        learner, encode_id("ActivityFiche", fiche.id), PDF, filename=f"rapport {learner_user.last_name}.pdf"
    )
    assert payload["errors"] == [], payload
    await LiaisonFiche.filter(portfolio_id=portfolio.id).update(
        company_name="Tout élec", tutor_name="Eude Toutcourt", company_siret="12345678901234"
    )
    bilan = await CompanyBilan.get(portfolio_id=portfolio.id)
    assert await upload_scan(teacher, bilan) == "allowed"
    competence = await Competence.filter(task_links__task__fiche_links__fiche_id=fiche.id).first()
    if competence is None:
        competence = await Competence.filter(framework__levels__name="Première année de CAP").first()
    assert competence is not None
    await BilanResultEntry.create(bilan=bilan, competence=competence, level=AchievementLevel.ACQUIRED)
    await CompanyBilan.filter(id=bilan.id).update(comment=f"{learner_user.first_name} a été très sérieuse.")
    await complete([bilan.id])
    await User.filter(id=learner_user.id).update(left_at=left_at, phone="0600000007", birth_date=dt.date(2009, 3, 1))
    return {"fiche": fiche, "portfolio": portfolio, "bilan": bilan}


async def validate_allowance(admin: Api) -> None:
    """The period's allowance statement validated (it keeps the learners' names 10 years)."""
    period = await Period.get(name="Stage de découverte")
    await Level.filter(id=period.level_id).update(diploma_year=DiplomaYear.CAP_1)
    await Portfolio.filter(period_id=period.id).update(days_done=10)
    body = await admin.data(
        "mutation($p: ID!) { allowanceStatementValidate(input: {periodId: $p}) { errors { code message } } }",
        p=encode_id("Period", period.id),
    )
    assert body["allowanceStatementValidate"]["errors"] == []


async def assert_erased(user_id: int, *, name: tuple[str, str], email: str) -> User:
    """Every personal field and free text of the learner gone; the rows the figures count still there."""
    row = await User.get(id=user_id)
    assert row.first_name == "Élève" and re.fullmatch(r"[0-9A-F]{4}", row.last_name), row.full_name
    assert row.email != email and row.email.endswith("@erased.invalid")
    assert (row.phone, row.birth_date, row.national_id, row.password_hash) == (None, None, None, None)
    assert not row.is_active and row.erased_at is not None
    fiches = await ActivityFiche.filter(learner_id=user_id)
    assert fiches, "the fiche rows are kept (they are counted)"
    for fiche in fiches:
        assert fiche.title == f"Fiche {fiche.reference}" and fiche.analysis == "" and fiche.workplace is None
        assert fiche.description in ("", "(effacé)")
    assert await Annex.filter(fiche__learner_id=user_id).count() == 0
    for liaison in await LiaisonFiche.filter(portfolio__learner_id=user_id):
        assert (liaison.company_name, liaison.tutor_name, liaison.company_siret) == (None, None, None)
    for bilan in await CompanyBilan.filter(portfolio__learner_id=user_id):
        assert bilan.comment == "" and bilan.scan_stored_name is None and bilan.scan_filename is None
        assert all(title == f"Fiche {ref}" for ref, _, title in (bilan.frozen_grid or {}).get("fiches", []))
    # Neither name anywhere in the learner's row, fiches or bilans.
    everything = str(
        [
            await User.get(id=user_id).values(),
            await ActivityFiche.filter(learner_id=user_id).values(),
            await CompanyBilan.filter(portfolio__learner_id=user_id).values(),
        ]
    )
    assert name[0] not in everything and name[1] not in everything
    return row


@pytest.mark.parametrize("storage", STORAGES, indirect=True)
async def test_the_admin_erases_a_learner_on_request(storage, settings, admin, learner, teacher):
    # given DUPIRE's data with an annex and a paper scan in the store, her period's allowance statement validated
    dupire = learner.user
    rows = await leave_with_everything(dupire, learner, teacher, left_at=None)
    await validate_allowance(admin)
    results = await BilanResultEntry.filter(bilan_id=rows["bilan"].id).count()
    before = await aggregates(admin)
    assert len(stored_files(settings)) == 2
    # when an administrator erases her on request
    body = await admin.data(ERASE, id=encode_id("Learner", dupire.id))
    # then she is pseudonymised, her personal fields are gone, and so are her two files, looked up again
    payload = body["learnerErase"]
    assert payload["errors"] == []
    erased = payload["learner"]
    assert erased["firstName"] == "Élève" and re.fullmatch(r"[0-9A-F]{4}", erased["lastName"])
    assert (erased["phone"], erased["birthDate"]) == (None, None)
    assert erased["leftAt"] == dt.date.today().isoformat()
    assert (payload["filesRemoved"], payload["filesLeft"]) == (2, 0)
    assert stored_files(settings) == []
    await assert_erased(dupire.id, name=("Angélique", "DUPIRE"), email=dupire.email)
    # the school's figures are those of before, her results and her counts included
    after = await aggregates(admin)
    assert after == before
    assert level_distribution(after) == level_distribution(before)
    assert await BilanResultEntry.filter(bilan_id=rows["bilan"].id).count() == results
    # the validated allowance statement keeps her name (10 years)
    statement = await AllowanceStatement.get(period_id=rows["portfolio"].period_id)
    assert any(line["last_name"] == "DUPIRE" for line in statement.lines)
    # her token no longer works
    assert await learner.error_code("{ me { id } }") == "UNAUTHENTICATED"
    # and the audit trail names the erasure and the administrator who asked for it
    trail = await AuditEntry.filter(detail="learnerErase").values_list("kind", "subject_id", "actor_id")
    assert trail == [(AuditKind.ACCESS_CHANGE, dupire.id, admin.user.id)]


async def test_an_erasure_leaves_no_sign_in_record_and_no_refresh_token_works(anonymous, admin, learner, teacher):
    # given: DUPIRE signed in with her password (a refresh token) and sent an idempotent write
    await leave_with_everything(learner.user, learner, teacher, left_at=None)
    signed = (await anonymous.data(LOGIN, e=learner.user.email, p=DEMO_PASSWORD))["login"]
    await ProviderSession.create(
        user_id=learner.user.id,
        provider="cas",
        subject="adupire",
        sid="ST-1",
        id_token="",
        created_at=dt.datetime.now(dt.UTC),
        expires_at=dt.datetime.now(dt.UTC),
    )
    await IdempotencyKey.create(
        user_id=learner.user.id,
        key="k-1",
        operation="activityFicheCreate",
        fingerprint="f" * 64,
        claimed_at=dt.datetime.now(dt.UTC),
        expires_at=dt.datetime.now(dt.UTC),
    )
    # when
    body = await admin.data(ERASE, id=encode_id("Learner", learner.user.id))
    # then: nothing of her sign-ins is left (her identifier at a provider included), and the refresh token is refused
    assert body["learnerErase"]["errors"] == []
    for model in (ProviderSession, RefreshToken, IdempotencyKey):
        assert not await model.exists(user_id=learner.user.id), model.__name__
    refreshed = (await anonymous.data(REFRESH, r=signed["refreshToken"]))["tokenRefresh"]
    assert refreshed["token"] is None and refreshed["errors"]


async def test_erasure_is_refused_while_a_period_is_open(admin, learner, teacher):
    # given DUPIRE's period has ended but her bilan is still a draft
    dupire = learner.user
    before = await User.get(id=dupire.id).values()
    # when the admin asks for her erasure, then it is refused with a reason, in French by default, and nothing changes
    payload = (await admin.data(ERASE, id=encode_id("Learner", dupire.id)))["learnerErase"]
    assert [(e["code"], e["reason"], e["field"]) for e in payload["errors"]] == [
        ("CONFLICT", "LEARNER_PERIOD_OPEN", ["input", "id"])
    ]
    assert "période ouverte" in payload["errors"][0]["message"]
    english = await admin.speaking("en").data(ERASE, id=encode_id("Learner", dupire.id))
    assert "open period" in english["learnerErase"]["errors"][0]["message"]
    assert await User.get(id=dupire.id).values() == before
    # given her bilan completed but the period not ended (its last day moved to next month): still refused
    portfolio = await Portfolio.get(learner_id=dupire.id)
    await complete([(await CompanyBilan.get(portfolio_id=portfolio.id)).id])
    await Period.filter(id=portfolio.period_id).update(end_date=dt.date.today() + dt.timedelta(days=30))
    payload = (await admin.data(ERASE, id=encode_id("Learner", dupire.id)))["learnerErase"]
    assert [e["reason"] for e in payload["errors"]] == ["LEARNER_PERIOD_OPEN"]
    # once ended, it goes through
    await Period.filter(id=portfolio.period_id).update(end_date=dt.date.today() - dt.timedelta(days=1))
    assert (await admin.data(ERASE, id=encode_id("Learner", dupire.id)))["learnerErase"]["errors"] == []


async def test_another_schools_learner_is_not_found(admin, teacher, settings):
    other = await build_other_school(settings.annex_dir)
    outsider = other.users[Role.LEARNER]
    before = await User.get(id=outsider.id).values()
    payload = (await admin.data(ERASE, id=encode_id("Learner", outsider.id)))["learnerErase"]
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    assert await User.get(id=outsider.id).values() == before
    # a teacher may never erase
    assert await teacher.error_code(ERASE, id=encode_id("Learner", outsider.id)) == "FORBIDDEN"


LEFT_AT = "mutation($id: ID!, $d: Date) { learnerUpdate(input: {id: $id, leftAt: $d}) { user { ... on Learner { leftAt } } errors { code } } }"


async def test_the_admin_sets_and_clears_the_leaving_date(admin, learner):
    learner_id = encode_id("Learner", learner.user.id)
    body = await admin.data(LEFT_AT, id=learner_id, d="2026-07-04")
    assert body["learnerUpdate"] == {"user": {"leftAt": "2026-07-04"}, "errors": []}
    assert (await User.get(id=learner.user.id)).left_at == dt.date(2026, 7, 4)
    # the learner reads it, and may not change it
    mine = await learner.data("query($id: ID!) { node(id: $id) { ... on Learner { leftAt } } }", id=learner_id)
    assert mine["node"]["leftAt"] == "2026-07-04"
    assert await learner.error_code(LEFT_AT, id=learner_id, d="2026-07-05") == "FORBIDDEN"
    # null clears it: the learner is back
    body = await admin.data(LEFT_AT, id=learner_id, d=None)
    assert body["learnerUpdate"] == {"user": {"leftAt": None}, "errors": []}


ROSTER = """mutation($content: String!) { rosterImport(input: {content: $content, format: CSV}) {
  learnersMissing { lastName leftAt } errors { code } } }"""


async def test_a_roster_import_that_no_longer_lists_a_learner_sets_their_leaving_date(admin):
    # given DUPIRE, FABROWSKI and HÔT in CAPELECT, DUPIRE once marked as left
    dupire = await User.get(last_name="DUPIRE")
    await User.filter(id=dupire.id).update(left_at=dt.date(2026, 7, 4))
    content = (
        "identifiant;nom;prenom;date_naissance;classe\n"
        f"7001;DUPIRE;Angélique;{(dupire.birth_date or dt.date(2009, 1, 1)):%d/%m/%Y};CAPELECT\n"
    )
    await User.filter(id=dupire.id).update(birth_date=dupire.birth_date or dt.date(2009, 1, 1))
    # when a roster of CAPELECT lists DUPIRE only
    result = (await admin.data(ROSTER, content=content))["rosterImport"]
    # then the two others have left today, and DUPIRE, listed again, is back
    today = dt.date.today().isoformat()
    assert result["errors"] == []
    assert sorted((m["lastName"], m["leftAt"]) for m in result["learnersMissing"]) == [
        ("FABROWSKI", today),
        ("HÔT", today),
    ]
    assert (await User.get(id=dupire.id)).left_at is None
    assert await User.filter(last_name="CARLIER", left_at=None).exists()  # CAP 1 ELEC: not in the file's classrooms
    # a second import keeps the first leaving date
    await User.filter(last_name="HÔT").update(left_at=dt.date(2026, 6, 30))
    await admin.data(ROSTER, content=content)
    assert (await User.get(last_name="HÔT")).left_at == dt.date(2026, 6, 30)


@pytest.mark.parametrize(
    ("left", "until"),
    [
        (dt.date(2024, 6, 15), dt.date(2026, 8, 31)),  # left during 2023-2024: kept through 2024-25 and 2025-26
        (dt.date(2024, 8, 31), dt.date(2026, 8, 31)),  # the last day of 2023-2024
        (dt.date(2024, 9, 1), dt.date(2027, 8, 31)),  # the first day of 2024-2025
        (dt.date(2025, 1, 10), dt.date(2027, 8, 31)),
    ],
)
def test_portfolios_are_kept_until_the_end_of_the_second_school_year_after_leaving(left, until):
    assert kept_until(left, 2) == until


# --- the command -----------------------------------------------------------------------------------------------


def pfmp(settings, tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PFMP_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=settings.database_url,
        PFMP_DATA_DIR=str(tmp_path / "data"),
        PFMP_ANNEX_DIR=str(settings.annex_dir),
    )
    return subprocess.run(
        [sys.executable, "-m", "graph.cli", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


async def _learner_api(http, settings, last_name: str) -> tuple[User, Api]:
    user = await User.get(role=Role.LEARNER, last_name=last_name)
    return user, Api(http, token_for(user, settings))


async def _snapshot(user_id: int) -> tuple:
    return (
        await User.get(id=user_id).values(),
        await ActivityFiche.filter(learner_id=user_id).order_by("id").values(),
        await Annex.filter(fiche__learner_id=user_id).order_by("id").values(),
        await CompanyBilan.filter(portfolio__learner_id=user_id).order_by("id").values(),
        await LiaisonFiche.filter(portfolio__learner_id=user_id).order_by("id").values(),
    )


async def test_the_dry_run_reports_and_the_purge_erases_what_is_past_the_policy(
    http, settings, admin, teacher, tmp_path
):
    # given DUPIRE and FABROWSKI left long ago with data and files, LECAM left long ago with a draft bilan (open),
    # CARLIER left last month (kept until 2028), HÔT still enrolled
    for last_name in ("DUPIRE", "FABROWSKI"):
        user, api = await _learner_api(http, settings, last_name)
        await leave_with_everything(user, api, teacher)
    await User.filter(last_name="LECAM").update(left_at=LONG_AGO)
    await User.filter(last_name="CARLIER").update(left_at=dt.date.today() - dt.timedelta(days=30))
    await validate_allowance(admin)
    before = await aggregates(admin)
    files = stored_files(settings)
    assert len(files) == 4
    kept = {name: await _snapshot((await User.get(last_name=name)).id) for name in ("LECAM", "CARLIER", "HÔT")}
    dupire = await User.get(last_name="DUPIRE")
    # when the dry run runs
    dry = pfmp(settings, tmp_path, "purge", "--dry-run")
    # then it names the two learners past the policy, what it would remove, the one held by an open period, and
    # writes nothing
    assert dry.returncode == 0, dry.stderr
    assert (
        "would erase: learner" in dry.stdout
        and "DUPIRE Angélique, left 2020-06-30, kept until 2022-08-31" in dry.stdout
    )
    assert "FABROWSKI" in dry.stdout and "annexes 1" in dry.stdout and "files 2" in dry.stdout
    assert "kept (open period): learner" in dry.stdout and "LECAM" in dry.stdout
    assert "CARLIER" not in dry.stdout and "HÔT" not in dry.stdout
    assert "2 learner(s) to erase, 1 kept for an open period, 4 file(s) to remove" in dry.stdout
    assert stored_files(settings) == files
    assert (await User.get(id=dupire.id)).last_name == "DUPIRE"
    # when the purge runs
    run = pfmp(settings, tmp_path, "purge")
    # then both are erased, every file is gone from the folder, the others are untouched, the figures unchanged
    assert run.returncode == 0, run.stderr
    assert "2 learner(s) erased, 1 kept for an open period, 4 file(s) removed, 0 still in the store" in run.stdout
    assert stored_files(settings) == []
    await assert_erased(dupire.id, name=("Angélique", "DUPIRE"), email=dupire.email)
    for name, snapshot in kept.items():
        assert await _snapshot(snapshot[0]["id"]) == snapshot, name
    after = await aggregates(admin)
    assert after == before and level_distribution(after) == level_distribution(before)
    statement = await AllowanceStatement.get(period__name="Stage de découverte")
    assert {"DUPIRE", "FABROWSKI"} <= {line["last_name"] for line in statement.lines}
    # a second purge finds nothing more to do
    again = pfmp(settings, tmp_path, "purge", "--dry-run")
    assert "0 learner(s) to erase, 1 kept for an open period" in again.stdout


async def _refuse_updates_of_liaison_fiche(portfolio_id: int, backend: str) -> None:
    """A real failure inside one learner's erasure, after its first steps wrote (its annexes deleted): the database
    refuses the update of that learner's liaison fiche."""
    connection = connections.get("default")
    if backend == "postgres":
        await connection.execute_script(
            "CREATE FUNCTION refuse_erasure() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ "
            "LANGUAGE plpgsql; "
            f"CREATE TRIGGER refuse_erasure BEFORE UPDATE ON liaison_fiche FOR EACH ROW "
            f"WHEN (OLD.portfolio_id = {portfolio_id}) EXECUTE FUNCTION refuse_erasure();"
        )
    else:
        await connection.execute_script(
            f"CREATE TRIGGER refuse_erasure BEFORE UPDATE ON liaison_fiche WHEN OLD.portfolio_id = {portfolio_id} "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END;"
        )


async def test_a_purge_that_fails_midway_leaves_each_learner_fully_kept_or_fully_erased(
    http, settings, admin, teacher, tmp_path, backend
):
    # given three learners past the policy, with data and files
    users = []
    for last_name in ("DUPIRE", "FABROWSKI", "LECAM"):
        user, api = await _learner_api(http, settings, last_name)
        await leave_with_everything(user, api, teacher)
        users.append(user)
    first, failing, last = sorted(users, key=lambda u: u.id)
    # and the erasure of the second one fails in the database once its annexes are deleted
    failing_portfolio = await Portfolio.get(learner_id=failing.id)
    await _refuse_updates_of_liaison_fiche(failing_portfolio.id, backend)
    kept = {u.id: await _snapshot(u.id) for u in (failing, last)}
    files_of = {u.id: {f for f in await _names_of(u.id)} for u in users}
    # when the purge runs
    run = pfmp(settings, tmp_path, "purge")
    # then it stops, saying so
    assert run.returncode != 0
    assert f"the erasure of learner {failing.id} failed" in run.stderr and "rolled back" in run.stderr
    assert "Traceback" not in run.stderr
    # the first is fully erased, files included; the failing one and the next fully kept, files included
    await assert_erased(first.id, name=(first.first_name, first.last_name), email=first.email)
    for user_id, snapshot in kept.items():
        assert await _snapshot(user_id) == snapshot
    listing = {Path(str(f)).name for f in stored_files(settings)}
    assert listing == files_of[failing.id] | files_of[last.id]
    assert files_of[first.id].isdisjoint(listing)
    # and the audit trail holds the one erasure that happened, by the operator (no actor), and no other
    erasures = await AuditEntry.filter(detail="pfmp purge").values_list("subject_type", "subject_id", "actor_id")
    assert erasures == [("Learner", first.id, None)]


async def _names_of(user_id: int) -> list[str]:
    annexes = await Annex.filter(fiche__learner_id=user_id).values_list("stored_name", flat=True)
    scans = await CompanyBilan.filter(portfolio__learner_id=user_id).values_list("scan_stored_name", flat=True)
    return [n for n in [*annexes, *scans] if n]


async def test_allowance_statements_keep_the_name_ten_years_then_the_purge_pseudonymises_it(
    http, settings, admin, teacher, tmp_path
):
    # given DUPIRE erased on request, her period's statement validated with her name
    dupire, api = await _learner_api(http, settings, "DUPIRE")
    await leave_with_everything(dupire, api, teacher)
    await validate_allowance(admin)
    assert (await admin.data(ERASE, id=encode_id("Learner", dupire.id)))["learnerErase"]["errors"] == []
    statement = await AllowanceStatement.get(period__name="Stage de découverte")
    line = next(line for line in statement.lines if line["learner_id"] == dupire.id)
    assert line["last_name"] == "DUPIRE"
    # while the statement is younger than 10 years, the purge leaves it as validated
    assert "allowance statement names: 0 would change" in pfmp(settings, tmp_path, "purge", "--dry-run").stdout
    # once validated more than 10 years ago
    await AllowanceStatement.filter(id=statement.id).update(validated_at=dt.datetime(2014, 6, 30, tzinfo=dt.UTC))
    assert "allowance statement names: 1 would change" in pfmp(settings, tmp_path, "purge", "--dry-run").stdout
    assert await AllowanceStatement.get(id=statement.id).values("lines") == {"lines": statement.lines}
    run = pfmp(settings, tmp_path, "purge")
    assert run.returncode == 0, run.stderr
    # then her line names her pseudonym, the amounts and the other learners' lines unchanged
    after = await AllowanceStatement.get(id=statement.id)
    erased = await User.get(id=dupire.id)
    mine = next(line for line in after.lines if line["learner_id"] == dupire.id)
    assert (mine["first_name"], mine["last_name"], mine["national_id"]) == ("Élève", erased.last_name, None)
    assert {k: v for k, v in mine.items() if k not in ("first_name", "last_name", "national_id")} == {
        k: v for k, v in line.items() if k not in ("first_name", "last_name", "national_id")
    }
    assert [entry for entry in after.lines if entry["learner_id"] != dupire.id] == [
        entry for entry in statement.lines if entry["learner_id"] != dupire.id
    ]
    assert after.total_cents == statement.total_cents


async def test_the_purge_removes_the_audit_entries_past_a_year_of_its_school_only(settings, admin, tmp_path):
    # given: entries of the demo school 400 and 10 days old, and one of another school 400 days old
    other = await School.create(uai="0590088Y", name="Autre lycée", audit_retention_days=1000)
    now = dt.datetime.now(dt.UTC)
    school_id = admin.user.school_id
    for school, age in ((school_id, 400), (school_id, 10), (other.id, 400)):
        await AuditEntry.create(
            school_id=school, at=now - dt.timedelta(days=age), kind=AuditKind.PERSONAL_READ, detail=f"{age} days"
        )
    # when
    dry = pfmp(settings, tmp_path, "purge", "--dry-run")
    done = pfmp(settings, tmp_path, "purge")
    # then: a year's entries kept (the policy's default), the other school's kept by its own policy
    assert dry.returncode == 0 and done.returncode == 0, dry.stderr + done.stderr
    assert "audit entries past the policy: 1 would change" in dry.stdout
    left = await AuditEntry.all().order_by("school_id", "at").values_list("school_id", "detail")
    assert sorted(left) == sorted([(school_id, "10 days"), (other.id, "400 days")])


async def test_the_purge_removes_the_sign_in_records_past_their_expiry(settings, admin, teacher, tmp_path):
    # given: the teacher's sign-in at a provider and a refresh token, each once expired and once still valid
    now = dt.datetime.now(dt.UTC)
    for days, sid in ((-2, "ST-expired"), (1, "ST-valid")):
        await ProviderSession.create(
            user_id=teacher.user.id,
            provider="cas",
            subject="cmartin",
            sid=sid,
            id_token="",
            created_at=now - dt.timedelta(days=3),
            expires_at=now + dt.timedelta(days=days),
        )
    for days, digest in ((-2, "0" * 64), (1, "1" * 64)):
        await RefreshToken.create(
            user_id=teacher.user.id,
            digest=digest,
            family="f" * 32,
            token_version=1,
            issued_at=now - dt.timedelta(days=3),
            expires_at=now + dt.timedelta(days=days),
        )
    # when
    dry = pfmp(settings, tmp_path, "purge", "--dry-run")
    done = pfmp(settings, tmp_path, "purge")
    # then: the two expired rows counted, then removed; the valid ones kept
    assert dry.returncode == 0 and done.returncode == 0, dry.stderr + done.stderr
    assert "expired sign-in records: 2 would change" in dry.stdout
    assert await ProviderSession.filter(user_id=teacher.user.id).values_list("sid", flat=True) == ["ST-valid"]
    assert await RefreshToken.filter(user_id=teacher.user.id).values_list("digest", flat=True) == ["1" * 64]
