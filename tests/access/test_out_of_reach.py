"""Every rule of the table, as every role, on a row out of the role's reach.

The walk (test_access_table.py) acts on rows the role reaches; here each rule
is tried on a row it does not (access.md, "Reach"): for the admin a row of
another school; for the others a learner of a classroom and level the demo
teacher does not teach, who is not the demo learner and whose portfolio no
demo trainer follows (Zoé HORS), with her period, portfolio, fiche, liaison
fiche, bilan and tutor. Teachers and private frameworks are reached by the
whole school, and trainers by all its staff, so theirs are another school's.

A row out of reach does not exist for the role: a read answers null (or leaves
it out), a mutation NOT_FOUND, an export 404. Only a role the rule refuses
anyway may be told FORBIDDEN, as it is for rows in reach: nothing tells it the
row exists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pytest

from graph.types.common import encode_id
from models.audit import AuditEntry, AuditKind
from models.bilans import BilanStatus, CompanyBilan, InterimReview
from models.fiches import ActivityFiche, Annex, AnnexKind
from models.frameworks import Framework
from models.links import TrainerLink
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import Classroom, Level, School
from models.users import LearnerStatus, Role, User
from permissions.table import ACCESS_TABLE
from resolvers.periods.portfolio_rules import open_portfolio
from tests.access.probes_bilans import scan_in_store, upload_scan
from tests.access.registry import _mutate, _read, agreed
from tests.access.spec_matrix import ROLES, may

PAST = dt.date(2020, 6, 30)


@dataclass
class Outside:
    """Rows out of one role's reach."""

    school: School
    level: Level
    classroom: Classroom
    learner: User
    period: Period
    portfolio: Portfolio
    liaison: LiaisonFiche
    fiche: ActivityFiche
    bilan: CompanyBilan
    review: InterimReview
    annex: Annex
    tutor: User
    master: User
    teacher: User
    framework: Framework
    audit_entry: AuditEntry


async def _world(school: School, tag: str, *, teacher: User, framework: Framework) -> Outside:
    level = await Level.create(school=school, name=f"Niveau {tag}", position=9)
    classroom = await Classroom.create(school=school, level=level, name=f"Classe {tag}")
    learner = await User.create(
        school=school,
        role=Role.LEARNER,
        email=f"zoe.hors.{tag}@x.test",
        first_name="Zoé",
        last_name="HORS",
        learner_status=LearnerStatus.SCHOOL,
        classroom=classroom,
        birth_date=dt.date(2010, 1, 1),
        phone="0600000009",
    )
    tutor = await User.create(
        school=school,
        role=Role.TUTOR,
        email=f"paul.{tag}@x.test",
        first_name="Paul",
        last_name="AILLEURS",
        company_name="Ailleurs SARL",
        phone="0600000008",
    )
    master = await User.create(
        school=school,
        role=Role.MASTER,
        email=f"mia.{tag}@x.test",
        first_name="Mia",
        last_name="AILLEURS",
        company_name="Ailleurs SARL",
        phone="0600000007",
    )
    period = await Period.create(
        school=school,
        level=level,
        name=f"Stage {tag}",
        start_date=dt.date(2026, 1, 5),
        end_date=dt.date(2026, 1, 30),
        school_year=2025,
        certifying=True,
        objectives="",
    )
    portfolio = await open_portfolio(period, learner, [])
    await portfolio.trainers.add(tutor)
    fiche = await ActivityFiche.get(portfolio=portfolio)
    fiche.description = "Une fiche hors de portée."
    await fiche.save()
    bilan = await CompanyBilan.get(portfolio=portfolio)
    review = await InterimReview.create(school=school, learner=learner, review_date=PAST)
    annex = await Annex.create(fiche=fiche, kind=AnnexKind.URL, title="Photos", url="https://example.org/hors")
    return Outside(
        school,
        level,
        classroom,
        learner,
        period,
        portfolio,
        await LiaisonFiche.get(portfolio=portfolio),
        fiche,
        bilan,
        review,
        annex,
        tutor,
        master,
        teacher,
        framework,
        await AuditEntry.create(
            school_id=school.id,
            at=dt.datetime.now(dt.UTC),
            kind=AuditKind.PERSONAL_READ,
            subject_type="Learner",
            subject_id=learner.id,
            detail="email",
        ),
    )


