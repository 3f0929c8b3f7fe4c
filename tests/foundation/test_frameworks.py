"""Frameworks as data: the built-in files, the file format's checks, idempotent import."""

import copy
import json

import pytest

from graph.types.common import encode_id
from models import frameworks as m
from models.users import Role
from resolvers.frameworks.importing import BUILTIN_DIR, FrameworkFileError, parse_framework

IMPORT = """mutation($content: String!) {
  frameworkImport(input: {content: $content}) {
    created changed framework { code name builtIn }
    errors { field code reason message }
  }
}"""


def builtin(name: str) -> dict:
    return json.loads((BUILTIN_DIR / name).read_text("utf-8"))


async def test_both_builtin_frameworks_are_loaded_with_their_whole_shape(teacher):
    data = await teacher.data("""{ frameworks { code builtIn scale { value label isThreshold }
        activities { tasks { code } } competences { code unitCode criteria { label } } units { code } attitudes { code } } }""")
    by_code = {f["code"]: f for f in data["frameworks"]}
    assert set(by_code) == {"CAP-ELEC", "BACPRO-MELEC"}
    melec, cap = by_code["BACPRO-MELEC"], by_code["CAP-ELEC"]
    assert sum(len(a["tasks"]) for a in melec["activities"]) == 17
    assert len(melec["competences"]) == 13
    assert sum(len(c["criteria"]) for c in melec["competences"]) == 78
    assert sum(len(a["tasks"]) for a in cap["activities"]) == 10
    assert [c["code"] for c in cap["competences"]][:2] == ["C01", "C02"]
    c01 = cap["competences"][0]
    assert c01["criteria"][0]["label"] == "Les informations nécessaires sont recueillies"
    assert len(c01["criteria"]) == 5 and c01["unitCode"] == "UP1"
    assert [s["label"] for s in cap["scale"]] == [
        "Non évalué",
        "Non acquis",
        "Début d'acquisition",
        "Partiellement acquis",
        "Acquis",
        "Maîtrisé",
    ]
    assert [s["value"] for s in cap["scale"] if s["isThreshold"]] == ["ACQUIRED"]
    assert len(cap["attitudes"]) == 5 and all(f["builtIn"] for f in data["frameworks"])


async def test_melec_task_links_carry_their_weights(teacher):
    data = await teacher.data("""{ framework(code: "BACPRO-MELEC") { activities { tasks { code
        competences { weight competence { code } } } } } }""")
    tasks = {t["code"]: t for a in data["framework"]["activities"] for t in a["tasks"]}
    assert [(c["competence"]["code"], c["weight"]) for c in tasks["T1-3"]["competences"]] == [
        ("C2", 2),
        ("C10", 1),
        ("C11", 2),
        ("C12", 1),
    ]


async def test_importing_the_same_file_twice_changes_nothing(admin):
    # given the admin's school imports a framework
    content = json.dumps(builtin("cap-electricien.json") | {"code": "CAP-ELEC-LOCAL"})
    first = (await admin.data(IMPORT, content=content))["frameworkImport"]
    assert first["errors"] == [] and first["created"] and first["changed"]
    assert first["framework"]["builtIn"] is False
    counts = [await model.all().count() for model in (m.Task, m.Competence, m.Criterion, m.TaskCompetence)]
    # when the same file comes again
    second = (await admin.data(IMPORT, content=content))["frameworkImport"]
    # then nothing changed
    assert second == {**first, "created": False, "changed": False}
    assert counts == [await model.all().count() for model in (m.Task, m.Competence, m.Criterion, m.TaskCompetence)]


async def test_a_changed_file_updates_in_place_keeping_ids(admin):
    doc = builtin("cap-electricien.json") | {"code": "CAP-ELEC-LOCAL"}
    await admin.data(IMPORT, content=json.dumps(doc))
    task_ids = {t.code: t.id for t in await m.Task.filter(framework__code="CAP-ELEC-LOCAL")}
    # when a label changes and a criterion is added
    changed = copy.deepcopy(doc)
    changed["activities"][0]["tasks"][0]["label"] = "Prendre connaissance du dossier (libellé corrigé)"
    changed["competences"][0]["criteria"].append(
        {"code": "C01.6", "label": "Les contraintes environnementales sont recensées"}
    )
    payload = (await admin.data(IMPORT, content=json.dumps(changed)))["frameworkImport"]
    assert payload["errors"] == [] and payload["changed"] and not payload["created"]
    task = await m.Task.get(framework__code="CAP-ELEC-LOCAL", code="TA 1-1")
    assert task.id == task_ids["TA 1-1"] and task.label.endswith("(libellé corrigé)")
    assert await m.Criterion.filter(competence__framework__code="CAP-ELEC-LOCAL", competence__code="C01").count() == 6


