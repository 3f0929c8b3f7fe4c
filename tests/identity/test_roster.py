"""rosterImport: learners and classrooms from SIECLE XML exports and CSV files, whole or not at all."""

from pathlib import Path

import pytest

from models.portfolios import Portfolio
from models.schools import Classroom, Level
from models.users import ExternalIdentity, LearnerStatus, Role, User
from tests.conftest import Api

FILES = Path(__file__).parent / "files"
IMPORT = """mutation($content: String!, $format: RosterFormat!, $level: String, $provider: String) {
  rosterImport(input: {content: $content, format: $format, level: $level, identityProvider: $provider}) {
    learnersCreated { fullName classroom { name level { name } } }
    learnersUpdated { fullName classroom { name } }
    learnersUnchanged
    learnersMissing { fullName }
    classroomsCreated { name level { name } }
    classroomsUpdated { name }
    classroomsUnchanged
    levelsCreated { name }
    warnings
    errors { field code reason message }
  }
}"""


def xml(name: str) -> str:
    return (FILES / name).read_bytes().decode("iso-8859-15")


def csv(name: str) -> str:
    return (FILES / name).read_text("utf-8-sig")


async def roster_import(
    admin: Api, content: str, format: str = "XML", level: str | None = None, provider: str | None = None
) -> dict:
    return (await admin.data(IMPORT, content=content, format=format, level=level, provider=provider))["rosterImport"]


async def snapshot() -> tuple:
    """Everything an import may write, to compare before and after a refused one."""
    users = await User.all().order_by("id").values_list("id", "first_name", "last_name", "classroom_id", "national_id")
    classrooms = await Classroom.all().order_by("id").values_list("id", "name", "external_code")
    levels = await Level.all().order_by("id").values_list("id", "name")
    links = await ExternalIdentity.all().order_by("id").values_list("id", "subject")
    return users, classrooms, levels, links


def names(people: list[dict]) -> list[str]:
    return sorted(p["fullName"] for p in people)


async def test_a_siecle_export_creates_classrooms_and_learners(admin):
    # when
    result = await roster_import(admin, xml("eleves-2026.xml"), level="Première année de CAP")
    # then
    assert result["errors"] == []
    assert names(result["learnersCreated"]) == ["Bao NGUYEN", "Léa LEFÈVRE", "Noël ŒUVRARD", "Yanis BENALI"]
    assert {p["fullName"]: p["classroom"]["name"] for p in result["learnersCreated"]} == {
        "Léa LEFÈVRE": "CAP 1 ELEC",
        "Bao NGUYEN": "CAP 1 ELEC",
        "Noël ŒUVRARD": "1CAP B",
        "Yanis BENALI": "1CAP B",
    }
    assert result["classroomsCreated"] == [{"name": "1CAP B", "level": {"name": "Première année de CAP"}}]
    assert result["classroomsUpdated"] == [{"name": "CAP 1 ELEC"}]  # existing one, now linked to its code
    assert result["levelsCreated"] == []
    # the demo learners of CAP 1 ELEC are not in the export: reported, kept
    assert names(result["learnersMissing"]) == ["Jean LECAM", "Matis CARLIER"]
    assert await User.filter(last_name__in=["LECAM", "CARLIER"], is_active=True).count() == 2
    assert any("ELEVE_ID 4005" in w and "left the school" in w for w in result["warnings"])
    assert any("ELEVE_ID 4006" in w and "in no classroom" in w for w in result["warnings"])
    lea = await User.get(national_id="4001")
    assert (lea.role, lea.birth_date.isoformat(), lea.learner_status) == (
        Role.LEARNER,
        "2010-05-02",
        LearnerStatus.SCHOOL,
    )
    assert lea.email == "4001.0599999z@roster.invalid" and lea.password_hash is None


