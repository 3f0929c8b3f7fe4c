"""The PFMP allowance statement over HTTP (issue 14, part 5).

The expected figures come from the law as domain.md states it: school-status learners (apprentices excluded) get a
flat amount per day of PFMP actually done, by diploma year: CAP 1st year 10 €, CAP 2nd year 15 €, CAP in one year
15 €, Bac Pro seconde 10 €, première 15 €, terminale 20 €; the period's end date picks the rate in force. The
demo period « Stage de découverte » (16 to 27 November) holds four school-status learners of the CAP 1st year
level and one apprentice (HÔT).
"""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from graph.types.common import encode_id
from models.fiches import ActivityFiche, FicheTask
from models.frameworks import Task
from models.periods import Period
from models.schools import Classroom
from models.users import Role, User
from resolvers.periods.portfolio_rules import open_portfolio
from tests.conftest import Api, token_for
from tests.exports.delivery import docx_of, fetch, period_id, portfolio_id, refusal
from tests.exports.reading import table_rows

# domain.md, « Periods as the law sees them »: cents per day
RATES = {
    "CAP_1": 1000,
    "CAP_2": 1500,
    "CAP_ONE_YEAR": 1500,
    "BAC_PRO_SECONDE": 1000,
    "BAC_PRO_PREMIERE": 1500,
    "BAC_PRO_TERMINALE": 2000,
}
# days done recorded per school-status learner of the demo period
DAYS = {"CARLIER": "10", "DUPIRE": "8", "FABROWSKI": "0.5", "LECAM": "9.5"}

STATEMENT = """query($id: ID!) { node(id: $id) { ... on Period { allowanceStatement {
    diplomaYear dailyRateCents dailyRate rateValidFrom totalCents total apprenticeCount problem problemMessage
    validated validatedAt validatedBy documentUrl csvUrl
    lines { lastName firstName nationalId daysDone amountCents amount portfolioId learnerId }
    missing { lastName portfolioId } } } } }"""
ALLOWANCE = """query($id: ID!) { node(id: $id) { ... on Portfolio {
    allowance { daysDone dailyRateCents amountCents amount validated } } } }"""
SET_DAYS = (
    "mutation($id: ID!, $d: Decimal) { portfolioDaysDoneSet(input: {id: $id, daysDone: $d}) { errors { code } } }"
)
VALIDATE = """mutation($id: ID!) { allowanceStatementValidate(input: {periodId: $id}) {
    errors { field code reason message } statement { validated totalCents validatedBy lines { lastName amountCents } } } }"""
ADD_RATE = """mutation($y: DiplomaYear!, $f: Date!, $c: Int!) {
    allowanceRateAdd(input: {diplomaYear: $y, validFrom: $f, dailyRateCents: $c}) {
        errors { field code reason } rate { diplomaYear validFrom dailyRateCents dailyRate national } } }"""
SET_YEAR = """mutation($id: ID!, $y: DiplomaYear) { levelUpdate(input: {id: $id, diplomaYear: $y}) {
    errors { code } } }"""


async def _period():
    return await Period.get(name="Stage de découverte").prefetch_related("level")


async def _record_days(api, days: dict[str, str]) -> None:
    for last_name, value in days.items():
        body = await api.data(SET_DAYS, id=await portfolio_id(last_name), d=value)
        assert body["portfolioDaysDoneSet"]["errors"] == []


async def _statement(api) -> dict:
    return (await api.data(STATEMENT, id=await period_id()))["node"]["allowanceStatement"]


async def _set_diploma_year(admin, year: str | None) -> None:
    period = await _period()
    body = await admin.data(SET_YEAR, id=encode_id("Level", period.level_id), y=year)
    assert body["levelUpdate"]["errors"] == []


def _cents(days: str, rate: int) -> int:
    return int(Decimal(days) * rate)


