"""Walks the access table of permissions/table.py: every rule, every role, and anonymous.

Each rule has a probe: it performs the rule's read or action over HTTP as one
role and reports what happened ("allowed", "refused", or the top-level error
code). The expected answer comes from the table itself, so the table and the
tests cannot drift apart: a rule without a probe fails `test_every_rule_is_walked`
unless it is listed in PENDING with the reason (no operation exists for it yet).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest

from models.users import Role, User
from permissions.table import ACCESS_TABLE, allows
from resolvers.framework_import import BUILTIN_DIR
from tests.conftest import Api

ROLES = [Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER]

Probe = Callable[[Api, Role], Awaitable[str]]
PROBES: dict[str, Probe] = {}

# Rules whose operations do not exist yet, with the capability that brings them.
PENDING: dict[str, str] = {
    "learner.identity.write": "account management (no mutation yet)",
    "learner.personal.write": "account management (no mutation yet)",
    "learner.dashboard.read": "dashboard and free fiches",
    "period.read": "periods",
    "period.write": "periods",
    "liaison.read": "liaison fiches",
    "liaison.workplace.write": "liaison fiches",
    "liaison.plan.write": "liaison fiches",
    "fiche.read": "activity fiches",
    "fiche.staff.read": "activity fiches",
    "fiche.write": "activity fiches",
    "fiche.tasks.write": "activity fiches",
    "fiche.targets.read": "activity fiches",
    "fiche.targets.write": "activity fiches",
    "fiche.mark_read": "activity fiches",
    "annex.read": "annexes",
    "annex.write": "annexes",
    "bilan.draft.read": "company bilans",
    "bilan.completed.read": "company bilans",
    "bilan.write": "company bilans",
    "review.create": "interim reviews",
    "review.read": "interim reviews",
    "tutor.manage": "company trainers",
    "master.manage": "company trainers",
    "trainer.contact.write": "company trainers",
    "export.meeting_sheet": "exports",
    "export.pre_convention": "exports",
    "export.learner_synthesis": "exports",
    "export.level_synthesis": "exports",
    "school.structure.write": "account management (no mutation yet)",
    "account.manage": "account management (no mutation yet)",
}


def probe(rule_key: str):
    def register(function: Probe) -> Probe:
        assert rule_key in ACCESS_TABLE, rule_key
        PROBES[rule_key] = function
        return function
    return register


async def _read(api: Api, query: str, pick: Callable[[dict], object], **variables) -> str:
    body = await api.execute(query, **variables)
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    value = pick(body["data"])
    return "allowed" if value not in (None, [], "") else "refused"


async def _write(api: Api, query: str, **variables) -> str:
    body = await api.execute(query, **variables)
    if body.get("errors"):
        code = body["errors"][0]["extensions"]["code"]
        return "refused" if code == "FORBIDDEN" else code
    return "allowed"


async def _global_id(type_name: str, email: str) -> str:
    from graph.types.common import encode_id

    return encode_id(type_name, (await User.get(email=email)).id)


@probe("learner.identity.read")
async def _(api, role):
    return await _read(api, "{ learners { edges { node { fullName status } } } }",
                       lambda d: [e for e in d["learners"]["edges"] if e["node"]["status"]])


@probe("learner.personal.read")
async def _(api, role):
    return await _read(api, "{ learners { edges { node { email birthDate } } } }",
                       lambda d: [e for e in d["learners"]["edges"] if e["node"]["email"] and e["node"]["birthDate"]])


@probe("framework.read")
async def _(api, role):
    return await _read(api, "{ frameworks { code } }", lambda d: d["frameworks"])


@probe("framework.write")
async def _(api, role):
    doc = json.loads((BUILTIN_DIR / "cap-electricien.json").read_text("utf-8")) | {"code": "CAP-WALK"}
    return await _write(api, "mutation($c: String!) { frameworkImport(content: $c) { errors { code } } }",
                        c=json.dumps(doc))


@probe("school.structure.read")
async def _(api, role):
    return await _read(api, "{ levels { name } classrooms { name } }", lambda d: d["levels"] and d["classrooms"])


@probe("teacher.identity.read")
async def _(api, role):
    teacher = await _global_id("Teacher", "professeur@demo.pfmp.test")
    return await _read(api, "query($id: ID!) { node(id: $id) { ... on Teacher { fullName } } }",
                       lambda d: d["node"], id=teacher)


@probe("teacher.contact.read")
async def _(api, role):
    teacher = await _global_id("Teacher", "professeur@demo.pfmp.test")
    return await _read(api, "query($id: ID!) { node(id: $id) { ... on Teacher { email } } }",
                       lambda d: (d["node"] or {}).get("email"), id=teacher)


def _reachable_trainer(role: Role) -> tuple[str, str]:
    """A trainer row the role reaches: trainers reach themselves, the others the demo tutor."""
    if role is Role.MASTER:
        return "ApprenticeshipMaster", "sylvie.ampere@demo.pfmp.test"
    return "Tutor", "eude.toutcourt@demo.pfmp.test"


@probe("trainer.identity.read")
async def _(api, role):
    trainer = await _global_id(*_reachable_trainer(role))
    return await _read(api, "query($id: ID!) { node(id: $id) { ... on WorkplaceTrainer { companyName } } }",
                       lambda d: (d["node"] or {}).get("companyName"), id=trainer)


@probe("trainer.contact.read")
async def _(api, role):
    trainer = await _global_id(*_reachable_trainer(role))
    return await _read(api, "query($id: ID!) { node(id: $id) { ... on WorkplaceTrainer { email phone } } }",
                       lambda d: (d["node"] or {}).get("email"), id=trainer)


def test_every_rule_is_walked():
    unwalked = set(ACCESS_TABLE) - set(PROBES) - set(PENDING)
    assert unwalked == set(), f"rules without a probe: {sorted(unwalked)}"
    assert set(PROBES) & set(PENDING) == set(), "a rule is both probed and pending"
    assert set(PENDING) <= set(ACCESS_TABLE), "PENDING names a rule the table does not have"


@pytest.mark.parametrize("rule_key", sorted(PROBES))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
async def test_rule_for_role(rule_key, role, clients):
    expected = "allowed" if allows(rule_key, role) else "refused"
    assert await PROBES[rule_key](clients[role], role) == expected


@pytest.mark.parametrize("rule_key", sorted(PROBES))
async def test_rule_for_anonymous(rule_key, anonymous):
    assert await PROBES[rule_key](anonymous, None) == "UNAUTHENTICATED"