async def test_importing_the_same_file_again_changes_nothing(admin):
    # given
    await roster_import(admin, xml("eleves-2026.xml"), level="Première année de CAP")
    before = await snapshot()
    # when
    result = await roster_import(admin, xml("eleves-2026.xml"))
    # then
    assert result["errors"] == []
    assert (result["learnersCreated"], result["learnersUpdated"], result["learnersUnchanged"]) == ([], [], 4)
    assert (result["classroomsCreated"], result["classroomsUpdated"], result["classroomsUnchanged"]) == ([], [], 2)
    assert await snapshot() == before


async def test_a_changed_file_updates_names_and_classrooms_and_reports_who_is_missing(admin):
    # given
    await roster_import(admin, xml("eleves-2026.xml"), level="Première année de CAP")
    nguyen = await User.get(national_id="4002")
    # when
    result = await roster_import(admin, xml("eleves-2026-octobre.xml"), level="Première année de CAP")
    # then
    assert result["errors"] == []
    assert names(result["learnersCreated"]) == ["Lucas GARCIA"]
    assert {p["fullName"]: p["classroom"]["name"] for p in result["learnersUpdated"]} == {
        "Léa LEFÈVRE-ROUX": "CAP 1 ELEC",
        "Yanis BENALI": "CAP 1 ELEC",
    }
    assert result["learnersUnchanged"] == 1
    assert names(result["learnersMissing"]) == ["Bao NGUYEN", "Jean LECAM", "Matis CARLIER"]
    assert await User.filter(id=nguyen.id, is_active=True).exists()


async def test_a_csv_moves_an_existing_learner_without_losing_her_portfolios(admin):
    # given: Angélique DUPIRE was created by hand and has a portfolio
    dupire = await User.get(last_name="DUPIRE")
    portfolios = await Portfolio.filter(learner=dupire).values_list("id", flat=True)
    assert portfolios
    content = (
        "identifiant;nom;prenom;date_naissance;classe;niveau\n"
        f"7001;DUPIRE;Angélique;{dupire.birth_date:%d/%m/%Y};TMELEC;Terminale Bac pro MELEC\n"
    )
    # when
    result = await roster_import(admin, content, "CSV")
    # then
    assert result["errors"] == [] and result["learnersCreated"] == []
    assert result["learnersUpdated"] == [{"fullName": "Angélique DUPIRE", "classroom": {"name": "TMELEC"}}]
    assert result["levelsCreated"] == [{"name": "Terminale Bac pro MELEC"}]
    moved = await User.get(id=dupire.id)
    assert moved.national_id == "7001" and moved.email == dupire.email
    assert await Portfolio.filter(learner=dupire).values_list("id", flat=True) == portfolios


async def test_a_csv_with_levels_statuses_and_quoted_fields(admin):
    result = await roster_import(admin, csv("classes.csv"), "CSV")
    assert result["errors"] == []
    assert {p["fullName"]: p["classroom"]["level"]["name"] for p in result["learnersCreated"]} == {
        "Hugo DURAND": "Terminale Bac pro MELEC",
        "Aïssata N'DIAYE": "Terminale Bac pro MELEC",
        "Jean DE LA FONTAINE; dit Jean": "Première Bac pro MELEC",
    }
    assert sorted(lv["name"] for lv in result["levelsCreated"]) == ["Première Bac pro MELEC", "Terminale Bac pro MELEC"]
    aissata = await User.get(national_id="5002")
    assert (aissata.email, aissata.learner_status) == ("aissata.ndiaye@example.test", LearnerStatus.APPRENTICE)


async def test_an_identity_provider_link_lets_imported_learners_sign_in(admin, http, idp):
    # given
    result = await roster_import(admin, xml("eleves-2026.xml"), level="Première année de CAP", provider="ent")
    assert result["errors"] == []
    # when: the ENT's token names the learner by their ELEVE_ID
    body = await Api(http, idp.token(sub="4003")).data("{ me { fullName role } }")
    # then
    assert body["me"] == {"fullName": "Noël ŒUVRARD", "role": "LEARNER"}