@pytest.mark.parametrize("year", sorted(RATES))
async def test_each_learner_gets_days_done_times_the_rate_of_the_levels_diploma_year(year, admin, teacher):
    # given the level prepares `year` and the teacher recorded every school-status learner's days
    await _set_diploma_year(admin, year)
    await _record_days(teacher, DAYS)
    # when the admin reads the period's statement
    statement = await _statement(admin)
    # then each learner's amount is their days × the year's rate, to the cent, and the total their sum
    rate = RATES[year]
    assert statement["diplomaYear"] == year and statement["dailyRateCents"] == rate
    assert statement["dailyRate"] == f"{rate // 100}.00"
    assert statement["rateValidFrom"] == "2023-09-01"
    amounts = {line["lastName"]: line["amountCents"] for line in statement["lines"]}
    assert amounts == {name: _cents(days, rate) for name, days in DAYS.items()}
    assert statement["totalCents"] == sum(_cents(days, rate) for days in DAYS.values())
    assert Decimal(statement["total"]) * 100 == statement["totalCents"]
    assert [line["amount"] for line in statement["lines"] if line["lastName"] == "FABROWSKI"] == [
        f"{Decimal(rate) / 200:.2f}"
    ]
    assert statement["missing"] == [] and statement["problem"] is None and statement["validated"] is False


async def test_the_rate_in_force_on_the_periods_last_day_applies(admin, teacher):
    # given every day recorded, the level in CAP 1st year (10 € a day since 1 September 2023)
    await _record_days(teacher, DAYS)
    period = await _period()
    # when the admin adds a CAP 1st year rate of 12.34 € from the day after the period's last day
    added = await admin.data(ADD_RATE, y="CAP_1", f=(period.end_date + dt.timedelta(days=1)).isoformat(), c=1234)
    assert added["allowanceRateAdd"] == {
        "errors": [],
        "rate": {
            "diplomaYear": "CAP_1",
            "validFrom": (period.end_date + dt.timedelta(days=1)).isoformat(),
            "dailyRateCents": 1234,
            "dailyRate": "12.34",
            "national": False,
        },
    }
    # then the period still takes 10 €
    assert (await _statement(admin))["dailyRateCents"] == 1000
    # when another rate of 11 € applies from the period's last day itself
    await admin.data(ADD_RATE, y="CAP_1", f=period.end_date.isoformat(), c=1100)
    statement = await _statement(admin)
    # then that one is in force on the last day, and the amounts follow it (9.5 days × 11 € = 104.50 €)
    assert statement["dailyRateCents"] == 1100 and statement["rateValidFrom"] == period.end_date.isoformat()
    assert {line["lastName"]: line["amountCents"] for line in statement["lines"]}["LECAM"] == 10450
    # and the rates keep their history: the national one and the two added, oldest first
    rates = (await admin.data("{ allowanceRates(diplomaYear: CAP_1) { validFrom dailyRateCents national } }"))[
        "allowanceRates"
    ]
    assert rates == [
        {"validFrom": "2023-09-01", "dailyRateCents": 1000, "national": True},
        {"validFrom": period.end_date.isoformat(), "dailyRateCents": 1100, "national": False},
        {"validFrom": (period.end_date + dt.timedelta(days=1)).isoformat(), "dailyRateCents": 1234, "national": False},
    ]


async def test_a_bad_rate_is_refused_naming_the_field(admin):
    for cents, field in ((0, "dailyRateCents"), (-5, "dailyRateCents"), (100_001, "dailyRateCents")):
        body = await admin.data(ADD_RATE, y="CAP_2", f="2026-09-01", c=cents)
        assert body["allowanceRateAdd"]["errors"] == [
            {"field": ["input", field], "code": "INVALID", "reason": "ALLOWANCE_RATE_OUT_OF_RANGE"}
        ]
    body = await admin.data(ADD_RATE, y="CAP_2", f="2023-08-31", c=1500)
    assert body["allowanceRateAdd"]["errors"] == [
        {"field": ["input", "validFrom"], "code": "INVALID", "reason": "ALLOWANCE_RATE_TOO_EARLY"}
    ]


async def test_apprentices_are_not_in_the_statement(admin, teacher):
    # given the apprentice HÔT's days are recorded too
    await _record_days(teacher, {**DAYS, "HÔT": "10"})
    # when the admin reads the statement
    statement = await _statement(admin)
    # then she is counted as an apprentice, not listed, and her portfolio has no allowance
    assert sorted(line["lastName"] for line in statement["lines"]) == sorted(DAYS)
    assert statement["apprenticeCount"] == 1
    assert (await admin.data(ALLOWANCE, id=await portfolio_id("HÔT")))["node"]["allowance"] is None
    assert statement["totalCents"] == sum(_cents(days, 1000) for days in DAYS.values())


