"""Errors a French front end can show (issue 13, part 1): a precise `reason` for every payload error, messages in
French or English chosen by Accept-Language, from gettext catalogs, and a documentation table kept up to date."""

import ast
import datetime as dt
import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from graph.error_reasons import END, START, cell, markdown, updated
from graph.errors import REASONS, TOP_LEVEL, ErrorCode, Reason
from graph.messages import LANGUAGES, catalog_path, negotiate, template
from graph.schema import schema
from graph.types.common import encode_id
from models.bilans import CompanyBilan
from models.fiches import ActivityFiche
from models.schools import Level
from models.users import Role, User
from resolvers.demo import DEMO_PASSWORD
from tests.conftest import DEMO_EMAIL

ROOT = Path(__file__).resolve().parents[2]

CREATE = """mutation($l: ID!, $s: Date!, $e: Date!) { periodCreate(input: {levelId: $l, name: "Stage", startDate: $s, endDate: $e}) { period { id } errors { field code reason message } } }"""

ME = "{ me { id } }"


async def _refused_period(api, headers: dict[str, str]) -> dict:
    level = await Level.get(name="Première année de CAP")
    variables = {"l": encode_id("Level", level.id), "s": "2026-09-02", "e": "2026-09-01"}
    response = await api.post(CREATE, variables, headers=headers)
    assert response.status_code == 200, response.text
    [error] = response.json()["data"]["periodCreate"]["errors"]
    return error


FRENCH = "Le dernier jour précède le premier jour."
ENGLISH = "The last day comes before the first day."


@pytest.mark.parametrize(
    "accept_language, message",
    [
        (None, FRENCH),  # French by default
        ("en-GB,en;q=0.9", ENGLISH),
        ("en", ENGLISH),
        ("de-DE,de;q=0.9", FRENCH),  # a language we do not speak: French
        ("tlh, xx-YY;q=0.8", FRENCH),  # not even a known language
        ("en;q=0.5, fr;q=0.9", FRENCH),  # q-values prefer French, whatever the order
        ("fr;q=0.4, en;q=0.6", ENGLISH),
        ("fr-CA;q=0.8, en-US;q=0.7", FRENCH),
        ("en;q=0, de", FRENCH),  # q=0: English is refused
        ("en;q=banana", FRENCH),  # a malformed weight is ignored, not an error
        ("*", FRENCH),
    ],
)
async def test_the_same_error_in_the_language_asked_for(teacher, accept_language, message):
    headers = {"Accept-Language": accept_language} if accept_language is not None else {}
    error = await _refused_period(teacher, headers)
    assert (error["field"], error["code"], error["reason"]) == (
        ["input", "endDate"],
        "INVALID",
        "PERIOD_END_BEFORE_START",
    )
    assert error["message"] == message


@pytest.mark.parametrize(
    "accept_language, message",
    [
        (None, "Connectez-vous d'abord : envoyez un jeton d'accès en « Authorization: Bearer <jeton> »."),
        ("en-GB,en;q=0.9", "Sign in first: send an access token as 'Authorization: Bearer <token>'."),
        ("es", "Connectez-vous d'abord : envoyez un jeton d'accès en « Authorization: Bearer <jeton> »."),
    ],
)
async def test_a_top_level_error_in_the_language_asked_for(anonymous, accept_language, message):
    headers = {"Accept-Language": accept_language} if accept_language is not None else {}
    body = (await anonymous.post(ME, headers=headers)).json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == message


async def test_a_forbidden_operation_is_a_top_level_error_in_french(learner):
    body = (await learner.post('mutation { levelCreate(input: {name: "X"}) { errors { code } } }')).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["message"] == "Vous n'avez pas le droit de faire cela."


async def test_a_date_in_a_message_is_written_as_the_language_writes_it(teacher):
    headers = {"Accept-Language": "fr-FR"}
    level = await Level.get(name="Première année de CAP")
    variables = {"l": encode_id("Level", level.id), "s": "2026-09-01", "e": "2999-01-01"}
    [french] = (await teacher.post(CREATE, variables, headers=headers)).json()["data"]["periodCreate"]["errors"]
    assert french["reason"] == "DATE_OUT_OF_RANGE"
    assert (
        french["message"] == "« endDate » doit être une date comprise entre le 1 janvier 2000 et le 31 décembre 2100."
    )
    [english] = (await teacher.speaking("en").post(CREATE, variables)).json()["data"]["periodCreate"]["errors"]
    assert english["message"] == "'endDate' must be between 2000-01-01 and 2100-12-31."