@pytest.fixture
async def outside(app) -> dict[Role, Outside]:
    """For each role, rows it does not reach."""
    other = await School.create(uai="0590002C", name="Autre lycée")
    other_teacher = await User.create(
        school=other,
        role=Role.TEACHER,
        email="prof.ailleurs@x.test",
        first_name="Paul",
        last_name="AILLEURS",
        phone="0600000006",
    )
    other_framework = await Framework.create(
        school=other, code="CAP-AILLEURS", name="Référentiel d'ailleurs", content_hash="0" * 64
    )
    demo_school = await School.get(uai="0599999Z")
    elsewhere = await _world(other, "ailleurs", teacher=other_teacher, framework=other_framework)
    same_school = await _world(demo_school, "hors", teacher=other_teacher, framework=other_framework)
    rows = {role: elsewhere if role is Role.ADMIN else same_school for role in ROLES}
    # staff reach every trainer of their school (to assign them): theirs out of reach are another school's
    rows[Role.TEACHER] = replace(same_school, tutor=elsewhere.tutor, master=elsewhere.master)
    return rows


def _id(type_name: str, row) -> str:
    return encode_id(type_name, row.id)


async def _node(api, row, type_name: str, selection: str, pick=lambda node: node) -> str:
    return await _read(
        api,
        "query($id: ID!) { node(id: $id) { ... on %s { %s } } }" % (type_name, selection),
        lambda d: d["node"] and pick(d["node"]),
        id=_id(type_name, row),
    )


async def _download(api, path: str) -> str:
    response = await api.http.get(path, headers=api.headers)
    return {200: "allowed", 403: "refused", 404: "NOT_FOUND"}.get(
        response.status_code, f"status {response.status_code}"
    )


async def _completed(bilan: CompanyBilan) -> CompanyBilan:
    await CompanyBilan.filter(id=bilan.id).update(
        status=BilanStatus.COMPLETED, meeting_date=PAST, completed_at=dt.datetime.now(dt.UTC)
    )
    return await CompanyBilan.get(id=bilan.id)


async def _fiche_mutations(api, o: Outside) -> str:
    fiche = _id("ActivityFiche", o.fiche)
    return agreed(
        await _mutate(
            api,
            'mutation($p: ID!) { activityFicheCreate(input: {portfolioId: $p, title: "Sonde"}) { errors { code } } }',
            "activityFicheCreate",
            p=_id("Portfolio", o.portfolio),
        ),
        await _mutate(
            api,
            "mutation($id: ID!, $v: Int!) { activityFicheUpdate(input: {id: $id, version: $v, "
            'title: "Sonde"}) { errors { code } } }',
            "activityFicheUpdate",
            id=fiche,
            v=o.fiche.version,
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { activityFicheDelete(input: {id: $id}) { errors { code } } }",
            "activityFicheDelete",
            id=fiche,
        ),
    )


async def _period_mutations(api, o: Outside) -> str:
    level = _id("Level", o.level)
    return agreed(
        await _mutate(
            api,
            'mutation($l: ID!) { periodCreate(input: {levelId: $l, name: "Sonde", '
            'startDate: "2026-03-02", endDate: "2026-03-13"}) { errors { code } } }',
            "periodCreate",
            l=level,
        ),
        await _mutate(
            api,
            'mutation($id: ID!, $v: Int!) { periodUpdate(input: {id: $id, version: $v, name: "X"}) '
            "{ errors { code } } }",
            "periodUpdate",
            id=_id("Period", o.period),
            v=o.period.version,
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { periodDelete(input: {id: $id}) { errors { code } } }",
            "periodDelete",
            id=_id("Period", o.period),
        ),
        await _mutate(
            api,
            'mutation($l: ID!) { periodTemplateCreate(input: {levelId: $l, name: "Sonde"}) { errors { code } } }',
            "periodTemplateCreate",
            l=level,
        ),
        await _mutate(
            api,
            'mutation($id: ID!) { portfolioDaysDoneSet(input: {id: $id, daysDone: "3"}) { errors { code } } }',
            "portfolioDaysDoneSet",
            id=_id("Portfolio", o.portfolio),
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { periodPlannedDaysSet(input: {id: $id, plannedDays: 3}) { errors { code } } }",
            "periodPlannedDaysSet",
            id=_id("Period", o.period),
        ),
    )


