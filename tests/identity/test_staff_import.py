"""staffImport: teachers and the classrooms they teach, from STS-Web's timetable export and CSV files.

The XML files follow the published layout of STS-Web's « Emploi du temps » export (STS_EDT, INDIVIDU with
FONCTION, DIVISION and GROUPE services naming ENSEIGNANT ids); the demo school has the classrooms « CAP 1 ELEC »
and « CAPELECT » and one teacher, Claire MARTIN, who teaches both.
"""

from pathlib import Path

import pytest

from models.schools import Classroom
from models.users import ExternalIdentity, Role, User
from tests.conftest import Api

FILES = Path(__file__).parent / "files"
IMPORT = """mutation($content: String!, $format: RosterFormat!, $provider: String) {
  staffImport(input: {content: $content, format: $format, identityProvider: $provider}) {
    teachersCreated { fullName }
    teachersUpdated { fullName }
    teachersUnchanged
    teachersMissing { fullName }
    warnings
    errors { field code reason message }
  }
}"""


def sts(name: str = "sts_emp_0599999Z_2026.xml") -> str:
    return (FILES / name).read_bytes().decode("iso-8859-15")


def csv(name: str) -> str:
    return (FILES / name).read_text("utf-8")


async def staff_import(admin: Api, content: str, format: str = "XML", provider: str | None = None) -> dict:
    return (await admin.data(IMPORT, content=content, format=format, provider=provider))["staffImport"]


def names(people: list[dict]) -> list[str]:
    return sorted(p["fullName"] for p in people)


async def taught(national_id: str) -> set[str]:
    teacher = await User.get(role=Role.TEACHER, national_id=national_id)
    return set(await teacher.taught_classrooms.all().values_list("name", flat=True))


async def snapshot() -> tuple:
    """Everything an import may write, to compare before and after a refused one."""
    users = await User.all().order_by("id").values_list("id", "first_name", "last_name", "email", "national_id")
    teaching = await Classroom.all().order_by("id").values_list("id", "teachers__id")
    links = await ExternalIdentity.all().order_by("id").values_list("id", "subject")
    return users, teaching, links


async def test_an_sts_export_creates_teachers_and_sets_the_classrooms_they_teach(admin):
    # when
    result = await staff_import(admin, sts())
    # then: the two new teachers, and the demo's teacher found by her names
    assert result["errors"] == []
    assert names(result["teachersCreated"]) == ["Hélène DUBOIS", "José LEFÈVRE"]
    assert names(result["teachersUpdated"]) == ["Claire MARTIN"]
    assert (result["teachersUnchanged"], result["teachersMissing"]) == (0, [])
    # a division's service, and a group's service for each division the group belongs to
    assert await taught("8100") == {"CAP 1 ELEC"}
    assert await taught("8101") == {"CAP 1 ELEC", "CAPELECT"}
    assert await taught("8102") == {"CAP 1 ELEC"}
    # the school has no « 1CAP B » (its learners were never imported), and the head is not a teacher
    assert result["warnings"] == [
        "INDIVIDU #4 (ID 8103): FONCTION DIR is not teaching (ENS), not imported",
        "INDIVIDU #3 (ID 8102): classroom '1CAP B' is not in the school (import the learners first), skipped",
    ]
    # no password: the new teachers sign in through the ENT or with a temporary one an administrator gives
    helene = await User.get(national_id="8102", role=Role.TEACHER)
    assert helene.password_hash is None
    assert helene.email == "8102.0599999z@staff.invalid"
    assert not await User.exists(last_name="BERNARD")


async def test_importing_the_same_export_again_changes_nothing(admin):
    await staff_import(admin, sts())
    before = await snapshot()
    # when
    result = await staff_import(admin, sts())
    # then
    assert (result["teachersCreated"], result["teachersUpdated"], result["teachersUnchanged"]) == ([], [], 3)
    assert await snapshot() == before