@pytest.mark.parametrize(
    "mutate, location",
    [
        (
            lambda d: d["activities"][1]["tasks"][0]["competences"].append({"code": "C99", "weight": 2}),
            "activities[1].tasks[0].competences[1].code: unknown competence 'C99'",
        ),
        (lambda d: d["competences"][2].update(unit="UP9"), "competences[2].unit: unknown unit 'UP9'"),
        (
            lambda d: d["activities"][0]["tasks"].append(dict(d["activities"][0]["tasks"][0])),
            "activities[0].tasks[2].code: duplicate task code 'TA 1-1'",
        ),
        (
            lambda d: d["activities"][0]["tasks"][0]["competences"][0].update(weight=3),
            "activities[0].tasks[0].competences[0].weight: must be 1 (secondary) or 2 (main)",
        ),
        (lambda d: d["scale"]["levels"].pop(), "scale.levels: must list the six levels"),
        (lambda d: d.pop("name"), "name: is required"),
    ],
)
async def test_a_bad_file_is_refused_whole_naming_the_entry(admin, mutate, location):
    doc = builtin("cap-electricien.json") | {"code": "CAP-ELEC-LOCAL"}
    mutate(doc)
    payload = (await admin.data(IMPORT, content=json.dumps(doc)))["frameworkImport"]
    assert payload["framework"] is None
    assert any(
        e["message"].startswith(location) and e["field"] == ["input", "content"] and e["code"] == "INVALID"
        for e in payload["errors"]
    ), payload["errors"]
    assert not await m.Framework.exists(code="CAP-ELEC-LOCAL")


def test_a_json_syntax_error_names_the_line():
    with pytest.raises(FrameworkFileError) as error:
        parse_framework('{\n  "format": "pfmp-framework/1",\n  "code": \n}')
    assert error.value.problems[0][0] == "line 4, column 1"


@pytest.mark.parametrize("role", [Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER])
async def test_only_an_admin_imports_frameworks(role, clients):
    client = clients[role]
    content = json.dumps(builtin("cap-electricien.json") | {"code": "CAP-ELEC-LOCAL"})
    assert await client.error_code(IMPORT, content=content) == "FORBIDDEN"
    assert not await m.Framework.exists(code="CAP-ELEC-LOCAL")


CRITERIA = """query($code: String!) { framework(code: $code) {
  competences(includeRetired: true) { code retired criteria(includeRetired: true) { id code label position retired } }
  activities(includeRetired: true) { code retired tasks(includeRetired: true) { id code retired } } } }"""


def local_cap() -> dict:
    return builtin("cap-electricien.json") | {"code": "CAP-ELEC-LOCAL"}


async def criteria_of(api, competence: str) -> list[dict]:
    framework = (await api.data(CRITERIA, code="CAP-ELEC-LOCAL"))["framework"]
    return next(c for c in framework["competences"] if c["code"] == competence)["criteria"]


async def imported(admin, doc: dict) -> dict:
    payload = (await admin.data(IMPORT, content=json.dumps(doc)))["frameworkImport"]
    assert payload["errors"] == [], payload["errors"]
    return payload


def test_the_builtin_criteria_carry_codes_competence_code_dot_position():
    for name in ("cap-electricien.json", "bac-pro-melec.json"):
        for competence in builtin(name)["competences"]:
            assert [k["code"] for k in competence["criteria"]] == [
                f"{competence['code']}.{j}" for j in range(1, len(competence["criteria"]) + 1)
            ]


async def test_criteria_are_matched_by_code_across_a_reorder(admin):
    # given C01's five criteria imported with their codes
    doc = local_cap()
    await imported(admin, doc)
    ids = {k["code"]: k["id"] for k in await criteria_of(admin, "C01")}
    # when a file lists them in reverse order, one label corrected
    changed = copy.deepcopy(doc)
    changed["competences"][0]["criteria"].reverse()
    changed["competences"][0]["criteria"][0]["label"] = "Les habilitations nécessaires sont identifiées"
    await imported(admin, changed)
    # then each code keeps its criterion, in the file's order, with the new label
    after = await criteria_of(admin, "C01")
    assert [(k["code"], k["position"]) for k in after] == [(f"C01.{5 - i}", i + 1) for i in range(5)]
    assert {k["code"]: k["id"] for k in after} == ids
    assert after[0]["label"] == "Les habilitations nécessaires sont identifiées" and not any(
        k["retired"] for k in after
    )


async def test_a_file_without_criterion_codes_matches_by_position(admin):
    # given a file whose criteria are plain strings
    doc = local_cap()
    for competence in doc["competences"]:
        competence["criteria"] = [k["label"] for k in competence["criteria"]]
    await imported(admin, doc)
    before = await criteria_of(admin, "C01")
    assert [k["code"] for k in before] == [None] * 5
    # when the second label changes and the last criterion leaves the file
    changed = copy.deepcopy(doc)
    changed["competences"][0]["criteria"][1] = "Les contraintes techniques sont repérées"
    changed["competences"][0]["criteria"].pop()
    await imported(admin, changed)
    after = await criteria_of(admin, "C01")
    # then the criteria keep their ids by position, and the last is retired, not deleted
    assert [k["id"] for k in after] == [k["id"] for k in before]
    assert after[1]["label"] == "Les contraintes techniques sont repérées"
    assert [k["retired"] for k in after] == [False, False, False, False, True]
    # and listed again, the same criterion is back
    await imported(admin, doc)
    again = await criteria_of(admin, "C01")
    assert [k["id"] for k in again] == [k["id"] for k in before] and not any(k["retired"] for k in again)