async def _assign(api, o: Outside, trainer: User) -> str:
    """Assigning a trainer the role reaches (or the outside one) to the outside portfolio, and removing them."""
    ids = dict(
        p=_id("Portfolio", o.portfolio),
        t=_id("Tutor" if trainer.role is Role.TUTOR else "ApprenticeshipMaster", trainer),
    )
    return agreed(
        await _mutate(
            api,
            "mutation($p: ID!, $t: ID!) { portfolioTrainerAssign(input: {portfolioId: $p, trainerId: $t}) { errors { code } } }",
            "portfolioTrainerAssign",
            **ids,
        ),
        await _mutate(
            api,
            "mutation($p: ID!, $t: ID!) { portfolioTrainerUnassign(input: {portfolioId: $p, trainerId: $t}) "
            "{ errors { code } } }",
            "portfolioTrainerUnassign",
            **ids,
        ),
    )


def _export(path: str, row_of):  # noqa: D401
    async def probe(api, o: Outside) -> str:
        return await _download(api, path % encode_id(*row_of(o)))

    return probe


_LIAISON_WORKPLACE = """mutation($id: ID!, $v: Int!) { liaisonFicheWorkplaceUpdate(input: {id: $id, version: $v, companyName: "Volt SA", activityDomain: "Tertiaire", tutorName: "Jo Volt"}) { errors { code } } }"""
_LIAISON_PLAN = """mutation($id: ID!, $v: Int!) { liaisonFichePlanUpdate(input: {id: $id, version: $v, objectives: "Objectifs"}) { errors { code } } }"""


def _simple(call):
    async def probe(api, o: Outside) -> str:
        return await call(api, o)

    return probe


async def _liaison_plan(api, o: Outside) -> str:
    return agreed(
        await _mutate(
            api, _LIAISON_PLAN, "liaisonFichePlanUpdate", id=_id("LiaisonFiche", o.liaison), v=o.liaison.version
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { liaisonFicheReset(input: {id: $id, parts: [OBJECTIVES]}) { errors { code } } }",
            "liaisonFicheReset",
            id=_id("LiaisonFiche", o.liaison),
        ),
    )


async def _annex_write(api, o: Outside) -> str:
    return agreed(
        await _mutate(
            api,
            'mutation($f: ID!) { annexAddUrl(input: {ficheId: $f, url: "https://example.org"}) { errors { code } } }',
            "annexAddUrl",
            f=_id("ActivityFiche", o.fiche),
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { annexDelete(input: {id: $id}) { errors { code } } }",
            "annexDelete",
            id=_id("Annex", o.annex),
        ),
    )


async def _export_completed_bilan(api, o: Outside) -> str:
    await _completed(o.bilan)
    return await _export("/exports/bilan/%s", lambda o: ("CompanyBilan", o.bilan.id))(api, o)


async def _bilan_completed_read(api, o: Outside) -> str:
    await _completed(o.bilan)
    return await _node(api, o.bilan, "CompanyBilan", "status")


async def _bilan_paper_write(api, o: Outside) -> str:
    # bilanPaperScanUpload, a multipart request (tests/access/probes_bilans.py)
    return await upload_scan(api, o.bilan)


async def _bilan_paper_read(api, o: Outside) -> str:
    # the field answers null; the download (GET /bilans/{id}/paper-scan) is tried in tests/bilans/test_paper.py
    await _completed(o.bilan)
    await scan_in_store(api, o.bilan)
    return await _node(api, o.bilan, "CompanyBilan", "paperScan { filename }", lambda node: node["paperScan"])


async def _bilan_write(api, o: Outside) -> str:
    bilan = _id("CompanyBilan", o.bilan)
    return agreed(
        await _mutate(
            api,
            "mutation($id: ID!, $v: Int!) { bilanUpdate(input: {id: $id, version: $v, "
            "engagement: 3}) { errors { code } } }",
            "bilanUpdate",
            id=bilan,
            v=o.bilan.version,
        ),
        await _mutate(
            api,
            "mutation($id: ID!, $v: Int!) { bilanComplete(input: {id: $id, version: $v}) { errors { code } } }",
            "bilanComplete",
            id=bilan,
            v=o.bilan.version,
        ),
        await _mutate(
            api,
            'mutation($id: ID!, $v: Int!) { bilanReopen(input: {id: $id, version: $v, reason: "Erreur"}) { errors { code } } }',
            "bilanReopen",
            id=bilan,
            v=(await _completed(o.bilan)).version,
        ),
    )


async def _pre_convention(api, o: Outside) -> str:
    return agreed(
        await _download(api, "/exports/pre-convention/portfolio/" + _id("Portfolio", o.portfolio)),
        await _download(api, "/exports/pre-convention/period/" + _id("Period", o.period)),
    )