async def test_learners_whose_days_are_not_recorded_are_listed_and_block_the_validation(admin, teacher):
    # given only CARLIER's and DUPIRE's days recorded
    await _record_days(teacher, {"CARLIER": "10", "DUPIRE": "8"})
    # when the admin reads the statement
    statement = await _statement(admin)
    # then FABROWSKI and LECAM are missing, without an amount, and the total counts the others
    assert [line["lastName"] for line in statement["missing"]] == ["FABROWSKI", "LECAM"]
    assert {line["lastName"]: line["amountCents"] for line in statement["lines"]} == {
        "CARLIER": 10000,
        "DUPIRE": 8000,
        "FABROWSKI": None,
        "LECAM": None,
    }
    assert statement["totalCents"] == 18000
    # when the admin validates it
    body = await admin.data(VALIDATE, id=await period_id())
    # then it is refused, one REQUIRED error naming each missing learner's portfolio, and nothing is frozen
    errors = body["allowanceStatementValidate"]["errors"]
    assert [(e["field"], e["code"], e["reason"]) for e in errors] == [
        (["input", "periodId"], "REQUIRED", "DAYS_DONE_NOT_RECORDED"),
        (["input", "periodId"], "REQUIRED", "DAYS_DONE_NOT_RECORDED"),
    ]
    assert "FABROWSKI" in errors[0]["message"] and "LECAM" in errors[1]["message"]
    assert (await _statement(admin))["validated"] is False


async def test_a_level_without_a_diploma_year_makes_the_statement_not_computable(admin, teacher):
    # given every day recorded, but the level's diploma year cleared
    await _record_days(teacher, DAYS)
    await _set_diploma_year(admin, None)
    # when the admin reads the statement
    statement = await _statement(admin)
    # then it says why, with no rate and no amount
    assert statement["problem"] == "NO_DIPLOMA_YEAR" and "année du diplôme" in statement["problemMessage"]
    assert statement["dailyRateCents"] is None and statement["totalCents"] == 0
    assert {line["amountCents"] for line in statement["lines"]} == {None}
    # and validating it is refused as INVALID on the period
    body = await admin.data(VALIDATE, id=await period_id())
    assert [(e["field"], e["code"], e["reason"]) for e in body["allowanceStatementValidate"]["errors"]] == [
        (["input", "periodId"], "INVALID", "LEVEL_WITHOUT_DIPLOMA_YEAR")
    ]
    # the DOCX says so too, and is still a valid document
    document, text = docx_of(await fetch(admin, f"/exports/allowance-statement/{await period_id()}"))
    assert "Montants non calculables" in text
    assert table_rows(document.tables[1])[-1] == ["Total", "28", "—"]


async def test_validation_freezes_the_statement_and_twice_is_a_conflict(admin, teacher, learner):
    # given every day recorded, the school's own CAP 1st year rate of 11 € from 1 September 2024, and the
    # statement validated by the admin
    await _record_days(teacher, DAYS)
    assert (await admin.data(ADD_RATE, y="CAP_1", f="2024-09-01", c=1100))["allowanceRateAdd"]["errors"] == []
    body = await admin.data(VALIDATE, id=await period_id())
    validated = body["allowanceStatementValidate"]
    assert validated["errors"] == []
    assert validated["statement"]["validated"] is True and validated["statement"]["totalCents"] == 30800
    assert validated["statement"]["validatedBy"] == (await User.get(email=admin.user.email)).full_name
    before = await _statement(admin)
    own_before = (await learner.data(ALLOWANCE, id=await portfolio_id("DUPIRE")))["node"]["allowance"]
    # when the teacher changes DUPIRE's days afterwards, and a new rate applies from 1 September 2025
    await _record_days(teacher, {"DUPIRE": "2"})
    assert (await admin.data(ADD_RATE, y="CAP_1", f="2025-09-01", c=9999))["allowanceRateAdd"]["errors"] == []
    # then the statement and DUPIRE's amount are as validated
    after = await _statement(admin)
    assert after == before and after["validated"] is True and after["validatedAt"] is not None
    assert after["dailyRateCents"] == 1100 and after["totalCents"] == 30800
    assert {line["lastName"]: line["daysDone"] for line in after["lines"]}["DUPIRE"] == "8.0"
    own_after = (await learner.data(ALLOWANCE, id=await portfolio_id("DUPIRE")))["node"]["allowance"]
    assert (
        own_after
        == own_before
        == {
            "daysDone": "8.0",
            "dailyRateCents": 1100,
            "amountCents": 8800,
            "amount": "88.00",
            "validated": True,
        }
    )
    # and the decision prints the frozen figures
    document, text = docx_of(await fetch(admin, f"/exports/allowance-statement/{await period_id()}"))
    assert "BROUILLON" not in text and "Validé le" in text
    rows = table_rows(document.tables[1])
    assert ["DUPIRE", "Angélique", "", "8", "88,00\u00a0€"] in rows
    assert rows[-1] == ["Total", "28", "308,00\u00a0€"]
    # when the admin validates it again
    again = await admin.data(VALIDATE, id=await period_id())
    # then it is a CONFLICT on the period
    assert [(e["field"], e["code"], e["reason"]) for e in again["allowanceStatementValidate"]["errors"]] == [
        (["input", "periodId"], "CONFLICT", "ALLOWANCE_STATEMENT_VALIDATED")
    ]
    # and the rate it used cannot be changed in place any more
    used = await admin.data(ADD_RATE, y="CAP_1", f="2024-09-01", c=1200)
    assert used["allowanceRateAdd"]["errors"] == [
        {"field": ["input", "validFrom"], "code": "CONFLICT", "reason": "ALLOWANCE_RATE_USED"}
    ]


