"""Probes of the foundation's rules: learners, frameworks, levels and classrooms, teachers, trainers."""

import datetime as dt
import json

from models.audit import AuditEntry, AuditKind
from models.users import Role, User
from resolvers.frameworks.importing import BUILTIN_DIR
from tests.access.registry import _global_id, _read, _write, probe


@probe("learner.identity.read")
async def _(api, role):
    return await _read(
        api,
        "{ learners { edges { node { fullName status } } } }",
        lambda d: [e for e in d["learners"]["edges"] if e["node"]["status"]],
    )


@probe("learner.personal.read")
async def _(api, role):
    return await _read(
        api,
        "{ learners { edges { node { email birthDate } } } }",
        lambda d: [e for e in d["learners"]["edges"] if e["node"]["email"] and e["node"]["birthDate"]],
    )


@probe("framework.read")
async def _(api, role):
    return await _read(api, "{ frameworks { code } }", lambda d: d["frameworks"])


@probe("framework.write")
async def _(api, role):
    doc = json.loads((BUILTIN_DIR / "cap-electricien.json").read_text("utf-8")) | {"code": "CAP-WALK"}
    return await _write(
        api, "mutation($c: String!) { frameworkImport(input: {content: $c}) { errors { code } } }", c=json.dumps(doc)
    )


@probe("school.structure.read")
async def _(api, role):
    return await _read(api, "{ levels { name } classrooms { name } }", lambda d: d["levels"] and d["classrooms"])


@probe("teacher.identity.read")
async def _(api, role):
    teacher = await _global_id("Teacher", "professeur@demo.pfmp.test")
    return await _read(
        api, "query($id: ID!) { node(id: $id) { ... on Teacher { fullName } } }", lambda d: d["node"], id=teacher
    )


@probe("teacher.contact.read")
async def _(api, role):
    teacher = await _global_id("Teacher", "professeur@demo.pfmp.test")
    return await _read(
        api,
        "query($id: ID!) { node(id: $id) { ... on Teacher { email } } }",
        lambda d: (d["node"] or {}).get("email"),
        id=teacher,
    )


def _reachable_trainer(role: Role) -> tuple[str, str]:
    """A trainer row the role reaches: trainers reach themselves, the others the demo tutor."""
    if role is Role.MASTER:
        return "ApprenticeshipMaster", "sylvie.ampere@demo.pfmp.test"
    return "Tutor", "eude.toutcourt@demo.pfmp.test"


@probe("trainer.identity.read")
async def _(api, role):
    trainer = await _global_id(*_reachable_trainer(role))
    return await _read(
        api,
        "query($id: ID!) { node(id: $id) { ... on WorkplaceTrainer { companyName } } }",
        lambda d: (d["node"] or {}).get("companyName"),
        id=trainer,
    )


@probe("trainer.contact.read")
async def _(api, role):
    trainer = await _global_id(*_reachable_trainer(role))
    return await _read(
        api,
        "query($id: ID!) { node(id: $id) { ... on WorkplaceTrainer { email phone } } }",
        lambda d: (d["node"] or {}).get("email"),
        id=trainer,
    )


@probe("audit.read")
async def _(api, role):
    # An entry of the demo school's trail, written as a staff read of a learner's email would write it.
    learner = await User.get(email="angelique.dupire@demo.pfmp.test")
    await AuditEntry.create(
        school_id=learner.school_id,
        at=dt.datetime.now(dt.UTC),
        kind=AuditKind.PERSONAL_READ,
        subject_type="Learner",
        subject_id=learner.id,
        detail="email",
    )
    body = await api.execute("{ auditEntries(first: 5) { edges { node { kind detail } } } }")
    if body.get("errors"):
        code = body["errors"][0]["extensions"]["code"]
        return "refused" if code == "FORBIDDEN" else code
    return "allowed" if body["data"]["auditEntries"]["edges"] else "refused"