async def _attestation(api, o: Outside) -> str:
    return agreed(
        await _download(api, "/exports/attestation/" + _id("Portfolio", o.portfolio)),
        await _download(api, "/exports/period-attestations/" + _id("Period", o.period)),
    )


async def _allowance_read(api, o: Outside) -> str:
    return agreed(
        await _node(api, o.period, "Period", "allowanceStatement { totalCents }", lambda n: n["allowanceStatement"]),
        await _node(api, o.portfolio, "Portfolio", "allowance { amountCents }", lambda n: n["allowance"]),
    )


async def _structure_write(api, o: Outside) -> str:
    return agreed(
        await _mutate(
            api,
            'mutation($l: ID!) { classroomCreate(input: {levelId: $l, name: "Sonde"}) { errors { code } } }',
            "classroomCreate",
            l=_id("Level", o.level),
        ),
        await _mutate(
            api,
            'mutation($l: ID!) { levelUpdate(input: {id: $l, diplomaName: "CAP Sonde"}) { errors { code } } }',
            "levelUpdate",
            l=_id("Level", o.level),
        ),
    )


async def _structure_read(api, o: Outside) -> str:
    return agreed(await _node(api, o.level, "Level", "name"), await _node(api, o.classroom, "Classroom", "name"))


async def _trainer_change(api, o: Outside) -> str:
    return agreed(
        await _mutate(
            api,
            'mutation($id: ID!) { trainerUpdate(input: {id: $id, phone: "0622222222"}) { errors { code } } }',
            "trainerUpdate",
            id=_id("Tutor", o.tutor),
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { trainerDeactivate(input: {id: $id}) { errors { code } } }",
            "trainerDeactivate",
            id=_id("Tutor", o.tutor),
        ),
    )


async def _trainer_manage(api, o: Outside) -> str:
    return agreed(
        await _mutate(
            api,
            'mutation($id: ID!) { trainerUpdate(input: {id: $id, firstName: "Eudes"}) { errors { code } } }',
            "trainerUpdate",
            id=_id("Tutor", o.tutor),
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { trainerDeactivate(input: {id: $id}) { errors { code } } }",
            "trainerDeactivate",
            id=_id("Tutor", o.tutor),
        ),
    )


async def _account_manage(api, o: Outside) -> str:
    return agreed(
        await _mutate(
            api,
            "mutation($id: ID!) { userRevokeTokens(input: {id: $id}) { errors { code } } }",
            "userRevokeTokens",
            id=_id("Teacher", o.teacher),
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { userDeactivate(input: {id: $id}) { errors { code } } }",
            "userDeactivate",
            id=_id("Learner", o.learner),
        ),
        await _mutate(
            api,
            "mutation($id: ID!, $c: [ID!]!) { teacherClassroomsSet(input: {id: $id, classroomIds: $c}) { errors { code } } }",
            "teacherClassroomsSet",
            id=_id("Teacher", o.teacher),
            c=[],
        ),
    )


async def _trainer_links(api, o: Outside) -> str:
    now = dt.datetime.now(dt.UTC)
    link = await TrainerLink.create(
        school_id=o.portfolio.school_id,
        portfolio=o.portfolio,
        trainer=o.tutor if o.tutor.school_id == o.portfolio.school_id else await _tutor_of(o.portfolio),
        secret_digest="0" * 64,
        issued_by_name="Paul AILLEURS",
        issued_at=now,
        expires_at=now + dt.timedelta(days=30),
    )
    return agreed(
        await _mutate(
            api,
            "mutation($p: ID!, $t: ID!) { trainerLinkIssue(input: {portfolioId: $p, trainerId: $t}) "
            "{ errors { code } } }",
            "trainerLinkIssue",
            p=_id("Portfolio", o.portfolio),
            t=_id("Tutor", o.tutor),
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { trainerLinkRevoke(input: {id: $id}) { errors { code } } }",
            "trainerLinkRevoke",
            id=_id("TrainerLink", link),
        ),
    )


async def _tutor_of(portfolio: Portfolio) -> User:
    return await User.get(trained_portfolios__id=portfolio.id)