FRENCH_MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()


async def test_the_refusals_say_who_validated_and_when_in_french_or_in_english(admin, teacher):
    # given the statement validated by the admin today
    await _record_days(teacher, DAYS)
    assert (await admin.data(VALIDATE, id=await period_id()))["allowanceStatementValidate"]["errors"] == []
    name = (await User.get(email=admin.user.email)).full_name
    today = dt.datetime.now(dt.UTC).date()
    # when it is validated again, then the message names the day and who, in the language asked for
    french = (await admin.data(VALIDATE, id=await period_id()))["allowanceStatementValidate"]["errors"]
    day = f"{today.day} {FRENCH_MONTHS[today.month - 1]} {today.year}"
    assert [e["message"] for e in french] == [
        f"La décision d'attribution de cette période a été validée le {day} par {name} : elle ne peut plus changer."
    ]
    english = (await admin.speaking("en").data(VALIDATE, id=await period_id()))["allowanceStatementValidate"]
    assert [e["message"] for e in english["errors"]] == [
        f"The statement of this period was validated on {today.isoformat()} by {name}: it is frozen."
    ]
    # and a rate before the allowance existed names its first day
    early = await admin.speaking("en").data(
        'mutation { allowanceRateAdd(input: {diplomaYear: CAP_2, validFrom: "2023-08-31", dailyRateCents: 1500})'
        " { errors { reason message } } }"
    )
    assert early["allowanceRateAdd"]["errors"] == [
        {
            "reason": "ALLOWANCE_RATE_TOO_EARLY",
            "message": "'validFrom' must not be before 2023-09-01: there was no allowance before.",
        }
    ]


async def test_the_decision_to_sign_reads_back_with_its_rows_and_total(admin, teacher):
    # given every day recorded, DUPIRE with an INE, the statement not validated yet
    await _record_days(teacher, DAYS)
    await User.filter(last_name="DUPIRE").update(national_id="123456789AB")
    # when the admin downloads the decision
    response = await fetch(admin, f"/exports/allowance-statement/{await period_id()}")
    document, text = docx_of(response)
    period = await _period()
    # then it is named for the period, marked as a draft, with the school, period, level, diploma year and rate
    assert "Allocation-PFMP_Stage-de-d%C3%A9couverte.docx" in response.headers["content-disposition"]
    assert "Décision d'attribution de l'allocation de PFMP" in text and "BROUILLON" in text
    facts = dict(table_rows(document.tables[0]))
    assert facts["Établissement"].startswith("Lycée professionnel de démonstration")
    assert facts["Période"] == f"Stage de découverte, du {period.start_date:%d/%m/%Y} au {period.end_date:%d/%m/%Y}"
    assert facts["Diplôme préparé"] == "CAP Électricien — CAP, première année"
    assert facts["Taux journalier"].startswith("10,00\u00a0€ par jour effectué")
    # one row per school-status learner by name, and the total
    assert table_rows(document.tables[1]) == [
        ["Nom", "Prénom", "INE", "Jours effectués", "Montant"],
        ["CARLIER", "Matis", "", "10", "100,00\u00a0€"],
        ["DUPIRE", "Angélique", "123456789AB", "8", "80,00\u00a0€"],
        ["FABROWSKI", "Marine", "", "0,5", "5,00\u00a0€"],
        ["LECAM", "Jean", "", "9,5", "95,00\u00a0€"],
        ["Total", "28", "280,00\u00a0€"],
    ]
    # and the head of school signs it
    assert "Le chef d'établissement, Nathalie LEPROVISEUR" in text
    assert "Apprentis de la période, non concernés par l'allocation : 1." in text