async def test_a_file_that_gains_criterion_codes_keeps_its_criteria(admin):
    # given criteria imported without codes
    coded = local_cap()
    plain = copy.deepcopy(coded)
    for competence in plain["competences"]:
        competence["criteria"] = [k["label"] for k in competence["criteria"]]
    await imported(admin, plain)
    before = await criteria_of(admin, "C01")
    # when the same file comes with codes
    await imported(admin, coded)
    # then each criterion takes the code of its position
    after = await criteria_of(admin, "C01")
    assert [(k["id"], k["code"], k["retired"]) for k in after] == [
        (k["id"], f"C01.{k['position']}", False) for k in before
    ]


async def test_an_entry_nothing_names_is_retired_too_and_comes_back(admin):
    # given the file imported, then again without activity 5 (and its task TA 5-1)
    doc = local_cap()
    await imported(admin, doc)
    smaller = copy.deepcopy(doc)
    smaller["activities"] = [a for a in smaller["activities"] if a["code"] != "5"]
    await imported(admin, smaller)
    framework = (await admin.data(CRITERIA, code="CAP-ELEC-LOCAL"))["framework"]
    # then nothing was deleted: the activity and its task are retired
    activity = next(a for a in framework["activities"] if a["code"] == "5")
    assert activity["retired"] and [(t["code"], t["retired"]) for t in activity["tasks"]] == [("TA 5-1", True)]
    # and listed again they come back as they were
    await imported(admin, doc)
    framework = (await admin.data(CRITERIA, code="CAP-ELEC-LOCAL"))["framework"]
    activity = next(a for a in framework["activities"] if a["code"] == "5")
    assert not activity["retired"] and not activity["tasks"][0]["retired"]


@pytest.mark.parametrize(
    "mutate, location",
    [
        (
            lambda d: d["competences"][1]["criteria"].append("Un critère sans code"),
            "competences[1].criteria[11]: has no code while other criteria of the file have one",
        ),
        (
            lambda d: d["competences"][1]["criteria"].append({"code": "C01.1", "label": "Un autre critère"}),
            "competences[1].criteria[11].code: duplicate criterion code 'C01.1'",
        ),
        (
            lambda d: d["competences"][0]["criteria"].append({"label": "Sans code"}),
            "competences[0].criteria[5].code: is required",
        ),
        (
            lambda d: d["competences"][0]["criteria"].append(3),
            "competences[0].criteria[5]: must be a non-empty string or an object with 'code' and 'label'",
        ),
    ],
)
async def test_a_bad_criterion_is_refused_naming_it(admin, mutate, location):
    doc = local_cap()
    mutate(doc)
    payload = (await admin.data(IMPORT, content=json.dumps(doc)))["frameworkImport"]
    assert any(e["message"].startswith(location) and e["code"] == "INVALID" for e in payload["errors"]), payload[
        "errors"
    ]
    assert not await m.Framework.exists(code="CAP-ELEC-LOCAL")


NODE_UNIT = """query($id: ID!) { node(id: $id) { ... on Competence { code unitCode } } }"""
NODES_UNIT = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Competence { code unitCode } } }"""


async def _competence_ids_and_units() -> tuple[list[str], dict[str, str]]:
    """Global IDs of both built-in frameworks' competences, and the unit each file gives them, by « FW/code »."""
    units = {}
    for name in ("cap-electricien.json", "bac-pro-melec.json"):
        data = builtin(name)
        units |= {f"{data['code']}/{c['code']}": c["unit"] for c in data["competences"]}
    rows = await m.Competence.filter(framework__school_id=None).prefetch_related("framework").order_by("id")
    return [encode_id("Competence", row.id) for row in rows], {
        encode_id("Competence", row.id): units[f"{row.framework.code}/{row.code}"] for row in rows
    }


async def test_a_competence_fetched_by_node_or_nodes_answers_its_unit_code(teacher, sql_counter):
    ids, units = await _competence_ids_and_units()
    assert len(ids) == len(units) > 20 and all(units.values())
    # when one competence is fetched through node
    one = (await teacher.data(NODE_UNIT, id=ids[0]))["node"]
    # then it answers the unit its framework file gives it
    assert one["unitCode"] == units[ids[0]]
    # and so does every competence fetched through nodes
    sql_counter.reset()
    two = (await teacher.data(NODES_UNIT, ids=ids[:2]))["nodes"]
    few = sql_counter.count
    sql_counter.reset()
    every = (await teacher.data(NODES_UNIT, ids=ids))["nodes"]
    many = sql_counter.count
    assert [c["unitCode"] for c in every] == [units[i] for i in ids]
    assert [c["unitCode"] for c in two] == [units[i] for i in ids[:2]]
    # with as many statements for all of them as for two
    assert many == few, (few, many, sql_counter.statements)
