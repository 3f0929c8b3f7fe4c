"""Frameworks as data: the built-in files, the file format's checks, idempotent import."""

import copy
import json

import pytest

from models import frameworks as m
from models.users import Role
from resolvers.framework_import import BUILTIN_DIR, FrameworkFileError, parse_framework

IMPORT = """mutation($content: String!) {
  frameworkImport(content: $content) {
    created changed framework { code name builtIn }
    errors { field code message }
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
        "Non évalué", "Non acquis", "Début d'acquisition", "Partiellement acquis", "Acquis", "Maîtrisé"]
    assert [s["value"] for s in cap["scale"] if s["isThreshold"]] == ["ACQUIRED"]
    assert len(cap["attitudes"]) == 5 and all(f["builtIn"] for f in data["frameworks"])


async def test_melec_task_links_carry_their_weights(teacher):
    data = await teacher.data("""{ framework(code: "BACPRO-MELEC") { activities { tasks { code
        competences { weight competence { code } } } } } }""")
    tasks = {t["code"]: t for a in data["framework"]["activities"] for t in a["tasks"]}
    assert [(c["competence"]["code"], c["weight"]) for c in tasks["T1-3"]["competences"]] == [
        ("C2", 2), ("C10", 1), ("C11", 2), ("C12", 1)]


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
    changed["competences"][0]["criteria"].append({"code": "C01.6",
                                                  "label": "Les contraintes environnementales sont recensées"})
    payload = (await admin.data(IMPORT, content=json.dumps(changed)))["frameworkImport"]
    assert payload["errors"] == [] and payload["changed"] and not payload["created"]
    task = await m.Task.get(framework__code="CAP-ELEC-LOCAL", code="TA 1-1")
    assert task.id == task_ids["TA 1-1"] and task.label.endswith("(libellé corrigé)")
    assert await m.Criterion.filter(competence__framework__code="CAP-ELEC-LOCAL", competence__code="C01").count() == 6


@pytest.mark.parametrize("mutate, location", [
    (lambda d: d["activities"][1]["tasks"][0]["competences"].append({"code": "C99", "weight": 2}),
     "activities[1].tasks[0].competences[1].code: unknown competence 'C99'"),
    (lambda d: d["competences"][2].update(unit="UP9"), "competences[2].unit: unknown unit 'UP9'"),
    (lambda d: d["activities"][0]["tasks"].append(dict(d["activities"][0]["tasks"][0])),
     "activities[0].tasks[2].code: duplicate task code 'TA 1-1'"),
    (lambda d: d["activities"][0]["tasks"][0]["competences"][0].update(weight=3),
     "activities[0].tasks[0].competences[0].weight: must be 1 (secondary) or 2 (main)"),
    (lambda d: d["scale"]["levels"].pop(), "scale.levels: must list the six levels"),
    (lambda d: d.pop("name"), "name: is required"),
])
async def test_a_bad_file_is_refused_whole_naming_the_entry(admin, mutate, location):
    doc = builtin("cap-electricien.json") | {"code": "CAP-ELEC-LOCAL"}
    mutate(doc)
    payload = (await admin.data(IMPORT, content=json.dumps(doc)))["frameworkImport"]
    assert payload["framework"] is None
    assert any(e["message"].startswith(location) and e["field"] == ["content"] and e["code"] == "INVALID"
               for e in payload["errors"]), payload["errors"]
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
