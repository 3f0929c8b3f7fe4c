"""Who gets which export over HTTP (access.md, Export rows): every route, every role, allowed and refused.

Each route is asked for a row of DUPIRE's and one of HÔT's (the master follows
only HÔT, the tutor only DUPIRE, the demo learner is DUPIRE). A refusal is
401 without a valid token, 404 for a row out of reach (the same body as an
unknown or malformed id), 403 for a row reached without the grant.
"""

import datetime as dt

import pytest

from graph.types.common import encode_id
from models.bilans import CompanyBilan
from models.periods import Period
from models.schools import Level, School
from models.users import Role
from tests.exports.delivery import (
    complete,
    docx_of,
    fetch,
    learner_id,
    level_id,
    outcome,
    period_id,
    portfolio_id,
    portfolio_of,
    refusal,
)

# The one answer for a document that does not exist and one out of reach (in French: no Accept-Language).
NOT_FOUND = {"code": "NOT_FOUND", "message": "Ce document n'existe pas, ou n'est pas à votre portée."}

A, T, L, TU, M = Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER

# route -> role -> (status for DUPIRE's row, status for HÔT's row)
BY_LEARNER = {
    "meeting-sheet": {A: (200, 200), T: (200, 200), L: (403, 404), TU: (200, 404), M: (404, 200)},
    "pre-convention/portfolio": {A: (200, 200), T: (200, 200), L: (200, 404), TU: (200, 404), M: (404, 200)},
    "learner-synthesis": {A: (200, 200), T: (200, 200), L: (200, 404), TU: (403, 404), M: (404, 403)},
}


async def _row(route: str, last_name: str) -> str:
    if route == "learner-synthesis":
        return await learner_id(last_name)
    return await portfolio_id(last_name)


@pytest.mark.parametrize("route", list(BY_LEARNER))
@pytest.mark.parametrize("role", [A, T, L, TU, M], ids=lambda r: r.value)
async def test_each_role_gets_exactly_the_exports_of_its_rows(route, role, clients):
    api = clients[role]
    for last_name, expected in zip(("DUPIRE", "HÔT"), BY_LEARNER[route][role]):
        response = await fetch(api, f"/exports/{route}/{await _row(route, last_name)}")
        assert outcome(response) == expected, (last_name, response.text)
        if expected == 200:
            _, text = docx_of(response)
            other = "HÔT" if last_name == "DUPIRE" else "DUPIRE"
            assert last_name in text and other not in text
        elif expected == 403:
            assert refusal(response) == (403, "FORBIDDEN")
        else:
            assert response.json() == NOT_FOUND


# The bilan as a document, by bilan id: once completed "Export · completed bilan document" (R R R own R assigned
# R assigned); while a draft, "CompanyBilan · read while draft" (R R — R assigned R assigned).
# state -> role -> (status for DUPIRE's bilan, status for HÔT's bilan)
BILAN = {
    "completed": {A: (200, 200), T: (200, 200), L: (200, 404), TU: (200, 404), M: (404, 200)},
    "draft": {A: (200, 200), T: (200, 200), L: (403, 404), TU: (200, 404), M: (404, 200)},
}


@pytest.mark.parametrize("state", list(BILAN))
@pytest.mark.parametrize("role", [A, T, L, TU, M], ids=lambda r: r.value)
async def test_the_bilan_document_follows_the_bilan_read_rules(state, role, clients):
    bilans = {name: await CompanyBilan.get(portfolio=await portfolio_of(name)) for name in ("DUPIRE", "HÔT")}
    if state == "completed":
        await complete([bilan.id for bilan in bilans.values()])
    api = clients[role]
    for (last_name, bilan), expected in zip(bilans.items(), BILAN[state][role]):
        response = await fetch(api, f"/exports/bilan/{encode_id('CompanyBilan', bilan.id)}")
        assert outcome(response) == expected, (last_name, response.text)
        if expected == 200:
            _, text = docx_of(response)
            assert last_name in text
            first_line = text.split("\n", 1)[0]
            assert first_line == (
                "Bilan entreprise" if state == "completed" else "Préparer la rencontre — bilan en brouillon"
            )
            assert "Bilan-entreprise_" in response.headers["content-disposition"]
        elif expected == 403:
            assert refusal(response) == (403, "FORBIDDEN")
        else:
            assert response.json() == NOT_FOUND


# role -> sections of the period's pre-conventions: staff get every learner, the others their own portfolios
PERIOD_SECTIONS = {
    A: ["CARLIER", "DUPIRE", "FABROWSKI", "HÔT", "LECAM"],
    T: ["CARLIER", "DUPIRE", "FABROWSKI", "HÔT", "LECAM"],
    L: ["DUPIRE"],
    TU: ["DUPIRE"],
    M: ["HÔT"],
}
FULL_NAMES = {
    "CARLIER": "Matis CARLIER",
    "DUPIRE": "Angélique DUPIRE",
    "FABROWSKI": "Marine FABROWSKI",
    "HÔT": "Lydie HÔT",
    "LECAM": "Jean LECAM",
}


@pytest.mark.parametrize("role", [A, T, L, TU, M], ids=lambda r: r.value)
async def test_the_pre_conventions_of_a_period_hold_the_portfolios_the_role_reaches(role, clients):
    response = await fetch(clients[role], f"/exports/pre-convention/period/{await period_id()}")
    document, text = docx_of(response)
    expected = PERIOD_SECTIONS[role]
    assert len(document.sections) == len(expected)
    for name in ["CARLIER", "DUPIRE", "FABROWSKI", "HÔT", "LECAM"]:
        assert (name in text) is (name in expected), name
    positions = [text.index(f"Stage de découverte — {FULL_NAMES[name]}") for name in expected]
    assert positions == sorted(positions)


