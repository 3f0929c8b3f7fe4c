"""No school reaches another: every Node type and every ID argument of every mutation, walked from the schema.

A second school (tests/access/other_school.py) holds one row of every Node
type, all named « ZORGLUB ». For every role of the demo school (access.md,
"Reach": a row of another school is out of everyone's reach, so it does not
exist for them):
- `node` and `nodes` answer null for each of its rows;
- every mutation of the schema, with the other school's ID put in each of its
  ID arguments in turn (the other arguments naming the demo school's rows),
  answers NOT_FOUND in its payload or refuses the role at the top level, and
  writes nothing;
- no answer names the other school's rows.
The lists walked come from the schema itself, so a Node type or an ID argument
added later fails here until it is registered (graph/nodes.py) and mapped below.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from graphql import get_named_type, is_input_object_type, is_list_type, is_non_null_type

from graph.nodes import NODE_TYPES
from graph.routes.exports import EXPORTS
from graph.schema import node_type_names, schema
from graph.types.common import decode_id
from models.bilans import CompanyBilan
from models.users import Role
from tests.access.other_school import MARK, SchoolRows, build_other_school, demo_rows
from tests.access.probes_bilans import scan_in_store
from tests.conftest import Api, token_for

ROLES = [Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER]
USERS = ("Administrator", "Teacher", "Learner", "Tutor", "ApprenticeshipMaster")
TRAINERS = ("Tutor", "ApprenticeshipMaster")

# The Node type(s) each ID argument names (a list argument: the type of its items), as the schema documents them.
ID_ARGUMENTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("classroomCreate", "input.levelId"): ("Level",),
    ("levelUpdate", "input.id"): ("Level",),
    ("teacherCreate", "input.classroomIds"): ("Classroom",),
    ("teacherClassroomsSet", "input.id"): ("Teacher",),
    ("teacherClassroomsSet", "input.classroomIds"): ("Classroom",),
    ("learnerCreate", "input.classroomId"): ("Classroom",),
    ("learnerUpdate", "input.id"): ("Learner",),
    ("learnerErase", "input.id"): ("Learner",),
    ("learnerUpdate", "input.classroomId"): ("Classroom",),
    ("userDeactivate", "input.id"): USERS,
    ("userRevokeTokens", "input.id"): USERS,
    ("userExternalIdentitySet", "input.userId"): USERS,
    ("periodCreate", "input.levelId"): ("Level",),
    ("periodCreate", "input.taskIds"): ("Task",),
    ("periodCreate", "input.learnerIds"): ("Learner",),
    ("periodCreate", "input.templateId"): ("PeriodTemplate",),
    ("periodUpdate", "input.id"): ("Period",),
    ("periodUpdate", "input.taskIds"): ("Task",),
    ("periodUpdate", "input.learnerIds"): ("Learner",),
    ("periodDelete", "input.id"): ("Period",),
    ("allowanceStatementValidate", "input.periodId"): ("Period",),
    ("periodTemplateCreate", "input.levelId"): ("Level",),
    ("periodTemplateCreate", "input.taskIds"): ("Task",),
    ("liaisonFicheWorkplaceUpdate", "input.id"): ("LiaisonFiche",),
    ("liaisonFichePlanUpdate", "input.id"): ("LiaisonFiche",),
    ("liaisonFichePlanUpdate", "input.taskIds"): ("Task",),
    ("liaisonFicheReset", "input.id"): ("LiaisonFiche",),
    ("portfolioDaysDoneSet", "input.id"): ("Portfolio",),
    ("markSeen", "input.portfolioId"): ("Portfolio",),
    ("periodPlannedDaysSet", "input.id"): ("Period",),
    ("portfolioReferentTeacherSet", "input.id"): ("Portfolio",),
    ("portfolioReferentTeacherSet", "input.teacherId"): ("Teacher",),
    ("trainerUpdate", "input.id"): TRAINERS,
    ("trainerDeactivate", "input.id"): TRAINERS,
    ("portfolioTrainerAssign", "input.portfolioId"): ("Portfolio",),
    ("portfolioTrainerAssign", "input.trainerId"): TRAINERS,
    ("portfolioTrainerUnassign", "input.portfolioId"): ("Portfolio",),
    ("portfolioTrainerUnassign", "input.trainerId"): TRAINERS,
    ("activityFicheCreate", "input.portfolioId"): ("Portfolio",),
    ("activityFicheCreate", "input.activityTypeIds"): ("FrameworkActivity",),
    ("activityFicheUpdate", "input.id"): ("ActivityFiche",),
    ("activityFicheUpdate", "input.activityTypeIds"): ("FrameworkActivity",),
    ("activityFicheDelete", "input.id"): ("ActivityFiche",),
    ("activityFicheTasksSet", "input.id"): ("ActivityFiche",),
    ("activityFicheTasksSet", "input.taskIds"): ("Task",),
    ("activityFicheTargetsSet", "input.id"): ("ActivityFiche",),
    ("activityFicheTargetsSet", "input.targets.taskId"): ("Task",),
    ("activityFicheTargetsSet", "input.targets.competenceId"): ("Competence",),
    ("activityFicheTargetsSet", "input.targets.criterionId"): ("Criterion",),
    ("activityFicheMarkRead", "input.id"): ("ActivityFiche",),
    ("annexUpload", "input.ficheId"): ("ActivityFiche",),
    ("annexAddUrl", "input.ficheId"): ("ActivityFiche",),
    ("annexDelete", "input.id"): ("Annex",),
    ("bilanUpdate", "input.id"): ("CompanyBilan",),
    ("bilanUpdate", "input.modes.competenceId"): ("Competence",),
    ("bilanUpdate", "input.results.competenceId"): ("Competence",),
    ("bilanUpdate", "input.results.criterionId"): ("Criterion",),
    ("bilanComplete", "input.id"): ("CompanyBilan",),
    ("bilanReopen", "input.id"): ("CompanyBilan",),
    ("bilanPaperScanUpload", "input.id"): ("CompanyBilan",),
    ("interimReviewCreate", "input.learnerId"): ("Learner",),
    ("trainerLinkIssue", "input.portfolioId"): ("Portfolio",),
    ("trainerLinkIssue", "input.trainerId"): TRAINERS,
    ("trainerLinkRevoke", "input.id"): ("TrainerLink",),
}

# The same for the ID arguments of queries (node and nodes are walked type by type above).
QUERY_ID_ARGUMENTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("learners", "levelId"): ("Level",),
    ("learners", "classroomId"): ("Classroom",),
    ("periods", "levelId"): ("Level",),
    ("periodTemplates", "levelId"): ("Level",),
    ("externalIdentities", "userId"): USERS,
    ("auditEntries", "actorId"): USERS,
    ("auditEntries", "subjectId"): ("Learner", "Annex", "CompanyBilan", "TrainerLink"),
}
ALL_ID_ARGUMENTS = {**ID_ARGUMENTS, **QUERY_ID_ARGUMENTS}

GRAPHQL = schema._schema


def _id_paths(type_, path: tuple[str, ...]):
    named = get_named_type(type_)
    if named.name == "ID":
        yield path
    elif is_input_object_type(named):
        for name, field in named.fields.items():
            yield from _id_paths(field.type, (*path, name))


def schema_id_arguments(root) -> list[tuple[str, str]]:
    """(field, argument path) of every ID the root's fields take, directly or inside an input object."""
    return [
        (operation, ".".join(path))
        for operation, field in root.fields.items()
        for name, argument in field.args.items()
        for path in _id_paths(argument.type, (name,))
    ]