@pytest.mark.parametrize(
    "file, format, expected",
    [
        (
            "classes-sans-classe.csv",
            "CSV",
            ["line 1: missing column(s): classe (required: identifiant, nom, prenom, date_naissance, classe)"],
        ),
        (
            "classes-date-fausse.csv",
            "CSV",
            [
                "line 3: date_naissance '30/13/2009' is not a past date (DD/MM/YYYY)",
                "line 4: prenom is missing or empty",
            ],
        ),
        (
            "eleves-bad.xml",
            "XML",
            [
                "ELEVE #1 (ELEVE_ID 4101): DATE_NAISS '31/02/2009' is not a past date (DD/MM/YYYY)",
                "ELEVE #2 (ELEVE_ID 4102): NOM_DE_FAMILLE is missing or empty",
                "ELEVE #3 (ELEVE_ID 4101): ELEVE_ID '4101' appears twice in the file",
            ],
        ),
        ("truncated.xml", "XML", ["line 4, column 21: XML error, mismatched tag"]),
        (
            "bomb.xml",
            "XML",
            [
                "document: declares a DTD or entities, refused (entity expansion attacks); "
                "the school-administration exports declare none"
            ],
        ),
        (
            "xxe.xml",
            "XML",
            [
                "document: declares a DTD or entities, refused (entity expansion attacks); "
                "the school-administration exports declare none"
            ],
        ),
        ("classes.csv", "XML", ["line 1, column 12: XML error, not well-formed (invalid token)"]),
    ],
)
async def test_a_bad_file_is_refused_whole_naming_the_line_or_element(admin, file, format, expected):
    # given
    before = await snapshot()
    content = (FILES / file).read_bytes().decode("utf-8-sig" if file.endswith(".csv") else "iso-8859-15")
    # when
    result = await roster_import(admin, content, format, level="Première année de CAP")
    # then
    assert [e["message"] for e in result["errors"]] == expected
    assert {tuple(e["field"]) for e in result["errors"]} == {("input", "content")}
    assert result["learnersCreated"] == [] and await snapshot() == before


async def test_a_new_classroom_without_a_level_is_refused(admin):
    before = await snapshot()
    result = await roster_import(admin, xml("eleves-2026.xml"))
    assert result["errors"][0]["message"] == (
        "ELEVE #3 (ELEVE_ID 4003): classroom '1CAP B' is new; give its level (CSV column niveau, or the level option)"
    )
    assert await snapshot() == before


async def test_an_email_already_used_refuses_the_whole_file(admin):
    # given: the second line's email belongs to the teacher
    content = (
        "identifiant;nom;prenom;date_naissance;classe;niveau;email\n"
        "8001;ALPHA;Ana;01/01/2009;TMELEC;Terminale;\n"
        "8002;BETA;Ben;01/01/2009;TMELEC;Terminale;professeur@demo.pfmp.test\n"
    )
    before = await snapshot()
    # when
    result = await roster_import(admin, content, "CSV")
    # then
    assert [e["message"] for e in result["errors"]] == [
        "line 3: email 'professeur@demo.pfmp.test' is already another account's"
    ]
    assert await snapshot() == before


async def test_an_identity_already_linked_to_someone_else_refuses_the_whole_file(admin, teacher):
    await ExternalIdentity.create(user=teacher.user, provider="ent", subject="4004")
    before = await snapshot()
    result = await roster_import(admin, xml("eleves-2026.xml"), level="Première année de CAP", provider="ent")
    assert [e["message"] for e in result["errors"]] == [
        "ELEVE #4 (ELEVE_ID 4004): '4004' at 'ent' is already linked to another account"
    ]
    assert await snapshot() == before


async def test_an_unknown_identity_provider_is_refused(admin):
    result = await roster_import(admin, csv("classes.csv"), "CSV", provider="facebook")
    assert result["errors"][0]["field"] == ["input", "identityProvider"]
    assert not await User.exists(national_id="5001")


@pytest.mark.parametrize("role", [Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER, None])
async def test_only_admins_import(clients, role):
    body = await clients[role].execute(IMPORT, content=csv("classes.csv"), format="CSV")
    assert body["errors"][0]["extensions"]["code"] == ("UNAUTHENTICATED" if role is None else "FORBIDDEN")
    assert not await User.exists(national_id="5001")