async def test_the_accounting_csv_parses_with_exact_amounts(admin, teacher):
    # given every day recorded
    await _record_days(teacher, DAYS)
    # when the admin downloads the CSV, before and after validating
    for state in ("BROUILLON", "VALIDÉ"):
        if state == "VALIDÉ":
            assert (await admin.data(VALIDATE, id=await period_id()))["allowanceStatementValidate"]["errors"] == []
        response = await fetch(admin, f"/exports/allowance-statement-csv/{await period_id()}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert "Allocation-PFMP_Stage-de-d%C3%A9couverte.csv" in response.headers["content-disposition"]
        # then UTF-8 with a byte order mark, `;`-separated, one row per learner, amounts exact to the cent
        assert response.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
        assert rows[0] == ["Nom", "Prénom", "INE", "Jours effectués", "Taux journalier (€)", "Montant (€)", "Statut"]
        body = rows[1:]
        assert [row[0] for row in body] == ["CARLIER", "DUPIRE", "FABROWSKI", "LECAM"]
        cents = {row[0]: int(Decimal(row[5].replace(",", ".")) * 100) for row in body}
        assert cents == {name: _cents(days, 1000) for name, days in DAYS.items()}
        assert {row[4] for row in body} == {"10,00"} and {row[6] for row in body} == {state}
        assert [row[3] for row in body] == ["10", "8", "0,5", "9,5"]


PORTFOLIOS_WITH_ALLOWANCE = """query($id: ID!) { node(id: $id) { ... on Period {
    portfolios { nodes { learner { lastName } allowance { amountCents } } } } } }"""
STAFF_READ = """query($p: ID!) { node(id: $p) { ... on Period { allowanceStatement { lines { lastName } } } } }"""


async def test_who_reads_and_exports_the_statement(clients):
    # given every day recorded
    await _record_days(clients[Role.ADMIN], DAYS)
    period = await period_id()
    answers = {}
    for role, api in clients.items():
        name = getattr(role, "value", "anonymous")
        body = await api.execute(STAFF_READ, p=period)
        node = (body.get("data") or {}).get("node")
        statement = node and node["allowanceStatement"]
        own = await api.execute(ALLOWANCE, id=await portfolio_id("DUPIRE"))
        own_node = (own.get("data") or {}).get("node")
        answers[name] = (
            None if statement is None else [line["lastName"] for line in statement["lines"]],
            None if not own_node else own_node["allowance"] is not None,
            (await fetch(api, f"/exports/allowance-statement/{period}")).status_code,
            (await fetch(api, f"/exports/allowance-statement-csv/{period}")).status_code,
        )
    # the statement's links, where given, are the routes that answer the role
    links = """query($p: ID!) { node(id: $p) { ... on Period { allowanceStatement { documentUrl csvUrl } } } }"""
    for role in (Role.ADMIN, Role.TEACHER):
        urls = (await clients[role].data(links, p=period))["node"]["allowanceStatement"]
        assert urls == {
            "documentUrl": f"/exports/allowance-statement/{period}",
            "csvUrl": f"/exports/allowance-statement-csv/{period}",
        }
        docx_of(await fetch(clients[role], urls["documentUrl"]))
    assert (await clients[Role.LEARNER].data(links, p=period))["node"]["allowanceStatement"] == {
        "documentUrl": None,
        "csvUrl": None,
    }
    everyone = ["CARLIER", "DUPIRE", "FABROWSKI", "LECAM"]
    # access.md: « Allowance statement · read | R | R | R own (their amount) | — | — »
    assert answers == {
        "ADMIN": (everyone, True, 200, 200),
        "TEACHER": (everyone, True, 200, 200),
        # her own line and amount; the decision and the accounting file name the others
        "LEARNER": (["DUPIRE"], True, 403, 403),
        # the tutor reaches the period and DUPIRE's portfolio, and reads nothing of the allowance
        "TUTOR": (None, False, 403, 403),
        # the master reaches the period through HÔT, not DUPIRE
        "MASTER": (None, None, 403, 403),
        "anonymous": (None, None, 401, 401),
    }


async def test_only_the_admin_adds_rates_and_validates_and_staff_read_the_rates(clients):
    await _record_days(clients[Role.ADMIN], DAYS)
    period = await period_id()
    for role, api in clients.items():
        if role is None:
            continue
        rates = await api.execute("{ allowanceRates { diplomaYear } }")
        added = await api.execute(ADD_RATE, y="CAP_2", f="2030-09-01", c=1600)
        validated = await api.execute(VALIDATE, id=period)
        if role.value == "ADMIN":
            assert len(rates["data"]["allowanceRates"]) == 6
            assert added["data"]["allowanceRateAdd"]["errors"] == []
            assert validated["data"]["allowanceStatementValidate"]["errors"] == []
            continue
        if role.value == "TEACHER":
            # the six national rates and the one the admin added
            assert len(rates["data"]["allowanceRates"]) == 7
        else:
            assert rates["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert added["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert validated["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_period_out_of_reach_is_not_found(admin, teacher):
    # an unknown period, and a period id of another type
    for value in (encode_id("Period", 999999), await portfolio_id("DUPIRE")):
        for route in ("allowance-statement", "allowance-statement-csv"):
            assert refusal(await fetch(teacher, f"/exports/{route}/{value}")) == (404, "NOT_FOUND")
    body = await admin.data(VALIDATE, id=encode_id("Period", 999999))
    assert [e["code"] for e in body["allowanceStatementValidate"]["errors"]] == ["NOT_FOUND"]


async def test_the_statements_do_not_grow_with_the_learners(admin, sql_counter):
    # given the demo period of 5 learners, 4 of them with their days: count what the statement and its exports cost
    await _record_days(admin, DAYS)
    period = await period_id()

    async def costs() -> tuple[int, ...]:
        counted = []
        for query in (STATEMENT, PORTFOLIOS_WITH_ALLOWANCE):
            sql_counter.reset()
            await admin.data(query, id=period)
            counted.append(sql_counter.count)
        for route in ("allowance-statement", "allowance-statement-csv"):
            sql_counter.reset()
            assert (await fetch(admin, f"/exports/{route}/{period}")).status_code == 200
            counted.append(sql_counter.count)
        return tuple(counted)

    five = await costs()
    # when 10 more school-status learners with their days join the period
    row = await Period.get(name="Stage de découverte")
    dupire = await User.get(last_name="DUPIRE")
    task = await Task.get(code="TA 2-1")
    for index in range(10):
        learner = await User.create(
            school_id=row.school_id,
            role=dupire.role,
            email=f"extra{index}@demo.pfmp.test",
            first_name="Extra",
            last_name=f"ZZ{index:02}",
            learner_status=dupire.learner_status,
            classroom_id=dupire.classroom_id,
        )
        opened = await open_portfolio(row, learner, [task])
        opened.days_done = Decimal("3")
        await opened.save()
        fiche = await ActivityFiche.create(school_id=row.school_id, learner=learner, portfolio=opened, title="F")
        await FicheTask.create(fiche=fiche, task=task, ticked_by_learner=True)
    # then the statement lists 14 learners for as many statements
    statement = (await admin.data(STATEMENT, id=period))["node"]["allowanceStatement"]
    assert len(statement["lines"]) == 14 and statement["totalCents"] == 28000 + 10 * 3000
    portfolios = (await admin.data(PORTFOLIOS_WITH_ALLOWANCE, id=period))["node"]["portfolios"]["nodes"]
    assert [p["allowance"] and p["allowance"]["amountCents"] for p in portfolios][-3:] == [3000, 3000, 3000]
    assert await costs() == five


async def test_a_half_day_at_a_rate_of_odd_cents_rounds_half_up_and_an_unused_rate_is_replaced(admin, teacher):
    # given every day recorded and a school rate of 10.01 € from 1 September 2024, then corrected to 10.03 €
    await _record_days(teacher, DAYS)
    assert (await admin.data(ADD_RATE, y="CAP_1", f="2024-09-01", c=1001))["allowanceRateAdd"]["errors"] == []
    corrected = await admin.data(ADD_RATE, y="CAP_1", f="2024-09-01", c=1003)
    assert corrected["allowanceRateAdd"]["errors"] == []
    # then no statement used it: the rate of that date is replaced, not added twice
    rates = (await admin.data("{ allowanceRates(diplomaYear: CAP_1) { validFrom dailyRateCents } }"))["allowanceRates"]
    assert rates == [
        {"validFrom": "2023-09-01", "dailyRateCents": 1000},
        {"validFrom": "2024-09-01", "dailyRateCents": 1003},
    ]
    # and half a day at 10.03 € is 5.015 €, paid 5.02 €; 9.5 days 95.285 €, paid 95.29 €
    statement = await _statement(admin)
    amounts = {line["lastName"]: line["amountCents"] for line in statement["lines"]}
    assert amounts == {"CARLIER": 10030, "DUPIRE": 8024, "FABROWSKI": 502, "LECAM": 9529}
    assert statement["totalCents"] == 10030 + 8024 + 502 + 9529


async def test_a_period_whose_statement_is_validated_cannot_be_deleted(admin, teacher):
    # given the demo period's statement validated
    await _record_days(teacher, DAYS)
    assert (await admin.data(VALIDATE, id=await period_id()))["allowanceStatementValidate"]["errors"] == []
    # when staff delete the period
    body = await admin.data(
        "mutation($id: ID!) { periodDelete(input: {id: $id}) { errors { field code reason } } }", id=await period_id()
    )
    # then it is a CONFLICT: the decision is a proof kept ten years, and the statement is still there
    assert body["periodDelete"]["errors"] == [
        {"field": ["input", "id"], "code": "CONFLICT", "reason": "PERIOD_ALLOWANCE_VALIDATED"}
    ]
    assert (await _statement(admin))["validated"] is True


async def test_a_teacher_reads_and_exports_the_lines_of_the_learners_they_teach(admin, teacher, http, settings):
    # given every day recorded, and a second teacher who teaches « CAP 1 ELEC » only (CARLIER and LECAM)
    await _record_days(teacher, DAYS)
    demo_teacher = await User.get(email=teacher.user.email)
    other = await User.create(
        school_id=demo_teacher.school_id,
        role=Role.TEACHER,
        email="second.teacher@demo.pfmp.test",
        first_name="Second",
        last_name="PROF",
    )
    await other.taught_classrooms.add(await Classroom.get(name="CAP 1 ELEC"))
    api = Api(http, token_for(other, settings), other)
    # when they read the statement and download the CSV, before and after the admin validates it
    for validate in (False, True):
        if validate:
            assert (await admin.data(VALIDATE, id=await period_id()))["allowanceStatementValidate"]["errors"] == []
        statement = await _statement(api)
        # then the lines and total of their learners only
        assert [line["lastName"] for line in statement["lines"]] == ["CARLIER", "LECAM"]
        assert statement["totalCents"] == 10000 + 9500 and statement["validated"] is validate
        response = await fetch(api, f"/exports/allowance-statement-csv/{await period_id()}")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
        assert [row[0] for row in rows[1:]] == ["CARLIER", "LECAM"]
    # while the admin reads all four
    assert len((await _statement(admin))["lines"]) == 4


async def test_a_period_without_learners_and_names_with_every_diacritic_give_valid_files(admin, teacher):
    # given a period of the level with nobody assigned
    demo = await _period()
    empty = await Period.create(
        school_id=demo.school_id,
        level_id=demo.level_id,
        name="Période « vide »",
        start_date=demo.start_date,
        end_date=demo.end_date,
        school_year=demo.school_year,
    )
    empty_id = encode_id("Period", empty.id)
    # then its decision says nobody is concerned, its CSV holds the header only, its total is 0
    _, text = docx_of(await fetch(admin, f"/exports/allowance-statement/{empty_id}"))
    assert "Aucun apprenant sous statut scolaire n'est affecté à cette période." in text
    response = await fetch(admin, f"/exports/allowance-statement-csv/{empty_id}")
    assert len(list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))) == 1
    assert (await admin.data(STATEMENT, id=empty_id))["node"]["allowanceStatement"]["totalCents"] == 0
    # given a learner named with every French diacritic and guillemets
    name = "àâäçéèêëîïôöùûüÿœæ « ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ »"
    await User.filter(last_name="DUPIRE").update(first_name=name)
    await _record_days(teacher, DAYS)
    # then both files print it as given
    _, text = docx_of(await fetch(admin, f"/exports/allowance-statement/{await period_id()}"))
    assert name in text
    response = await fetch(admin, f"/exports/allowance-statement-csv/{await period_id()}")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert ["DUPIRE", name] == rows[2][:2]