@pytest.fixture
async def other(app, settings) -> SchoolRows:
    return await build_other_school(settings.annex_dir)


@pytest.fixture
async def own(app) -> SchoolRows:
    return await demo_rows()


def test_every_node_type_of_the_schema_is_registered_with_a_scope_and_walked():
    assert node_type_names(schema) == set(NODE_TYPES)
    assert all(callable(entry.scope) for entry in NODE_TYPES.values())


def test_every_id_argument_of_every_mutation_and_query_is_walked():
    assert set(schema_id_arguments(GRAPHQL.mutation_type)) == set(ID_ARGUMENTS)
    queries = {(name, path) for name, path in schema_id_arguments(GRAPHQL.query_type) if name not in ("node", "nodes")}
    assert queries == set(QUERY_ID_ARGUMENTS)
    assert {t for types in ALL_ID_ARGUMENTS.values() for t in types} <= set(NODE_TYPES)


NODE = "query($id: ID!, $ids: [ID!]!) { node(id: $id) { __typename id } nodes(ids: $ids) { __typename id } }"


async def test_the_other_school_has_a_row_of_every_node_type_and_its_own_admin_reaches_each(other, http, settings):
    # given the other school's administrator: the rows exist and node answers them (so null below means out of reach)
    assert set(other.ids) == set(NODE_TYPES)
    admin = Api(http, token_for(other.users[Role.ADMIN], settings))
    for type_name, ids in other.ids.items():
        data = await admin.data(NODE, id=ids[0], ids=ids)
        assert data["node"] == {"__typename": type_name, "id": ids[0]}
        assert [n["id"] for n in data["nodes"]] == ids