async def test_an_export_without_the_timetable_leaves_the_classrooms_as_they_are(admin):
    # when: STS-Web before the timetable is sent up lists the staff but no service
    result = await staff_import(admin, sts("sts_emp_sans_services.xml"))
    # then
    assert result["errors"] == []
    assert names(result["teachersCreated"]) == ["Hélène DUBOIS", "José LEFÈVRE"]
    assert await taught("8100") == {"CAP 1 ELEC", "CAPELECT"}
    assert await taught("8101") == set()
    assert any("no service names a teacher" in w for w in result["warnings"])


async def test_a_csv_with_emails_classrooms_and_ent_identities(admin, http, idp):
    # when
    result = await staff_import(admin, csv("enseignants.csv"), "CSV", provider="ent")
    # then
    assert result["errors"] == []
    assert names(result["teachersCreated"]) == ["Inès PETIT", "Marc ROUX"]
    assert await taught("T-01") == {"CAP 1 ELEC", "CAPELECT"}
    assert await taught("T-02") == {"CAPELECT"}
    assert (await User.get(national_id="T-01")).email == "ines.petit@ac-lille.test"
    # and the ENT's token signs Inès in, as the teacher of her classrooms' learners
    ines = Api(http, idp.token(sub="ent-ines"))
    body = await ines.data("{ me { fullName role } }")
    assert body["me"] == {"fullName": "Inès PETIT", "role": "TEACHER"}
    marc = Api(http, idp.token(sub="T-02"))
    assert (await marc.data("{ me { fullName } }"))["me"] == {"fullName": "Marc ROUX"}


async def test_a_teacher_once_imported_and_absent_from_the_next_file_is_reported_and_kept(admin):
    await staff_import(admin, sts())
    # when
    result = await staff_import(admin, csv("enseignants.csv"), "CSV")
    # then
    assert names(result["teachersMissing"]) == ["Claire MARTIN", "Hélène DUBOIS", "José LEFÈVRE"]
    assert await User.filter(role=Role.TEACHER, national_id="8101", is_active=True).exists()


@pytest.mark.parametrize(
    "content, format, expected",
    [
        (
            "enseignants-mauvais.csv",
            "CSV",
            [
                "line 3: nom is missing or empty",
                "line 3: email 'pas-une-adresse' is not an email address",
                "line 4: identifiant 'T-01' appears twice in the file",
            ],
        ),
        (
            "eleves-2026.xml",
            "XML",
            ["document: no STS_EDT/DONNEES/INDIVIDUS/INDIVIDU element; is this the STS-Web export?"],
        ),
        (
            "bomb.xml",
            "XML",
            [
                "document: declares a DTD or entities, refused (entity expansion attacks); "
                "the school-administration exports declare none"
            ],
        ),
    ],
)
async def test_a_bad_file_is_refused_whole_naming_the_line_or_element(admin, content, format, expected):
    before = await snapshot()
    raw = (FILES / content).read_bytes()
    # when
    result = await staff_import(admin, raw.decode("utf-8" if format == "CSV" else "iso-8859-15"), format)
    # then
    assert [e["message"] for e in result["errors"]] == expected
    assert {(tuple(e["field"]), e["code"], e["reason"]) for e in result["errors"]} == {
        (("input", "content"), "INVALID", "ROSTER_FILE_INVALID")
    }
    assert result["teachersCreated"] == [] and await snapshot() == before


async def test_an_email_already_used_refuses_the_whole_file(admin):
    before = await snapshot()
    content = "identifiant;nom;prenom;email\nT-01;PETIT;Inès;ines@lp.test\nT-02;ROUX;Marc;admin@demo.pfmp.test\n"
    # when
    result = await staff_import(admin, content, "CSV")
    # then
    assert [e["message"] for e in result["errors"]] == [
        "line 3: email 'admin@demo.pfmp.test' is already another account's"
    ]
    assert await snapshot() == before


@pytest.mark.parametrize("role", [Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER, None])
async def test_only_admins_import_staff(clients, role):
    body = await clients[role].execute(IMPORT, content=csv("enseignants.csv"), format="CSV")
    assert body["errors"][0]["extensions"]["code"] == ("UNAUTHENTICATED" if role is None else "FORBIDDEN")
    assert not await User.exists(national_id="T-01")