# rule → how to try it on rows out of reach (a read answers "refused" when the row reads null)
PROBES = {
    "learner.identity.read": _simple(lambda api, o: _node(api, o.learner, "Learner", "fullName status")),
    "learner.personal.read": _simple(lambda api, o: _node(api, o.learner, "Learner", "email birthDate phone")),
    "learner.dashboard.read": _simple(
        lambda api, o: _node(api, o.learner, "Learner", "dashboard { competences { currentLevel } } freeFiches { id }")
    ),
    "learner.identity.write": _simple(
        lambda api, o: _mutate(
            api,
            'mutation($id: ID!) { learnerUpdate(input: {id: $id, firstName: "Zo"}) { errors { code } } }',
            "learnerUpdate",
            id=_id("Learner", o.learner),
        )
    ),
    "learner.personal.write": _simple(
        lambda api, o: _mutate(
            api,
            'mutation($id: ID!) { learnerUpdate(input: {id: $id, phone: "0611111111"}) { errors { code } } }',
            "learnerUpdate",
            id=_id("Learner", o.learner),
        )
    ),
    "period.read": _simple(lambda api, o: _node(api, o.period, "Period", "name portfolios { nodes { id } }")),
    "period.write": _period_mutations,
    "portfolio.referent.read": _simple(lambda api, o: _node(api, o.portfolio, "Portfolio", "referentTeacher { id }")),
    "portfolio.referent.write": _simple(
        lambda api, o: _mutate(
            api,
            "mutation($id: ID!, $t: ID) { portfolioReferentTeacherSet(input: {id: $id, teacherId: $t}) { errors { code } } }",
            "portfolioReferentTeacherSet",
            id=_id("Portfolio", o.portfolio),
            t=_id("Teacher", o.teacher),
        )
    ),
    # the read half of the seen state (newFicheCount) is a field of a portfolio that is null out of reach
    "fiche.seen": _simple(
        lambda api, o: _mutate(
            api,
            "mutation($p: ID!) { markSeen(input: {portfolioId: $p}) { errors { code } } }",
            "markSeen",
            p=_id("Portfolio", o.portfolio),
        )
    ),
    "liaison.read": _simple(lambda api, o: _node(api, o.liaison, "LiaisonFiche", "objectives")),
    "liaison.workplace.write": _simple(
        lambda api, o: _mutate(
            api,
            _LIAISON_WORKPLACE,
            "liaisonFicheWorkplaceUpdate",
            id=_id("LiaisonFiche", o.liaison),
            v=o.liaison.version,
        )
    ),
    "liaison.plan.write": _liaison_plan,
    "fiche.read": _simple(lambda api, o: _node(api, o.fiche, "ActivityFiche", "title description")),
    "fiche.staff.read": _simple(lambda api, o: _node(api, o.fiche, "ActivityFiche", "readState deletedAt")),
    "fiche.write": _fiche_mutations,
    "fiche.tasks.write": _simple(
        lambda api, o: _mutate(
            api,
            "mutation($id: ID!) { activityFicheTasksSet(input: {id: $id, taskIds: []}) { errors { code } } }",
            "activityFicheTasksSet",
            id=_id("ActivityFiche", o.fiche),
        )
    ),
    "fiche.targets.read": _simple(
        lambda api, o: _node(api, o.fiche, "ActivityFiche", "evaluationTargets { competence { code } }")
    ),
    "fiche.targets.write": _simple(
        lambda api, o: _mutate(
            api,
            "mutation($id: ID!) { activityFicheTargetsSet(input: {id: $id, targets: []}) { errors { code } } }",
            "activityFicheTargetsSet",
            id=_id("ActivityFiche", o.fiche),
        )
    ),
    "fiche.mark_read": _simple(
        lambda api, o: _mutate(
            api,
            "mutation($id: ID!) { activityFicheMarkRead(input: {id: $id}) { errors { code } } }",
            "activityFicheMarkRead",
            id=_id("ActivityFiche", o.fiche),
        )
    ),
    "annex.read": _simple(lambda api, o: _node(api, o.annex, "Annex", "title")),
    "annex.write": _annex_write,
    "bilan.draft.read": _simple(lambda api, o: _node(api, o.bilan, "CompanyBilan", "status")),
    "bilan.completed.read": _bilan_completed_read,
    "bilan.write": _bilan_write,
    "bilan.paper.write": _bilan_paper_write,
    "bilan.paper.read": _bilan_paper_read,
    "review.create": _simple(
        lambda api, o: _mutate(
            api,
            "mutation($l: ID!, $d: Date!) { interimReviewCreate(input: {learnerId: $l, date: $d}) { errors { code } } }",
            "interimReviewCreate",
            l=_id("Learner", o.learner),
            d=PAST.isoformat(),
        )
    ),
    "review.read": _simple(lambda api, o: _node(api, o.review, "InterimReview", "date")),
    "framework.read": _simple(
        lambda api, o: _read(
            api, "query($c: String!) { framework(code: $c) { code } }", lambda d: d["framework"], c=o.framework.code
        )
    ),
    "tutor.manage": _simple(lambda api, o: _assign(api, o, o.tutor)),
    "master.manage": _simple(lambda api, o: _assign(api, o, o.master)),
    "trainer.contact.read": _simple(lambda api, o: _node(api, o.tutor, "Tutor", "email phone")),
    "trainer.contact.write": _trainer_change,
    "trainer.manage": _trainer_manage,
    "trainer.identity.read": _simple(lambda api, o: _node(api, o.tutor, "Tutor", "fullName companyName")),
    "export.meeting_sheet": _export("/exports/meeting-sheet/%s", lambda o: ("Portfolio", o.portfolio.id)),
    "export.completed_bilan": _export_completed_bilan,
    "export.pre_convention": _pre_convention,
    "export.attestation": _attestation,
    "export.learner_synthesis": _export("/exports/learner-synthesis/%s", lambda o: ("Learner", o.learner.id)),
    "export.level_synthesis": _export("/exports/level-synthesis/%s", lambda o: ("Level", o.level.id)),
    "allowance.write": _simple(
        lambda api, o: _mutate(
            api,
            "mutation($p: ID!) { allowanceStatementValidate(input: {periodId: $p}) { errors { code } } }",
            "allowanceStatementValidate",
            p=_id("Period", o.period),
        )
    ),
    "allowance.statement.read": _allowance_read,
    "export.learner_data": _export("/exports/learner-data/%s", lambda o: ("Learner", o.learner.id)),
    "learner.erase": _simple(
        lambda api, o: _mutate(
            api,
            "mutation($l: ID!) { learnerErase(input: {id: $l}) { errors { code } } }",
            "learnerErase",
            l=_id("Learner", o.learner),
        )
    ),
    "school.structure.read": _structure_read,
    "school.structure.write": _structure_write,
    "teacher.identity.read": _simple(lambda api, o: _node(api, o.teacher, "Teacher", "fullName")),
    "teacher.contact.read": _simple(lambda api, o: _node(api, o.teacher, "Teacher", "email phone")),
    "account.manage": _account_manage,
    "trainer_link.manage": _trainer_links,
    "audit.read": _simple(lambda api, o: _node(api, o.audit_entry, "AuditEntry", "kind detail")),
}