@pytest.mark.parametrize("type_name", sorted(NODE_TYPES))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
async def test_node_and_nodes_never_answer_another_schools_row(type_name, role, clients, other):
    # when each role of the demo school asks for the other school's rows of this type
    ids = other.ids[type_name]
    response = await clients[role].post(NODE, {"id": ids[0], "ids": ids})
    # then none exists for it
    assert response.json() == {"data": {"node": None, "nodes": [None] * len(ids)}}


EMITTED = """{ me { id } school { id } frameworks { id activities { id tasks { id competences { competence { id
  criteria { id } } } } } } }"""


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
async def test_every_id_the_api_emits_for_oneself_refetches_with_node(role, clients):
    # given the IDs of oneself, one's school, and a framework's activities, tasks, competences and criteria
    data = await clients[role].data(EMITTED)
    framework = data["frameworks"][0]
    activity = framework["activities"][0]
    task = activity["tasks"][0]
    competence = task["competences"][0]["competence"]
    ids = [
        data["me"]["id"],
        data["school"]["id"],
        framework["id"],
        activity["id"],
        task["id"],
        competence["id"],
        competence["criteria"][0]["id"],
    ]
    # when they are refetched
    refetched = (await clients[role].data("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=ids))["nodes"]
    # then each answers itself
    assert refetched == [{"id": i} for i in ids]


@pytest.mark.parametrize("role", [Role.TUTOR, Role.MASTER], ids=lambda r: r.value)
async def test_a_trainer_assigned_to_no_portfolio_yet_refetches_their_own_id(role, other, http, settings):
    # given the other school's trainer, once taken off every portfolio
    trainer = other.users[role]
    await trainer.trained_portfolios.clear()
    api = Api(http, token_for(trainer, settings))
    me = (await api.data("{ me { id } }"))["me"]["id"]
    # when they refetch their own ID, then they find themself
    assert (await api.data("query($id: ID!) { node(id: $id) { id } }", id=me))["node"] == {"id": me}


# -- mutations --------------------------------------------------------------------------------------------------


# Optional in the schema, required by the business rules (e.g. on creation): given so the call gets to its IDs.
OPTIONAL_BUT_NEEDED = {
    "name": "Essai",
    "title": "Essai",
    "firstName": "Essai",
    "lastName": "Essai",
    "startDate": dt.date.today().isoformat(),
    "endDate": (dt.date.today() + dt.timedelta(days=10)).isoformat(),
}


class Call:
    """One mutation (or query) with every required argument filled: the tested ID path with a foreign ID, the
    others with the demo school's rows, scalars with plain valid values."""

    def __init__(self, mutation: str, tested: str, foreign: str, own: SchoolRows, operation: str = "mutation"):
        self.mutation, self.tested, self.foreign, self.own = mutation, tuple(tested.split(".")), foreign, own
        self.operation = operation
        root = GRAPHQL.mutation_type if operation == "mutation" else GRAPHQL.query_type
        self.field = root.fields[mutation]
        self.uploads = False

    def _touches(self, path: tuple[str, ...]) -> bool:
        return self.tested[: len(path)] == path

    def _value(self, type_, path: tuple[str, ...]):
        nullable = not is_non_null_type(type_)
        inner = type_.of_type if not nullable else type_
        if nullable and path[-1] in OPTIONAL_BUT_NEEDED:
            return OPTIONAL_BUT_NEEDED[path[-1]]
        if nullable and not self._touches(path):
            return None
        if is_list_type(inner):
            return [self._value(inner.of_type, path)]
        if inner.name == "ID":
            if path == self.tested:
                return self.foreign
            return self.own.first(ALL_ID_ARGUMENTS[(self.mutation, ".".join(path))][0])
        if is_input_object_type(inner):
            values = {name: self._value(field.type, (*path, name)) for name, field in inner.fields.items()}
            return {name: value for name, value in values.items() if value is not None}
        return self._scalar(inner, path[-1])

    def _scalar(self, named, name: str):
        if hasattr(named, "values"):
            return next(iter(named.values))
        match named.name:
            case "String":
                return {"url": "https://example.org/annexe", "email": "nouveau@example.org"}.get(name, "Essai")
            case "Int":
                return 1
            case "Boolean":
                return False
            case "Date":
                return dt.date.today().isoformat()
            case "Decimal":
                return "1"
            case "Upload":
                self.uploads = True
                return None
        raise AssertionError(f"no value for {named.name} ({self.mutation}.{name})")

    async def _version(self, values: dict) -> int:
        type_name, pk = decode_id(values["id"])
        return (await NODE_TYPES[type_name].model.get(id=pk)).version

    async def send(self, api: Api):
        variables = {name: self._value(argument.type, (name,)) for name, argument in self.field.args.items()}
        given = variables.get("input") or {}
        if "version" in given:
            given["version"] = await self._version(given)
        declared = ", ".join(f"${name}: {argument.type}" for name, argument in self.field.args.items())
        passed = ", ".join(f"{name}: ${name}" for name in self.field.args)
        selection = (
            "{ errors { field code reason message } }" if self.operation == "mutation" else _ids(self.field.type)
        )
        document = f"{self.operation}({declared}) {{ {self.mutation}({passed}) {selection} }}"
        if not self.uploads:
            return await api.post(document, variables)
        operations = {"query": document, "variables": variables}
        return await api.http.post(
            "/graphql",
            headers=api.headers,
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
            files={"0": ("notes.txt", b"Quelques notes.", "text/plain")},
        )


def _ids(type_) -> str:
    """A selection of the IDs an answer of this type carries (lists and connections included)."""
    named = get_named_type(type_)
    fields = getattr(named, "fields", None)
    if fields is None:
        return ""
    parts = [
        "__typename",
        *(["id"] if "id" in fields else []),
        *(["edges { node { id } }"] if "edges" in fields else []),
    ]
    return "{ " + " ".join(parts) + " }"


def _names(field: list[str] | None, path: tuple[str, ...]) -> bool:
    """Whether an error's field (list indices aside) is the argument path."""
    return tuple(part for part in field or () if not part.isdigit()) == path


@pytest.mark.parametrize("mutation, path", sorted(ID_ARGUMENTS), ids=lambda value: value)
async def test_no_mutation_reaches_another_schools_row(mutation, path, clients, own, other):
    for type_name in ID_ARGUMENTS[(mutation, path)]:
        call = Call(mutation, path, other.first(type_name), own)
        named_at_the_foreign_id = False
        for role in [*ROLES, None]:
            # when a role of the demo school names the other school's row in this argument
            response = await call.send(clients[role])
            # then it was refused, and the answer names nothing of the other school
            assert MARK not in response.text.upper(), (role, type_name, response.text)
            body = response.json()
            if response.status_code in (401, 403):
                # an upload refused before its body is read (no token, or a role that may upload nothing)
                assert {e["extensions"]["code"] for e in body["errors"]} <= {"FORBIDDEN", "UNAUTHENTICATED"}, (
                    role,
                    type_name,
                    body,
                )
                continue
            assert response.status_code == 200, response.text
            if body.get("errors"):
                assert body["data"] is None, (role, type_name, body)
                assert {e["extensions"]["code"] for e in body["errors"]} <= {"FORBIDDEN", "UNAUTHENTICATED"}, (
                    role,
                    type_name,
                    body,
                )
                continue
            errors = body["data"][mutation]["errors"]
            assert errors, f"{mutation} went through for {role} with another school's {type_name}"
            assert {e["code"] for e in errors} == {"NOT_FOUND"}, (role, type_name, errors)
            named_at_the_foreign_id |= any(_names(e["field"], call.tested) for e in errors)
        # and at least one role got as far as the foreign ID, and found nothing there
        assert named_at_the_foreign_id, f"no role of the demo school reached {mutation}.{path} ({type_name})"


@pytest.mark.parametrize("query, path", sorted(QUERY_ID_ARGUMENTS), ids=lambda value: value)
async def test_no_query_answers_with_another_schools_rows(query, path, clients, own, other):
    every_foreign_id = [i for ids in other.ids.values() for i in ids]
    for type_name in QUERY_ID_ARGUMENTS[(query, path)]:
        call = Call(query, path, other.first(type_name), own, operation="query")
        for role in [*ROLES, None]:
            # when a role of the demo school filters or looks up by the other school's row
            response = await call.send(clients[role])
            # then the answer names nothing of the other school: refused, null or empty
            assert response.status_code == 200, response.text
            assert MARK not in response.text.upper(), (role, type_name, response.text)
            assert not any(i in response.text for i in every_foreign_id), (role, type_name, response.text)
            body = response.json()
            if body.get("errors"):
                assert {e["extensions"]["code"] for e in body["errors"]} <= {"FORBIDDEN", "UNAUTHENTICATED"}, (
                    role,
                    type_name,
                    body,
                )
            else:
                assert body["data"][query] in (
                    None,
                    [],
                    {"__typename": "LearnerConnection", "edges": []},
                    {"__typename": "AuditEntryConnection", "edges": []},
                ), (
                    role,
                    type_name,
                    body,
                )


async def test_no_download_or_export_serves_another_schools_row(clients, other, http, settings):

    paths = [f"/exports/{key}/{other.first(export.type_name)}" for key, export in EXPORTS.items()]
    paths.append(f"/annexes/{other.first('Annex')}")
    # the scan of their bilan signed on paper (issue 16, part 2)
    their_bilan = await CompanyBilan.get(id=decode_id(other.first("CompanyBilan"))[1])
    await scan_in_store(Api(http), their_bilan)
    paths.append(f"/bilans/{other.first('CompanyBilan')}/paper-scan")
    # given every document is there for the other school's administrator
    their_admin = Api(http, token_for(other.users[Role.ADMIN], settings))
    for path in paths:
        assert (await http.get(path, headers=their_admin.headers)).status_code == 200, path
    for role in ROLES:
        api = clients[role]
        for path in paths:
            # when a role of the demo school asks for a document of the other school's row
            response = await api.http.get(path, headers=api.headers)
            # then it is not there for them (or the document is not theirs to ask for at all)
            assert response.status_code in (403, 404), (role, path, response.status_code)
            assert MARK not in response.text.upper(), (role, path)
