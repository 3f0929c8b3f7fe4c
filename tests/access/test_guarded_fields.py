"""Every guarded field of the schema answers null (or its documented refusal) to a viewer the spec refuses.

Two walks. The first, over the schema itself, fails when a guarded field is added without a probe below, or
when a guarded field is not enforced by construction (a data field of a type that does not null it when the
object is built, a resolver not wrapped by its guard). The second asks every guarded field over HTTP as each
role, on a row the role reaches, and expects what access.md says (tests/access/spec_matrix.py): null for a
refused role, a value for the others.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from graph.schema import schema
from graph.types.common import GUARD, Guard, GuardedFields, encode_id
from graph.types.fiches import ActivityFiche as FicheType
from models.bilans import BilanStatus, CompanyBilan
from models.fiches import ActivityFiche
from models.periods import Period
from models.portfolios import Portfolio
from models.schools import Level
from models.users import Role, User
from permissions.viewer import Viewer
from tests.access.registry import _reachable_learner
from tests.access.spec_matrix import REFUSED, ROLES, expected

NODE = "query($id: ID!) { node(id: $id) { ... on %s { %s } } }"

# (type, field) → the rule the field's description and answer follow. Typed from access.md's rows, not read
# from the code: a new guarded field fails `test_every_guarded_field_of_the_schema_has_a_probe` until it is
# added here (with its row of the spec) and probed by the HTTP walk.
GUARDED = {
    ("Learner", "status"): "learner.identity.read",
    ("Learner", "email"): "learner.personal.read",
    ("Learner", "phone"): "learner.personal.read",
    ("Learner", "birthDate"): "learner.personal.read",
    ("Learner", "leftAt"): "learner.personal.read",
    ("Learner", "freeFiches"): "learner.dashboard.read",
    ("Learner", "dashboard"): "learner.dashboard.read",
    ("Learner", "interimReviews"): "review.read",
    ("Teacher", "email"): "teacher.contact.read",
    ("Teacher", "phone"): "teacher.contact.read",
    ("WorkplaceTrainer", "companyName"): "trainer.identity.read",
    ("WorkplaceTrainer", "jobTitle"): "trainer.identity.read",
    ("WorkplaceTrainer", "email"): "trainer.contact.read",
    ("WorkplaceTrainer", "phone"): "trainer.contact.read",
    ("Level", "periods"): "period.read",
    ("Level", "dashboard"): "learner.dashboard.read",
    ("ActivityFiche", "deletedAt"): "fiche.staff.read",
    ("ActivityFiche", "readState"): "fiche.staff.read",
    ("ActivityFiche", "evaluationTargets"): "fiche.targets.read",
    ("ActivityFiche", "linkingGrid"): "fiche.targets.read",
    ("ActivityFiche", "annexes"): "annex.read",
    ("ActivityFiche", "annexCount"): "annex.read",
    ("CompanyBilan", "resultLog"): "bilan.draft.read",
    ("CompanyBilan", "events"): "bilan.draft.read",
    # issue 16, part 2: access.md « CompanyBilan · paper scan download »
    ("CompanyBilan", "paperScan"): "bilan.paper.read",
    # the links to the documents (issue 14, part 8): access.md's Export rows
    ("Portfolio", "meetingSheetUrl"): "export.meeting_sheet",
    ("Portfolio", "preConventionUrl"): "export.pre_convention",
    ("Portfolio", "attestationUrl"): "export.attestation",
    ("Period", "preConventionsUrl"): "export.pre_convention",
    ("Period", "attestationsUrl"): "export.attestation",
    ("CompanyBilan", "documentUrl"): "export.completed_bilan",
    ("Learner", "synthesisUrl"): "export.learner_synthesis",
    ("Level", "synthesisUrl"): "export.level_synthesis",
    ("Portfolio", "referentTeacher"): "portfolio.referent.read",
    # the PFMP allowance (issue 14, part 5): access.md « Allowance statement · read »
    ("Portfolio", "allowance"): "allowance.statement.read",
    ("Period", "allowanceStatement"): "allowance.statement.read",
    # issue 16, part 1: access.md « Trainer link · issue, list, revoke »
    ("Portfolio", "trainerLinks"): "trainer_link.manage",
    # issue 13, part 2: the count of a portfolio's unread fiches follows access.md « ActivityFiche · deleted ones,
    # read state »
    ("Portfolio", "unreadFicheCount"): "fiche.staff.read",
}
# A subfield to select under each field whose type is an object.
SELECTION = {
    "freeFiches": "freeFiches { id }",
    "dashboard": "dashboard { __typename }",
    "interimReviews": "interimReviews { id }",
    "periods": "periods { id }",
    "evaluationTargets": "evaluationTargets { __typename }",
    "linkingGrid": "linkingGrid { __typename }",
    "annexes": "annexes { id }",
    "resultLog": "resultLog { edges { cursor } }",
    "events": "events { kind }",
    "referentTeacher": "referentTeacher { id }",
    "allowance": "allowance { validated }",
    "allowanceStatement": "allowanceStatement { totalCents }",
    "trainerLinks": "trainerLinks { id }",
    "paperScan": "paperScan { filename }",
}


def _guarded_fields_of_schema() -> dict[tuple[str, str], tuple[Guard, object]]:
    found = {}
    for name in sorted(schema._schema.type_map):
        definition = schema.get_type_by_name(name)
        for field in getattr(definition, "fields", None) or []:
            if GUARD in (field.metadata or {}):
                found[(name, field.graphql_name or schema.config.name_converter.get_graphql_name(field))] = (
                    field.metadata[GUARD],
                    (definition, field),
                )
    return found


def test_every_guarded_field_of_the_schema_has_a_probe():
    # Tutor and ApprenticeshipMaster carry the fields of WorkplaceTrainer: probed once, through the interface.
    found = {
        ("WorkplaceTrainer" if type_name in ("Tutor", "ApprenticeshipMaster") else type_name, field): guard.rule_key
        for (type_name, field), (guard, _) in _guarded_fields_of_schema().items()
    }
    assert found == GUARDED


def test_every_guarded_field_is_enforced_by_construction():
    for (type_name, field_name), (guard, (definition, field)) in _guarded_fields_of_schema().items():
        if field.base_resolver is None:
            # a data field: the type nulls it when built, and cannot be built without saying for whom
            cls = definition.origin
            assert issubclass(cls, GuardedFields), f"{type_name}.{field_name}: its type does not null refused fields"
            assert "viewer" in {f.name for f in dataclasses.fields(cls)}, f"{type_name} has no viewer"
            assert next(f for f in dataclasses.fields(cls) if f.name == "viewer").default is dataclasses.MISSING
        else:
            wrapped = field.base_resolver.wrapped_func
            assert wrapped.__dict__.get(GUARD) is guard, f"{type_name}.{field_name}: its resolver is not guarded"


async def _prepare() -> None:
    """Values in every guarded field of the demo rows the roles reach, so an allowed field is never empty."""
    await User.filter(role=Role.LEARNER).update(
        phone="0600000001", birth_date=dt.date(2008, 5, 1), left_at=dt.date(2026, 7, 4)
    )
    await User.filter(role__in=[Role.TEACHER, Role.TUTOR, Role.MASTER]).update(phone="0600000002")
    await User.filter(role__in=[Role.TUTOR, Role.MASTER]).update(company_name="Tout élec", job_title="électricien")
    # The learner reads a bilan once completed: complete theirs so that the draft-rule fields are asked of them.
    await CompanyBilan.filter(portfolio__learner__last_name="DUPIRE").update(
        status=BilanStatus.COMPLETED, meeting_date=dt.date(2020, 6, 30), completed_at=dt.datetime.now(dt.UTC)
    )
    # A scan on every bilan (the field reads the row only: no file needed).
    for bilan in await CompanyBilan.all():
        await CompanyBilan.filter(id=bilan.id).update(
            scan_stored_name=f"{bilan.id:032x}",
            scan_filename="scan.pdf",
            scan_content_type="application/pdf",
            scan_size=9,
        )


async def _row_of(type_name: str, role: Role, api_user: User) -> str:
    """The global ID of a row of `type_name` the role reaches."""
    learner = _reachable_learner(role)
    match type_name:
        case "Learner":
            row = await User.get(role=Role.LEARNER, last_name=learner)
        case "Teacher":
            row = await User.get(role=Role.TEACHER, email="professeur@demo.pfmp.test")
        case "WorkplaceTrainer":
            # a trainer reads their own account; the others the trainer of the learner they reach
            row = api_user if role in (Role.TUTOR, Role.MASTER) else await User.get(role=Role.TUTOR)
            return encode_id("Tutor" if row.role is Role.TUTOR else "ApprenticeshipMaster", row.id)
        case "Level":
            row = await Level.get(classrooms__learners__last_name=learner)
        case "ActivityFiche":
            row = await ActivityFiche.filter(portfolio__learner__last_name=learner).order_by("id").first()
        case "CompanyBilan":
            row = await CompanyBilan.get(portfolio__learner__last_name=learner)
        case "Portfolio":
            row = await Portfolio.get(learner__last_name=learner, period__name="Stage de découverte")
        case "Period":
            row = await Period.get(name="Stage de découverte")
    return encode_id(type_name, row.id)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
async def test_every_guarded_field_answers_null_to_a_role_the_spec_refuses(role, clients):
    # given the role's client and rows with a value in every guarded field
    api = clients[role]
    await _prepare()
    answers = {}
    for type_name, field in GUARDED:
        node_id = await _row_of(type_name, role, api.user)
        # when the role asks the field of a row it reaches
        body = await api.execute(NODE % (type_name, SELECTION.get(field, field)), id=node_id)
        assert not body.get("errors"), (type_name, field, body)
        node = body["data"]["node"]
        assert node is not None or type_name == "ActivityFiche", (type_name, field, "row out of reach")
        answers[(type_name, field)] = None if node is None else node[field]
    # then null where access.md refuses the role, a value where it lets it read
    refused = {key for key, rule_key in GUARDED.items() if expected(rule_key, role) == REFUSED}
    # deletedAt has a value only on a deleted fiche, which only the roles reading deleted fiches reach
    allowed_but_empty = {("ActivityFiche", "deletedAt")}
    assert {key for key, value in answers.items() if value is None} == refused | allowed_but_empty


async def test_a_deleted_fiche_shows_when_it_was_deleted_to_staff_only(admin, teacher, learner):
    # given the learner's first fiche, deleted
    fiche = await ActivityFiche.filter(portfolio__learner__last_name="DUPIRE").order_by("id").first()
    await ActivityFiche.filter(id=fiche.id).update(deleted_at=dt.datetime.now(dt.UTC))
    query = NODE % ("ActivityFiche", "deletedAt readState")
    # when staff and its learner ask for it
    for api in (admin, teacher):
        node = (await api.data(query, id=encode_id("ActivityFiche", fiche.id)))["node"]
        # then staff read when and that it is deleted, its learner does not reach it any more
        assert node["deletedAt"] is not None and node["readState"] == "DELETED"
    assert (await learner.data(query, id=encode_id("ActivityFiche", fiche.id)))["node"] is None


def test_a_guarded_data_field_is_nulled_for_a_refused_viewer_when_the_object_is_built():
    # given a fiche row marked deleted, built for a learner (who may not read deletion) and for a teacher
    now = dt.datetime.now(dt.UTC)
    row = ActivityFiche(
        id=1,
        title="t",
        description="",
        analysis="",
        version=1,
        created_at=now,
        updated_at=now,
        deleted_at=now,
        portfolio_id=1,
        learner_id=7,
        learner_changed_at=now,
        reference=1,
    )
    as_learner = FicheType.from_row(row, Viewer(id=7, role=Role.LEARNER, school_id=1))
    as_teacher = FicheType.from_row(row, Viewer(id=2, role=Role.TEACHER, school_id=1))
    as_nobody = FicheType.from_row(row, None)
    # then only the teacher's object holds the value
    assert (as_learner.deleted_at, as_teacher.deleted_at, as_nobody.deleted_at) == (None, now, None)
