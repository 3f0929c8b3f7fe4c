"""The five measured operations: the GraphQL document a front end sends, its variables, a check of the answer,
and for the reads the floor: the same rows read in-process with the equivalent Tortoise queries (the viewer's
row reach included, authentication and GraphQL not), dumped to JSON.

Targets are found in the first school of a generated database (bench/generate.py): the teacher who follows
all four classrooms of the first level (120 learners), that level's third period (completed bilans) for the
period view, its first learner for the learner view, and the drafts of its fourth period for the visit
screen and the batch save.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

import orjson
from tortoise.expressions import Subquery
from tortoise.functions import Count, Max

from graph.types.common import encode_id
from models.bilans import BilanCompetenceMode, BilanResultEntry, BilanStatus, CompanyBilan
from models.fiches import ActivityFiche, Annex, FicheEvaluationTarget, FicheRead, FicheTask
from models.frameworks import Competence, Criterion, FrameworkActivity, ScaleLevel, Task, TaskCompetence, Unit
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import Classroom, Level, School
from models.users import Role, User
from permissions import scopes
from permissions.viewer import Viewer
from resolvers.fiches.rules import visible_fiches

PERIOD_VIEW = """query PeriodView($id: ID!) { node(id: $id) { ... on Period { id name startDate endDate locked
  portfolios { nodes { id completedFicheCount bilanStatus
    learner { id fullName status classroom { id name } }
    liaisonFiche { id workplace { companyName activityDomain tutorName } }
    trainers { id fullName companyName } } } } } }"""

LEARNER_VIEW = """query LearnerView($id: ID!) { node(id: $id) { ... on Learner { id fullName status classroom { name }
  portfolios { id bilanStatus period { id name startDate endDate }
    liaisonFiche { workplace { companyName } }
    activityFiches { nodes { id number title autonomy completed readState updatedAt annexCount
      tasks { task { code } tickedByLearner checkedByTeacher } } } }
  freeFiches { id title formerPeriodName } } } }"""

# docs/bilans.md: "The visit screen needs one query".
VISIT = """query Visit($id: ID!) { node(id: $id) { ... on CompanyBilan {
  id status version engagement meetingDate comment
  period { name startDate endDate } learner { fullName } workplace { companyName tutorName }
  fiches { reference title }
  activities { activity { label } tasks { task { code label } marked ficheRefs
    competences { competence { id code label } marked ficheRefs mode level
      criteria { criterion { id label } marked ficheRefs level } } } }
  scale { value label } } } }"""

SAVE = """mutation Save($input: BilanUpdateInput!) {
  bilanUpdate(input: $input) {
    bilan { id version updatedAt } errors { field code message } } }"""

# tests/bilans/test_statements.py: a level's dashboard.
DASHBOARD = """query LevelDashboard($id: ID!) { node(id: $id) { ... on Level { dashboard { competences { code }
  learners { nodes { learner { fullName }
    competences { competence { code } currentLevel history { level date period { name } } }
    periods { period { name } engagement ficheCount completedFicheCount } } } } } } }"""

LEVEL_VALUES = ("NOT_ACQUIRED", "BEGINNING", "PARTIAL", "ACQUIRED", "MASTERED")


@dataclass
class Targets:
    viewer: Viewer
    teacher_name: str
    level_id: int
    framework_id: int
    period_id: int
    period_portfolios: int
    learner_id: int
    visit_bilan_id: int
    drafts: list[int]
    # The ~10 results of a save: five competences as a whole, then criteria of a sixth.
    global_competences: list[int] = field(default_factory=list)
    criteria_competence: int = 0
    criteria: list[int] = field(default_factory=list)


async def find_targets(school_id: int | None = None) -> Targets:
    """The targets in the first school, or in the school `school_id` (bench/academy.py: one per school)."""
    schools = School.all() if school_id is None else School.filter(id=school_id)
    school = await schools.order_by("id").first()
    level = await Level.filter(school_id=school.id).order_by("position", "id").first()
    taught = defaultdict(int)
    for row in await Classroom.filter(level_id=level.id).values("teachers__id"):
        if row["teachers__id"]:
            taught[row["teachers__id"]] += 1
    teacher = await User.get(id=min(taught, key=lambda t: (-taught[t], t)), role=Role.TEACHER)
    viewer = Viewer(id=teacher.id, role=teacher.role, school_id=teacher.school_id)
    periods = await Period.filter(level_id=level.id).order_by("start_date", "id")
    completed = [
        p for p in periods if await CompanyBilan.exists(portfolio__period_id=p.id, status=BilanStatus.COMPLETED)
    ]
    view_period = completed[-1] if completed else periods[0]
    learner = (
        await User.filter(scopes.learners(viewer), classroom__level_id=level.id)
        .order_by("last_name", "first_name", "id")
        .first()
    )
    drafts = (
        await CompanyBilan.filter(scopes.bilans(viewer), portfolio__period_id=periods[-1].id, status=BilanStatus.DRAFT)
        .order_by("id")
        .values_list("id", flat=True)
    )
    competences = await Competence.filter(framework_id=level.framework_id).order_by("position", "id")
    criteria = defaultdict(list)
    for row in await Criterion.filter(competence__framework_id=level.framework_id).order_by("position", "id"):
        criteria[row.competence_id].append(row.id)
    by_criteria = next(c.id for c in competences[5:] if len(criteria[c.id]) >= 2)
    return Targets(
        viewer=viewer,
        teacher_name=teacher.full_name,
        level_id=level.id,
        framework_id=level.framework_id,
        period_id=view_period.id,
        period_portfolios=await Portfolio.filter(scopes.portfolios(viewer), period_id=view_period.id).count(),
        learner_id=learner.id,
        visit_bilan_id=drafts[0],
        drafts=list(drafts),
        global_competences=[c.id for c in competences[:5]],
        criteria_competence=by_criteria,
        criteria=criteria[by_criteria][:5],
    )


def save_variables(targets: Targets, bilan_id: int, version: int, rotation: int) -> dict:
    """A batch that changes every item it names: the levels turn with `rotation`."""
    competence = lambda pk: encode_id("Competence", pk)  # noqa: E731
    modes = [{"competenceId": competence(pk), "mode": "GLOBAL"} for pk in targets.global_competences]
    modes.append({"competenceId": competence(targets.criteria_competence), "mode": "CRITERIA"})
    results = [
        {"competenceId": competence(pk), "level": LEVEL_VALUES[(rotation + n) % 5]}
        for n, pk in enumerate(targets.global_competences)
    ]
    results += [
        {
            "competenceId": competence(targets.criteria_competence),
            "criterionId": encode_id("Criterion", pk),
            "level": LEVEL_VALUES[(rotation + n + 2) % 5],
        }
        for n, pk in enumerate(targets.criteria)
    ]
    return {
        "input": {
            "id": encode_id("CompanyBilan", bilan_id),
            "version": version,
            "engagement": 1 + rotation % 4,
            "modes": modes,
            "results": results,
        }
    }


def check_read(name: str, targets: Targets, data: dict) -> None:
    node = data["node"]
    if name == "period view":
        listed = node["portfolios"]["nodes"]
        assert len(listed) == targets.period_portfolios, len(listed)
    elif name == "learner view":
        assert node["portfolios"] and all(p["activityFiches"]["nodes"] for p in node["portfolios"])
    elif name == "visit screen":
        assert node["activities"] and node["fiches"], node.keys()
    elif name == "level dashboard":
        assert node["dashboard"]["learners"]["nodes"], "no learner"


def _dump(rows) -> bytes:
    # the encoder the server answers with (graph/app.py): the floor measures the rows, not a slower encoder
    return orjson.dumps(rows, default=str, option=orjson.OPT_NON_STR_KEYS)


def _pick(row, *names) -> dict:
    return {name: getattr(row, name) for name in names}


async def floor_period_view(targets: Targets) -> bytes:
    viewer, period_id = targets.viewer, targets.period_id
    period = await Period.get(scopes.periods(viewer), id=period_id)
    locked = await CompanyBilan.filter(portfolio__period_id=period_id, interim_reviews__id__isnull=False).exists()
    portfolios = await Portfolio.filter(scopes.portfolios(viewer), period_id=period_id)
    ids = [p.id for p in portfolios]
    learners = {u.id: u for u in await User.filter(scopes.learners(viewer), id__in=[p.learner_id for p in portfolios])}
    classrooms = {
        c.id: c
        for c in await Classroom.filter(
            scopes.classrooms(viewer), id__in=list({u.classroom_id for u in learners.values()})
        )
    }
    counts = dict(
        await ActivityFiche.filter(portfolio_id__in=ids, deleted_at=None)
        .exclude(description="")
        .annotate(n=Count("id"))
        .group_by("portfolio_id")
        .values_list("portfolio_id", "n")
    )
    liaisons = {row.portfolio_id: row for row in await LiaisonFiche.filter(portfolio_id__in=ids)}
    statuses = dict(await CompanyBilan.filter(portfolio_id__in=ids).values_list("portfolio_id", "status"))
    trainers = defaultdict(list)
    for row in await User.filter(scopes.trainers(viewer), trained_portfolios__id__in=ids).values(
        "id", "first_name", "last_name", "company_name", "trained_portfolios__id"
    ):
        trainers[row.pop("trained_portfolios__id")].append(row)
    lines = []
    for p in sorted(portfolios, key=lambda p: (learners[p.learner_id].last_name, learners[p.learner_id].first_name)):
        learner = learners[p.learner_id]
        lines.append(
            {
                "id": p.id,
                "learner": _pick(learner, "id", "first_name", "last_name", "learner_status"),
                "classroom": _pick(classrooms[learner.classroom_id], "id", "name"),
                "completed": counts.get(p.id, 0),
                "status": statuses.get(p.id),
                "liaison": _pick(liaisons[p.id], "id", "company_name", "activity_domain", "tutor_name"),
                "trainers": trainers[p.id],
            }
        )
    return _dump(
        {"period": _pick(period, "id", "name", "start_date", "end_date"), "locked": locked, "portfolios": lines}
    )


async def floor_learner_view(targets: Targets) -> bytes:
    viewer = targets.viewer
    learner = await User.get(scopes.learners(viewer), id=targets.learner_id)
    classroom = await Classroom.get(scopes.classrooms(viewer), id=learner.classroom_id)
    portfolios = await Portfolio.filter(scopes.portfolios(viewer), learner_id=learner.id)
    ids = [p.id for p in portfolios]
    periods = {p.id: p for p in await Period.filter(scopes.periods(viewer), id__in=[p.period_id for p in portfolios])}
    statuses = dict(await CompanyBilan.filter(portfolio_id__in=ids).values_list("portfolio_id", "status"))
    companies = dict(await LiaisonFiche.filter(portfolio_id__in=ids).values_list("portfolio_id", "company_name"))
    fiches = await ActivityFiche.filter(visible_fiches(viewer), portfolio_id__in=ids).order_by("created_at", "id")
    fiche_ids = [f.id for f in fiches]
    reads = dict(
        await FicheRead.filter(teacher_id=viewer.id, fiche_id__in=fiche_ids).values_list("fiche_id", "read_at")
    )
    annexes = defaultdict(int)
    for row in await Annex.filter(fiche_id__in=fiche_ids):
        annexes[row.fiche_id] += 1
    links = await FicheTask.filter(fiche_id__in=fiche_ids)
    codes = dict(await Task.filter(id__in=list({link.task_id for link in links})).values_list("id", "code"))
    tasks_of = defaultdict(list)
    for link in links:
        tasks_of[link.fiche_id].append([codes[link.task_id], link.ticked_by_learner, link.checked_by_teacher])
    free = await ActivityFiche.filter(visible_fiches(viewer), learner_id=learner.id, portfolio_id=None)
    by_portfolio = defaultdict(list)
    for fiche in fiches:
        by_portfolio[fiche.portfolio_id].append(
            {
                **_pick(fiche, "id", "title", "autonomy", "description", "deleted_at", "updated_at"),
                "read_at": reads.get(fiche.id),
                "annexes": annexes[fiche.id],
                "tasks": tasks_of[fiche.id],
            }
        )
    return _dump(
        {
            "learner": _pick(learner, "id", "first_name", "last_name", "learner_status"),
            "classroom": classroom.name,
            "free": [_pick(f, "id", "title", "former_period_name") for f in free],
            "portfolios": [
                {
                    "id": p.id,
                    "status": statuses.get(p.id),
                    "company": companies.get(p.id),
                    "period": _pick(periods[p.period_id], "id", "name", "start_date", "end_date"),
                    "fiches": by_portfolio[p.id],
                }
                for p in portfolios
            ],
        }
    )


def _latest_results(bilan_ids: list[int]):
    latest = Subquery(
        BilanResultEntry.filter(bilan_id__in=bilan_ids)
        .annotate(last=Max("id"))
        .group_by("bilan_id", "competence_id", "criterion_id")
        .values("last")
    )
    return BilanResultEntry.filter(id__in=latest).values("bilan_id", "competence_id", "criterion_id", "level")


async def floor_visit_screen(targets: Targets) -> bytes:
    viewer = targets.viewer
    bilan = await CompanyBilan.get(scopes.bilans(viewer), id=targets.visit_bilan_id)
    portfolio = (
        await Portfolio.filter(id=bilan.portfolio_id).values(
            "id", "learner_id", "period__name", "period__start_date", "period__end_date", "period__level__framework_id"
        )
    )[0]
    framework = portfolio["period__level__framework_id"]
    learner = await User.get(id=portfolio["learner_id"])
    liaison = await LiaisonFiche.get(portfolio_id=bilan.portfolio_id)
    rows = {
        "activities": [
            _pick(a, "id", "label") for a in await FrameworkActivity.filter(framework_id=framework).order_by("position")
        ],
        "tasks": [
            _pick(t, "id", "activity_id", "code", "label")
            for t in await Task.filter(framework_id=framework).order_by("position")
        ],
        "links": [
            _pick(t, "task_id", "competence_id", "weight")
            for t in await TaskCompetence.filter(task__framework_id=framework)
        ],
        "competences": [
            _pick(c, "id", "code", "label")
            for c in await Competence.filter(framework_id=framework).order_by("position")
        ],
        "criteria": [
            _pick(c, "id", "competence_id", "label")
            for c in await Criterion.filter(competence__framework_id=framework).order_by("position")
        ],
        "scale": [
            _pick(s, "value", "label") for s in await ScaleLevel.filter(framework_id=framework).order_by("position")
        ],
        "fiches": await ActivityFiche.filter(portfolio_id=bilan.portfolio_id, deleted_at=None)
        .order_by("created_at", "id")
        .values("id", "title"),
        "fiche_tasks": await FicheTask.filter(fiche__portfolio_id=bilan.portfolio_id, fiche__deleted_at=None).values(
            "fiche_id", "task_id"
        ),
        "targets": await FicheEvaluationTarget.filter(
            fiche__portfolio_id=bilan.portfolio_id, fiche__deleted_at=None
        ).values("fiche_id", "task_id", "competence_id", "criterion_id"),
        "modes": await BilanCompetenceMode.filter(bilan_id=bilan.id).values("competence_id", "mode"),
        "results": await _latest_results([bilan.id]),
    }
    return _dump(
        {
            "bilan": _pick(bilan, "id", "status", "version", "engagement", "meeting_date", "comment"),
            "portfolio": portfolio,
            "learner": learner.full_name,
            "workplace": _pick(liaison, "company_name", "tutor_name"),
            **rows,
        }
    )


async def floor_level_dashboard(targets: Targets) -> bytes:
    viewer = targets.viewer
    # The first page of the level's learners, as the connection answers it (100 when `first` is not given).
    learners = (
        await User.filter(scopes.learners(viewer), classroom__level_id=targets.level_id)
        .order_by("last_name", "first_name", "id")
        .limit(100)
    )
    portfolios = await Portfolio.filter(scopes.portfolios(viewer), learner_id__in=[u.id for u in learners]).values(
        "id", "learner_id", "period_id"
    )
    ids = [p["id"] for p in portfolios]
    periods = {p.id: p for p in await Period.filter(id__in=list({p["period_id"] for p in portfolios}))}
    bilans = {b.portfolio_id: b for b in await CompanyBilan.filter(portfolio_id__in=ids)}
    base = ActivityFiche.filter(portfolio_id__in=ids, deleted_at=None)
    counts = dict(await base.annotate(n=Count("id")).group_by("portfolio_id").values_list("portfolio_id", "n"))
    done = dict(
        await base.exclude(description="")
        .annotate(n=Count("id"))
        .group_by("portfolio_id")
        .values_list("portfolio_id", "n")
    )
    completed = [b.id for b in bilans.values() if b.status is BilanStatus.COMPLETED]
    results = defaultdict(list)
    for row in await _latest_results(completed):
        results[row.pop("bilan_id")].append(row)
    units = dict(await Unit.filter(framework_id=targets.framework_id).values_list("id", "code"))
    competences = [
        _pick(c, "id", "code", "unit_id")
        for c in await Competence.filter(framework_id=targets.framework_id).order_by("position", "id")
    ]
    of_learner = defaultdict(list)
    for p in portfolios:
        bilan = bilans.get(p["id"])
        of_learner[p["learner_id"]].append(
            {
                "period": _pick(periods[p["period_id"]], "name", "start_date", "end_date"),
                "bilan": _pick(bilan, "id", "status", "engagement", "meeting_date", "frozen_grid") if bilan else None,
                "results": results.get(bilan.id, []) if bilan else [],
                "fiches": counts.get(p["id"], 0),
                "completed": done.get(p["id"], 0),
            }
        )
    return _dump(
        {
            "competences": competences,
            "units": units,
            "learners": [{"name": u.full_name, "periods": of_learner[u.id]} for u in learners],
        }
    )


FLOORS = {
    "period view": floor_period_view,
    "learner view": floor_learner_view,
    "visit screen": floor_visit_screen,
    "level dashboard": floor_level_dashboard,
}


def read_variables(name: str, targets: Targets) -> dict:
    return {
        "period view": {"id": encode_id("Period", targets.period_id)},
        "learner view": {"id": encode_id("Learner", targets.learner_id)},
        "visit screen": {"id": encode_id("CompanyBilan", targets.visit_bilan_id)},
        "level dashboard": {"id": encode_id("Level", targets.level_id)},
    }[name]


READS = {"period view": PERIOD_VIEW, "learner view": LEARNER_VIEW, "visit screen": VISIT, "level dashboard": DASHBOARD}


# A school day in an academy (bench/academy.py): besides the teacher's reads and saves above, the learner reads
# their own portfolios (LEARNER_VIEW, as the learner), writes a fiche and attaches a file to it, and a tutor reads
# the portfolios they follow.

TUTOR_VIEW = """query TutorView { learners(first: 50) { totalCount edges { node { id fullName status
  portfolios { id newFicheCount bilanStatus period { id name startDate endDate }
    liaisonFiche { workplace { companyName tutorName } }
    activityFiches { nodes { id number title autonomy completed updatedAt annexCount } } } } } } }"""

FICHE_CREATE = """mutation FicheCreate($input: ActivityFicheCreateInput!) {
  activityFicheCreate(input: $input) { activityFiche { id version } errors { field code message } } }"""

ANNEX_UPLOAD = """mutation AnnexUpload($input: AnnexUploadInput!) { annexUpload(input: $input) {
  annex { id size } errors { field code message } } }"""

# The small file a learner attaches: a few lines of text (a photo's caption, a report), judged TEXT by its content.
ANNEX_CONTENT = (
    "Compte rendu de la journée : consignation, câblage du tableau, essais avec le tuteur.\n" * 24
).encode()


def fiche_variables(portfolio_id: int, number: int) -> dict:
    return {
        "input": {
            "portfolioId": encode_id("Portfolio", portfolio_id),
            "title": f"Fiche du jour {number}",
            "autonomy": "ACCOMPANIED",
            "description": "J'ai préparé le matériel et câblé une prise sous le contrôle de mon tuteur.",
            "analysis": "Vérifier l'absence de tension avant d'intervenir.",
        },
    }


def upload_fields(fiche_id: str, number: int) -> dict:
    """httpx's `data` and `files` of the GraphQL multipart request spec: operations, map, then the file part."""
    operations = {
        "query": ANNEX_UPLOAD,
        "variables": {"input": {"ficheId": fiche_id, "title": f"Compte rendu {number}", "file": None}},
    }
    return {
        "data": {"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
        "files": {"0": (f"compte-rendu-{number}.txt", ANNEX_CONTENT, "text/plain")},
    }


def check_payload(data: dict, name: str, node: str) -> dict:
    """The mutation's payload: no error in it, and the object it made."""
    payload = data[name]
    assert not payload["errors"], payload["errors"]
    assert payload[node] and payload[node]["id"], payload
    return payload[node]


def check_tutor_view(data: dict) -> None:
    learners = data["learners"]
    assert learners["totalCount"] and learners["edges"], "the tutor follows nobody"
    assert all(edge["node"]["portfolios"] for edge in learners["edges"]), "a learner without a followed portfolio"