def test_the_negotiation_reads_the_header_as_rfc_9110_says():
    assert negotiate(None) == negotiate("") == "fr"
    assert negotiate("EN-us") == "en"
    assert negotiate("en-GB,en;q=0.9,fr;q=0.8") == "en"
    assert negotiate(" fr ; q=1 , en ; q=0.99") == "fr"
    assert negotiate("en;q=1.5") == "fr"  # out of range: ignored
    assert negotiate("x" * 5000 + ",en") == "fr"  # only a header's beginning is read


# -- the catalogs ------------------------------------------------------------------------------------------------


def _entries(language: str) -> dict[tuple[str, str], str]:
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    return {(m.context, m.id): m.string for m in catalog if m.id}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_reason_and_top_level_error_has_its_message_in_both_languages():
    wanted = {("reason", r.value) for r in Reason} | {("error", key) for key in TOP_LEVEL}
    for language in LANGUAGES:
        entries = _entries(language)
        keys = {key for key in entries if key[0] in ("reason", "error")}
        assert keys == wanted, (language, keys ^ wanted)
        assert all(entries[key].strip() for key in wanted), language
    french, english = _entries("fr"), _entries("en")
    for key in wanted:
        # French may leave out what only English has (zxcvbn's advice, CAS's detail): never the other way round.
        assert _placeholders(french[key]) <= _placeholders(english[key]), key
        assert french[key] != english[key] or key[1] in ("ROSTER_FILE_INVALID", "FRAMEWORK_FILE_INVALID"), key