async def test_a_period_without_a_portfolio_of_theirs_is_out_of_reach_for_learners_and_trainers(clients):
    # given a period of the same level where none of the signed-in learner's or trainers' learners are
    first = await Period.get(name="Stage de découverte")
    other = await Period.create(
        school_id=first.school_id,
        level_id=first.level_id,
        name="PFMP 2",
        start_date=dt.date(2027, 3, 1),
        end_date=dt.date(2027, 3, 26),
        school_year=first.school_year,
    )
    path = f"/exports/pre-convention/period/{encode_id('Period', other.id)}"
    # then staff get a document saying it is empty, the others a 404
    for role in (A, T):
        _, text = docx_of(await fetch(clients[role], path))
        assert "Aucun apprenant n'est affecté à cette période." in text
    for role in (L, TU, M):
        assert refusal(await fetch(clients[role], path)) == (404, "NOT_FOUND")


async def test_the_level_synthesis_is_for_staff_of_that_level(clients):
    # given the demo's two levels: the teacher teaches classrooms of the first only
    first, second = await level_id("Première année de CAP"), await level_id("Deuxième année de CAP")
    expected = {A: (200, 200), T: (200, 404), L: (403, 404), TU: (403, 404), M: (403, 404)}
    for role, statuses in expected.items():
        for level, status in zip((first, second), statuses):
            response = await fetch(clients[role], f"/exports/level-synthesis/{level}")
            assert outcome(response) == status, (role, level)
    _, text = docx_of(await fetch(clients[A], f"/exports/level-synthesis/{second}"))
    assert "Aucun apprenant n'est inscrit dans ce niveau." in text


async def test_another_schools_rows_are_out_of_reach_even_for_its_admin(admin):
    school = await School.create(uai="0590001A", name="Autre lycée")
    level = await Level.create(school=school, name="Première année de CAP")
    period = await Period.create(
        school=school,
        level=level,
        name="Stage",
        start_date=dt.date(2026, 11, 16),
        end_date=dt.date(2026, 11, 27),
        school_year=2026,
    )
    for path in (
        f"/exports/level-synthesis/{encode_id('Level', level.id)}",
        f"/exports/pre-convention/period/{encode_id('Period', period.id)}",
    ):
        response = await fetch(admin, path)
        assert refusal(response) == (404, "NOT_FOUND") and response.json() == NOT_FOUND


@pytest.mark.parametrize(
    "route",
    [
        "meeting-sheet",
        "bilan",
        "pre-convention/portfolio",
        "pre-convention/period",
        "learner-synthesis",
        "level-synthesis",
    ],
)
async def test_without_a_valid_token_every_export_answers_401(route, anonymous, http):
    path = f"/exports/{route}/{await period_id() if route.endswith('period') else await portfolio_id('DUPIRE')}"
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic YWRtaW46eA=="}):
        response = await http.get(path, headers=headers)
        assert refusal(response) == (401, "UNAUTHENTICATED")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_malformed_and_mistyped_ids_answer_the_same_404(teacher):
    # given ids that name nothing a teacher may export: unknown, malformed, or of another type
    ids = [
        encode_id("Portfolio", 999999),
        "not-an-id",
        "UG9ydGZvbGlvOmFiYw==",
        encode_id("Learner", 1),
        await learner_id("DUPIRE"),
        "%20",
    ]
    for value in ids:
        response = await fetch(teacher, f"/exports/meeting-sheet/{value}")
        # then the answer is the same whatever the cause
        assert response.status_code == 404, value
        assert response.json() == NOT_FOUND


async def test_the_download_is_named_for_its_contents(teacher):
    expected = {
        f"/exports/meeting-sheet/{await portfolio_id('DUPIRE')}": (
            "Preparer-la-rencontre_DUPIRE_Stage-de-decouverte.docx",
            "Pr%C3%A9parer-la-rencontre_DUPIRE_Stage-de-d%C3%A9couverte.docx",
        ),
        f"/exports/pre-convention/portfolio/{await portfolio_id('HÔT')}": (
            "Pre-convention_HOT_Stage-de-decouverte.docx",
            "Pr%C3%A9-convention_H%C3%94T_Stage-de-d%C3%A9couverte.docx",
        ),
        f"/exports/pre-convention/period/{await period_id()}": (
            "Pre-conventions_Stage-de-decouverte.docx",
            "Pr%C3%A9-conventions_Stage-de-d%C3%A9couverte.docx",
        ),
        f"/exports/learner-synthesis/{await learner_id('DUPIRE')}": (
            "Synthese_DUPIRE_Angelique.docx",
            "Synth%C3%A8se_DUPIRE_Ang%C3%A9lique.docx",
        ),
        f"/exports/level-synthesis/{await level_id()}": (
            "Synthese-niveau_Premiere-annee-de-CAP.docx",
            "Synth%C3%A8se-niveau_Premi%C3%A8re-ann%C3%A9e-de-CAP.docx",
        ),
    }
    for path, (ascii_name, utf8_name) in expected.items():
        response = await fetch(teacher, path)
        docx_of(response)
        assert response.headers["content-disposition"] == (
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{utf8_name}"
        )
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_only_get_is_answered(teacher):
    response = await teacher.http.post(
        f"/exports/meeting-sheet/{await portfolio_id('DUPIRE')}", headers=teacher.headers
    )
    assert response.status_code == 405
