"""Probes of the activity-fiche and annex rules (R12–R16): one read or action per rule, as each role."""

from tortoise import timezone

from graph.types.common import encode_id
from models.fiches import ActivityFiche, Annex, AnnexKind, FicheEvaluationTarget, FicheTask
from models.frameworks import Competence, Task
from models.users import Role
from tests.access.registry import _read, agreed, probe

FICHE = "query($id: ID!) { node(id: $id) { ... on ActivityFiche { %s } } }"


async def _fiche_of(role: Role | None) -> ActivityFiche:
    """A fiche the role reaches: the master follows HÔT, everyone else reaches DUPIRE's first fiche."""
    if role is Role.MASTER:
        return await ActivityFiche.get(portfolio__learner__last_name="HÔT")
    return await ActivityFiche.get(title="Fiche 1 : Découverte de l'entreprise")


async def _ids(role) -> tuple[str, str, ActivityFiche]:
    row = await _fiche_of(role)
    return encode_id("ActivityFiche", row.id), encode_id("Portfolio", row.portfolio_id), row


async def _mutate(api, document: str, name: str, **variables) -> str:
    """allowed when the payload carries no error; refused on FORBIDDEN; else what happened."""
    body = await api.execute(document, **variables)
    if body.get("errors"):
        code = body["errors"][0]["extensions"]["code"]
        return "refused" if code == "FORBIDDEN" else code
    errors = body["data"][name]["errors"]
    return "allowed" if errors == [] else f"payload errors {[e['code'] for e in errors]}"


async def _task(code: str) -> Task:
    return await Task.get(code=code, framework__code="CAP-ELEC", framework__school_id=None)


@probe("fiche.read")
async def _(api, role):
    fiche, _, _ = await _ids(role)
    return await _read(api, FICHE % "title description", lambda d: (d["node"] or {}).get("title"), id=fiche)


@probe("fiche.staff.read")
async def _(api, role):
    fiche, _, row = await _ids(role)
    await ActivityFiche.filter(id=row.id).update(deleted_at=timezone.now())
    return await _read(api, FICHE % "readState deletedAt", lambda d: (d["node"] or {}).get("readState"), id=fiche)


@probe("fiche.write")
async def _(api, role):
    fiche, portfolio, row = await _ids(role)
    spare = await ActivityFiche.create(
        school_id=row.school_id, learner_id=row.learner_id, portfolio_id=row.portfolio_id, title="Fiche en trop"
    )
    return agreed(
        await _mutate(
            api,
            'mutation($p: ID!) { activityFicheCreate(input: {portfolioId: $p, title: "Sonde"}) '
            "{ activityFiche { id } errors { code } } }",
            "activityFicheCreate",
            p=portfolio,
        ),
        await _mutate(
            api,
            "mutation($id: ID!, $v: Int!) { activityFicheUpdate(input: {id: $id, version: $v, "
            'analysis: "Relue"}) { errors { code } } }',
            "activityFicheUpdate",
            id=fiche,
            v=row.version,
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { activityFicheDelete(input: {id: $id}) { errors { code } } }",
            "activityFicheDelete",
            id=encode_id("ActivityFiche", spare.id),
        ),
    )


@probe("fiche.tasks.write")
async def _(api, role):
    fiche, _, _ = await _ids(role)
    task = encode_id("Task", (await _task("TA 1-1")).id)
    return await _mutate(
        api,
        "mutation($id: ID!, $t: [ID!]!) { activityFicheTasksSet(input: {id: $id, taskIds: $t}) { errors { code } } }",
        "activityFicheTasksSet",
        id=fiche,
        t=[task],
    )


@probe("fiche.targets.read")
async def _(api, role):
    fiche, _, row = await _ids(role)
    task = await _task("TA 1-1")
    await FicheTask.get_or_create(fiche_id=row.id, task_id=task.id)
    competence = await Competence.get(code="C01", framework_id=task.framework_id)
    await FicheEvaluationTarget.create(fiche_id=row.id, task_id=task.id, competence_id=competence.id)
    return await _read(
        api,
        FICHE % "evaluationTargets { competence { code } }",
        lambda d: (d["node"] or {}).get("evaluationTargets"),
        id=fiche,
    )


@probe("fiche.targets.write")
async def _(api, role):
    fiche, _, row = await _ids(role)
    task = await _task("TA 1-1")
    await FicheTask.get_or_create(fiche_id=row.id, task_id=task.id)
    competence = await Competence.get(code="C01", framework_id=task.framework_id)
    targets = [{"taskId": encode_id("Task", task.id), "competenceId": encode_id("Competence", competence.id)}]
    return await _mutate(
        api,
        "mutation($id: ID!, $t: [EvaluationTargetInput!]!) { activityFicheTargetsSet("
        "input: {id: $id, targets: $t}) { errors { code } } }",
        "activityFicheTargetsSet",
        id=fiche,
        t=targets,
    )


@probe("fiche.mark_read")
async def _(api, role):
    fiche, _, _ = await _ids(role)
    return await _mutate(
        api,
        "mutation($id: ID!) { activityFicheMarkRead(input: {id: $id}) { errors { code } } }",
        "activityFicheMarkRead",
        id=fiche,
    )


@probe("annex.read")
async def _(api, role):
    fiche, _, row = await _ids(role)
    await Annex.create(fiche_id=row.id, kind=AnnexKind.URL, title="Photos", url="https://example.org/photos")
    return await _read(api, FICHE % "annexCount annexes { url }", lambda d: (d["node"] or {}).get("annexes"), id=fiche)


@probe("annex.write")
async def _(api, role):
    fiche, _, row = await _ids(role)
    annex = await Annex.create(fiche_id=row.id, kind=AnnexKind.URL, title="Ancien lien", url="https://example.org/a")
    return agreed(
        await _mutate(
            api,
            'mutation($f: ID!) { annexAddUrl(input: {ficheId: $f, url: "https://example.org"}) { errors { code } } }',
            "annexAddUrl",
            f=fiche,
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { annexDelete(input: {id: $id}) { errors { code } } }",
            "annexDelete",
            id=encode_id("Annex", annex.id),
        ),
    )