def test_every_term_and_label_the_code_names_is_translated():
    """The words passed as `what` or `label` (kinds of rows, field labels) and every Term(...) literal."""
    positions = {
        "fetch_in_reach": 6,
        "fetch_many_in_reach": 6,
        "not_found": 1,
        "required_text": 2,
        "optional_text": 2,
        "retired_problem": 1,
        "check_in_framework": 3,
        "check_not_retired": 2,
        "Term": 0,
    }
    found = set()
    for folder in ("graph", "resolvers"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                if name in positions and len(node.args) > positions[name]:
                    argument = node.args[positions[name]]
                    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                        found.add(argument.value)
    assert {"learner", "The name", "The link", "competence", "an apprentice"} <= found  # the walk finds them
    french = _entries("fr")
    missing = {word for word in found if not french.get(("term", word))}
    assert not missing


def test_no_compiled_catalog_is_needed():
    """The .po are compiled when first read: nothing to build after `pip install -e .`, no .mo to go stale."""
    assert not list((ROOT / "graph" / "locale").rglob("*.mo"))
    assert template("reason", "PERIOD_LOCKED", "fr").startswith("La période est verrouillée")
    assert template("reason", "PERIOD_LOCKED", "en").startswith("The period is locked")


def test_every_reason_has_a_family_a_field_and_a_description():
    assert set(REASONS) == set(Reason)
    assert {spec.code for spec in REASONS.values()} == set(ErrorCode)  # every family is used
    for reason, spec in REASONS.items():
        assert spec.field and spec.description.endswith("."), reason


# -- the documentation -------------------------------------------------------------------------------------------


def test_the_table_in_the_docs_is_up_to_date():
    document = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert START in document and END in document
    assert updated(document) == document, "run: pfmp error-reasons --update docs/errors.md"


def _rows(table: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `([A-Z_]+)` \|.*$", table, re.MULTILINE)}


def test_each_reason_appears_in_the_generated_table():
    payload, top_level = markdown().split("### Top-level errors", 1)
    rows = _rows(payload)
    assert len(rows) == len(Reason)
    for reason, spec in REASONS.items():
        row = rows[reason.value]
        assert f"| {spec.code.value} |" in row
        for language in LANGUAGES:
            assert cell(template("reason", reason.value, language)) in row
    rows = _rows(top_level)
    for key, code in TOP_LEVEL.items():
        assert f"| `{key}` | {code} |" in rows[key]
        for language in LANGUAGES:
            assert cell(template("error", key, language)) in rows[key]
    assert "&lt;token&gt;" in top_level and "<token>" not in top_level  # shown, not read as an HTML tag


def test_the_schema_describes_every_reason():
    enum = schema.as_str().split("enum UserErrorReason {", 1)[1].split("}", 1)[0]
    for reason, spec in REASONS.items():
        assert re.search(rf"\n  {reason.value}\n", enum), reason
        assert spec.description[:40] in " ".join(enum.split()), reason
    assert "FORBIDDEN" not in schema.as_str().split("enum UserErrorCode {", 1)[1].split("}", 1)[0]


# -- reasons through the API, across the domains -----------------------------------------------------------------

ERRORS = "errors { field code reason }"


async def _errors(api, query: str, field: str, **variables) -> list[tuple]:
    data = await api.data(query, **variables)
    return [(e["field"], e["code"], e["reason"]) for e in data[field]["errors"]]


async def test_reasons_of_the_periods(teacher):
    level = encode_id("Level", (await Level.get(name="Première année de CAP")).id)
    period = await teacher.data(
        f"""mutation($l: ID!) {{ periodCreate(input: {{levelId: $l, name: "P", startDate: "2026-09-01",
        endDate: "2026-09-05"}}) {{ period {{ id version }} {ERRORS} }} }}""",
        l=level,
    )
    created = period["periodCreate"]["period"]
    update = f"""mutation($id: ID!, $v: Int!) {{ periodUpdate(input: {{id: $id, version: $v, name: "Q"}})
      {{ {ERRORS} }} }}"""
    assert await _errors(teacher, update, "periodUpdate", id=created["id"], v=created["version"] + 5) == [
        (["input", "version"], "CONFLICT", "VERSION_STALE")
    ]
    delete = f"mutation($id: ID!) {{ periodDelete(input: {{id: $id}}) {{ {ERRORS} }} }}"
    assert await _errors(teacher, delete, "periodDelete", id=encode_id("Period", 2_000_000)) == [
        (["input", "id"], "NOT_FOUND", "ID_NOT_FOUND")
    ]
    assert await _errors(teacher, delete, "periodDelete", id="not an id") == [
        (["input", "id"], "INVALID", "ID_MALFORMED")
    ]
    assert await _errors(teacher, delete, "periodDelete", id=level) == [(["input", "id"], "INVALID", "ID_WRONG_TYPE")]


async def test_reasons_of_the_accounts(admin, teacher):
    level = f"""mutation($n: String!) {{ levelCreate(input: {{name: $n}}) {{ {ERRORS} }} }}"""
    assert await _errors(admin, level, "levelCreate", n="Première année de CAP") == [
        (["input", "name"], "UNIQUE", "LEVEL_NAME_TAKEN")
    ]
    assert await _errors(admin, level, "levelCreate", n="  ") == [(["input", "name"], "REQUIRED", "VALUE_REQUIRED")]
    create = f"""mutation($e: String!) {{ teacherCreate(input: {{email: $e, firstName: "A", lastName: "B"}})
      {{ {ERRORS} }} }}"""
    [(field, code, reason)] = await _errors(admin, create, "teacherCreate", e="not-an-email")
    assert (field[-1], code, reason) == ("email", "INVALID", "EMAIL_INVALID")
    [(field, code, reason)] = await _errors(admin, create, "teacherCreate", e=DEMO_EMAIL[Role.LEARNER])
    assert (field[-1], code, reason) == ("email", "UNIQUE", "EMAIL_TAKEN")
    change = f"""mutation($c: String!, $n: String!) {{ passwordChange(input: {{currentPassword: $c, newPassword: $n}})
      {{ {ERRORS} }} }}"""
    assert await _errors(teacher, change, "passwordChange", c="wrong", n="x") == [
        (["input", "currentPassword"], "INVALID", "PASSWORD_WRONG")
    ]
    assert await _errors(teacher, change, "passwordChange", c=DEMO_PASSWORD, n="short") == [
        (["input", "newPassword"], "INVALID", "PASSWORD_TOO_SHORT")
    ]


async def test_reasons_of_sign_in(anonymous, admin):
    login = f"""mutation($e: String!, $p: String!) {{ login(input: {{email: $e, password: $p}}) {{ {ERRORS} }} }}"""
    assert await _errors(anonymous, login, "login", e="nobody@demo.pfmp.test", p="x") == [
        (None, "INVALID", "CREDENTIALS_WRONG")
    ]
    cas = f"""mutation {{ casLogin(input: {{ticket: "ST-1"}}) {{ {ERRORS} }} }}"""
    assert await _errors(anonymous, cas, "casLogin") == [(None, "INVALID", "CAS_NOT_CONFIGURED")]
    user = encode_id("Teacher", (await User.get(email=DEMO_EMAIL[Role.TEACHER])).id)
    link = f"""mutation($u: ID!) {{ userExternalIdentitySet(input: {{userId: $u, provider: "nowhere", subject: "s"}})
      {{ {ERRORS} }} }}"""
    assert await _errors(admin, link, "userExternalIdentitySet", u=user) == [
        (["input", "provider"], "INVALID", "IDENTITY_PROVIDER_UNKNOWN")
    ]


async def test_reasons_of_the_fiches_and_the_frameworks(learner, admin):
    fiche = await ActivityFiche.filter(learner__email=DEMO_EMAIL[Role.LEARNER], deleted_at=None).first()
    assert fiche is not None
    add = f"""mutation($f: ID!, $u: String!) {{ annexAddUrl(input: {{ficheId: $f, url: $u}}) {{ {ERRORS} }} }}"""
    fiche_id = encode_id("ActivityFiche", fiche.id)
    assert await _errors(learner, add, "annexAddUrl", f=fiche_id, u="ftp://example.org/x") == [
        (["input", "url"], "INVALID", "LINK_SCHEME_REFUSED")
    ]
    assert await _errors(learner, add, "annexAddUrl", f=fiche_id, u="https://a b.org") == [
        (["input", "url"], "INVALID", "LINK_HAS_SPACES")
    ]
    framework = f"""mutation {{ frameworkImport(input: {{content: "{{}}"}}) {{ {ERRORS} }} }}"""
    found = await _errors(admin, framework, "frameworkImport")
    assert found and all(problem == (["input", "content"], "INVALID", "FRAMEWORK_FILE_INVALID") for problem in found)


async def test_reasons_of_the_bilans(teacher):
    bilan = await CompanyBilan.filter(status="DRAFT").first()
    assert bilan is not None
    update = f"""mutation($id: ID!, $v: Int!) {{ bilanUpdate(input: {{id: $id, version: $v, engagement: 7}})
      {{ {ERRORS} }} }}"""
    assert await _errors(teacher, update, "bilanUpdate", id=encode_id("CompanyBilan", bilan.id), v=bilan.version) == [
        (["input", "engagement"], "INVALID", "ENGAGEMENT_OUT_OF_RANGE")
    ]
    learner = encode_id("Learner", (await User.get(email=DEMO_EMAIL[Role.LEARNER])).id)
    review = (
        f"""mutation($l: ID!, $d: Date!) {{ interimReviewCreate(input: {{learnerId: $l, date: $d}}) {{ {ERRORS} }} }}"""
    )
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    assert await _errors(teacher, review, "interimReviewCreate", l=learner, d=tomorrow) == [
        (["input", "date"], "INVALID", "REVIEW_DATE_IN_FUTURE")
    ]


# -- the HTTP routes around GraphQL ------------------------------------------------------------------------------


async def test_the_download_routes_refuse_in_the_language_asked_for(http, teacher):
    anonymous = await http.get("/exports/meeting-sheet/nope")
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "code": "UNAUTHENTICATED",
        "message": "Connectez-vous d'abord : envoyez un jeton d'accès en « Authorization: Bearer <jeton> ».",
    }
    headers = {**teacher.headers, "Accept-Language": "en-GB,en;q=0.9"}
    missing = await http.get(f"/exports/meeting-sheet/{encode_id('Portfolio', 2_000_000)}", headers=headers)
    assert missing.status_code == 404
    assert missing.json() == {"code": "NOT_FOUND", "message": "No such document, or it is out of your reach."}
    annex = await http.get(f"/annexes/{encode_id('Annex', 2_000_000)}", headers=teacher.headers)
    assert annex.status_code == 404
    assert annex.json() == {"error": "Aucun fichier d'annexe ne porte cet identifiant."}


async def test_a_file_upload_is_refused_unread_in_the_language_asked_for(http):
    body = {"operations": "{}", "map": "{}"}
    french = await http.post("/graphql", files={"0": ("a.txt", b"x")}, data=body)
    english = await http.post("/graphql", files={"0": ("a.txt", b"x")}, data=body, headers={"Accept-Language": "en"})
    assert french.status_code == english.status_code == 401
    assert french.json()["errors"][0]["message"] == (
        "Connectez-vous d'abord : un envoi de fichier demande « Authorization: Bearer <jeton> »."
    )
    assert english.json()["errors"][0]["message"] == (
        "Sign in first: a file upload needs 'Authorization: Bearer <token>'."
    )