# Rules whose operations create rows in the viewer's own school and name no row, so there is no row to be
# out of reach of: only the rule itself can refuse them (the walk checks that for every role).
NO_ROW_TO_MISS = {
    "framework.write": "frameworkImport creates or replaces the school's own framework",
    "allowance.rates.read": "allowanceRates answers the national rates and the viewer's own school's",
    "trainer_link.use": "trainerLinkExchange names no row, the link does: a link whose trainer does not follow its "
    "portfolio is refused, and a link's token reaches no other portfolio (tests/people/test_trainer_links.py)",
    "refresh_token.use": "tokenRefresh names no row, the refresh token does: it refreshes only the account it was "
    "issued to, and a made-up one or another server's is REFRESH_TOKEN_INVALID (tests/signin/test_refresh_tokens.py)",
}


def test_every_rule_is_tried_out_of_reach():
    assert set(PROBES) | set(NO_ROW_TO_MISS) == set(ACCESS_TABLE)
    assert set(PROBES) & set(NO_ROW_TO_MISS) == set()


def _is_read(rule_key: str) -> bool:
    return ACCESS_TABLE[rule_key].action == "read"


@pytest.mark.parametrize("rule_key", sorted(PROBES))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
async def test_a_row_out_of_reach_does_not_exist_for_the_role(rule_key, role, clients, outside):
    answer = await PROBES[rule_key](clients[role], outside[role])
    if rule_key.startswith("export."):
        # the export routes answer 404 for a row out of reach, and 403 only for a reached row the rule refuses
        assert answer == ("NOT_FOUND" if may(rule_key, role) else answer) and answer in {"NOT_FOUND", "refused"}
    elif _is_read(rule_key):
        assert answer == "refused"  # null, never FORBIDDEN
    elif may(rule_key, role):
        assert answer == "NOT_FOUND"
    else:
        assert answer in {"refused", "NOT_FOUND"}
