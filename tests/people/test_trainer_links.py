"""Trainer links (issue 16, part 1), through HTTP with real tokens: staff issue a link for one portfolio, the
trainer exchanges it without signing in, and the token it yields does what access.md gives an assigned trainer on
that portfolio and nothing else; expiry, revocation and altered links are refused, before and after an exchange."""

from __future__ import annotations

import datetime as dt
import logging
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from graph.types.common import encode_id
from models.bilans import BilanStatus, CompanyBilan
from models.fiches import ActivityFiche, Annex, AnnexKind
from models.links import TrainerLink
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio
from models.users import Role, User
from permissions import links
from tests.access.other_school import build_other_school
from tests.conftest import Api, _settings


class Clock:
    """Seconds since the epoch, from now, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path, database_url, clock):
    # The response cache on, as served: a link's token must never be answered what the trainer's own token was.
    return _settings(tmp_path, database_url, clock=clock, response_cache_bytes=1 << 20)


ISSUE = """mutation($p: ID!, $t: ID!, $e: Date) {
  trainerLinkIssue(input: {portfolioId: $p, trainerId: $t, expiresOn: $e}) {
    link trainerLink { id issuedByName issuedAt expiresAt lastUsedAt revokedAt trainer { fullName } portfolio { id } }
    errors { field code reason message }
  }
}"""
EXCHANGE = """mutation($link: String!) {
  trainerLinkExchange(input: {link: $link}) { token expiresAt portfolioId errors { field code reason message } }
}"""
REVOKE = """mutation($id: ID!) {
  trainerLinkRevoke(input: {id: $id}) { trainerLink { id revokedAt } errors { field code reason message } }
}"""
LINKS = """query($id: ID!) { node(id: $id) { ... on Portfolio {
  trainerLinks { id issuedByName issuedAt expiresAt lastUsedAt revokedAt trainer { fullName } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
PORTFOLIO = """query($id: ID!) { node(id: $id) { ... on Portfolio {
  id learner { fullName classroom { name } } period { name } referentTeacher { fullName } trainers { fullName }
  liaisonFiche { id objectives workplace { companyName } }
  activityFiches { nodes { id title evaluationTargets { __typename } annexes { title } } }
  bilan { id status } meetingSheetUrl preConventionUrl trainerLinks { id } } } }"""


async def _portfolio(last_name: str) -> Portfolio:
    return await Portfolio.get(learner__last_name=last_name, period__name="Stage de découverte")


def _pid(portfolio: Portfolio) -> str:
    return encode_id("Portfolio", portfolio.id)


def _tid(trainer: User) -> str:
    return encode_id("Tutor" if trainer.role is Role.TUTOR else "ApprenticeshipMaster", trainer.id)


@pytest.fixture
async def period_running(app, clock) -> Period:
    """The demo period, ending ten days from the test's today (the demo's dates depend on the day it runs)."""
    today = dt.datetime.fromtimestamp(clock(), tz=dt.UTC).date()
    await Period.filter(name="Stage de découverte").update(
        start_date=today - dt.timedelta(days=4), end_date=today + dt.timedelta(days=10)
    )
    return await Period.get(name="Stage de découverte")


async def _issue(api: Api, portfolio: Portfolio, trainer: User, expires_on: dt.date | None = None) -> dict:
    body = await api.data(ISSUE, p=_pid(portfolio), t=_tid(trainer), e=expires_on.isoformat() if expires_on else None)
    return body["trainerLinkIssue"]


async def _exchange(anonymous: Api, link: str) -> dict:
    return (await anonymous.data(EXCHANGE, link=link))["trainerLinkExchange"]


async def _linked(anonymous: Api, link: str) -> Api:
    """A client holding the token a link was exchanged for."""
    answer = await _exchange(anonymous, link)
    assert answer["errors"] == [] and answer["token"], answer
    return Api(anonymous.http, answer["token"])


async def _download(api: Api, path: str) -> int:
    return (await api.http.get(path, headers=api.headers)).status_code


async def test_a_teacher_issues_the_tutor_a_link_whose_token_reaches_that_portfolio_only(
    teacher, tutor, anonymous, period_running, caplog
):
    # given the demo tutor, who also follows Marine FABROWSKI's portfolio
    angelique, marine = await _portfolio("DUPIRE"), await _portfolio("FABROWSKI")
    await marine.trainers.add(tutor.user)
    fiche = await ActivityFiche.filter(portfolio=angelique).order_by("id").first()
    await Annex.create(fiche=fiche, kind=AnnexKind.URL, title="Photos du chantier", url="https://example.org/p")
    # when the teacher issues a link for Angélique's portfolio and the tutor exchanges it, signed in nowhere
    issued = await _issue(teacher, angelique, tutor.user)
    assert issued["errors"] == []
    link = issued["link"]
    assert link.startswith("pfmp-tl1.")
    with caplog.at_level(logging.INFO, logger="pfmp.links"):
        answer = await _exchange(anonymous, link)
    assert answer["errors"] == [] and answer["portfolioId"] == _pid(angelique)
    linked = Api(anonymous.http, answer["token"])
    # then the database holds a hash of the secret, never the secret, and the log names the use without it
    row = await TrainerLink.get(id=int(link.split(".")[1]))
    secret = link.split(".", 2)[2]
    assert secret not in row.secret_digest and len(row.secret_digest) == 64
    assert "exchanged" in caplog.text and f"portfolio {angelique.id}" in caplog.text and secret not in caplog.text
    # and the token reads the portfolio as its tutor does: learner, period, referent, liaison fiche, fiches with
    # their targets and annexes, the draft bilan, the meeting sheet and the pre-convention
    node = (await linked.data(PORTFOLIO, id=_pid(angelique)))["node"]
    assert node["learner"] == {"fullName": "Angélique DUPIRE", "classroom": {"name": "CAPELECT"}}
    assert node["period"]["name"] == "Stage de découverte" and node["referentTeacher"]["fullName"]
    assert node["trainers"] == [{"fullName": "Eude Toutcourt"}]
    assert node["liaisonFiche"]["workplace"]["companyName"] == "Tout élec"
    first_fiche = node["activityFiches"]["nodes"][-1]  # newest first
    assert first_fiche["title"] == "Fiche 1 : Découverte de l'entreprise"
    assert first_fiche["annexes"] == [{"title": "Photos du chantier"}]
    assert first_fiche["evaluationTargets"] is not None
    assert node["bilan"]["status"] == "DRAFT"
    assert node["trainerLinks"] is None  # staff's list, not the trainer's
    assert await _download(linked, node["meetingSheetUrl"]) == 200
    assert await _download(linked, node["preConventionUrl"]) == 200
    for kind, row_id in (("LiaisonFiche", node["liaisonFiche"]["id"]), ("CompanyBilan", node["bilan"]["id"])):
        assert (await linked.data(NODE, id=row_id))["node"] is not None, kind
    me = (await linked.data("{ me { id fullName ... on Tutor { email } } }"))["me"]
    assert me == {"id": _tid(tutor.user), "fullName": "Eude Toutcourt", "email": tutor.user.email}
    # and the completed bilan's document too
    await CompanyBilan.filter(portfolio=angelique).update(
        status=BilanStatus.COMPLETED, meeting_date=dt.date(2026, 11, 27), completed_at=dt.datetime.now(dt.UTC)
    )
    bilan = await CompanyBilan.get(portfolio=angelique)
    assert await _download(linked, f"/exports/bilan/{encode_id('CompanyBilan', bilan.id)}") == 200
    # but not the tutor's other portfolio, which their own sign-in token reaches (the same query, twice: the
    # second answered from the response cache, never to the link's token)
    for _ in range(2):
        assert (await tutor.data(NODE, id=_pid(marine)))["node"] is not None
    response = await linked.post(NODE, {"id": _pid(marine)})
    assert response.json()["data"]["node"] is None and response.headers["x-cache"] == "miss"
    assert (await tutor.post(NODE, {"id": _pid(marine)})).headers["x-cache"] == "hit"
    marine_learner = await User.get(last_name="FABROWSKI")
    assert (await linked.data(NODE, id=encode_id("Learner", marine_learner.id)))["node"] is None
    fiche_of_marine = await ActivityFiche.filter(portfolio=marine).first()
    assert (await linked.data(NODE, id=encode_id("ActivityFiche", fiche_of_marine.id)))["node"] is None
    learners = (await linked.data("{ learners { edges { node { fullName } } } }"))["learners"]["edges"]
    assert [edge["node"]["fullName"] for edge in learners] == ["Angélique DUPIRE"]
    period = encode_id("Period", angelique.period_id)
    listed = await linked.data(
        "query($id: ID!) { node(id: $id) { ... on Period { portfolios { nodes { id } } } } }", id=period
    )
    assert listed["node"]["portfolios"]["nodes"] == [{"id": _pid(angelique)}]
    assert await _download(linked, f"/exports/meeting-sheet/{_pid(marine)}") == 404


async def test_the_token_of_a_link_does_nothing_a_trainer_may_not_do(teacher, tutor, anonymous, period_running):
    # given a tutor's link, exchanged
    angelique = await _portfolio("DUPIRE")
    linked = await _linked(anonymous, (await _issue(teacher, angelique, tutor.user))["link"])
    liaison = await LiaisonFiche.get(portfolio=angelique)
    fiche = await ActivityFiche.filter(portfolio=angelique).order_by("id").first()
    bilan = await CompanyBilan.get(portfolio=angelique)
    # when it tries what staff, learners or the account's owner do, then each is refused
    refused = {
        "trainerLinkIssue": (ISSUE, dict(p=_pid(angelique), t=_tid(tutor.user), e=None)),
        "portfolioTrainerAssign": (
            "mutation($p: ID!, $t: ID!) { portfolioTrainerAssign(input: {portfolioId: $p, trainerId: $t}) { errors { code } } }",
            dict(p=_pid(angelique), t=_tid(tutor.user)),
        ),
        "liaisonFichePlanUpdate": (
            'mutation($id: ID!, $v: Int!) { liaisonFichePlanUpdate(input: {id: $id, version: $v, objectives: "X"}) '
            "{ errors { code } } }",
            dict(id=encode_id("LiaisonFiche", liaison.id), v=liaison.version),
        ),
        "activityFicheCreate": (
            'mutation($p: ID!) { activityFicheCreate(input: {portfolioId: $p, title: "X"}) { errors { code } } }',
            dict(p=_pid(angelique)),
        ),
        "activityFicheMarkRead": (
            "mutation($id: ID!) { activityFicheMarkRead(input: {id: $id}) { errors { code } } }",
            dict(id=encode_id("ActivityFiche", fiche.id)),
        ),
        "bilanUpdate": (
            "mutation($id: ID!, $v: Int!) { bilanUpdate(input: {id: $id, version: $v, engagement: 3}) "
            "{ errors { code } } }",
            dict(id=encode_id("CompanyBilan", bilan.id), v=bilan.version),
        ),
        "passwordChange": (
            'mutation { passwordChange(input: {currentPassword: "demo-pfmp-2026", newPassword: "Un autre mot 2 passe!"}) '
            "{ errors { code } } }",
            {},
        ),
        "signOutEverywhere": ("mutation { signOutEverywhere { revoked } }", {}),
    }
    for name, (query, variables) in refused.items():
        assert await linked.error_code(query, **variables) == "FORBIDDEN", name
    # and the account's own tokens still work (nothing was signed out)
    assert (await tutor.data("{ me { id } }"))["me"]["id"] == _tid(tutor.user)


async def test_a_master_link_is_the_admins_and_lets_the_master_edit_the_plan_of_that_portfolio(
    admin, teacher, master, anonymous, period_running
):
    # given Lydie HÔT's portfolio, followed by the demo master
    lydie, angelique = await _portfolio("HÔT"), await _portfolio("DUPIRE")
    # when the teacher asks for a master link, then it is refused; the admin's is issued
    assert await teacher.error_code(ISSUE, p=_pid(lydie), t=_tid(master.user), e=None) == "FORBIDDEN"
    issued = await _issue(admin, lydie, master.user)
    assert issued["errors"] == [] and issued["trainerLink"]["issuedByName"] == "Alain DUBOIS"
    # and the teacher neither lists nor revokes it, the admin does list it
    assert (await teacher.data(LINKS, id=_pid(lydie)))["node"]["trainerLinks"] == []
    revoked = (await teacher.data(REVOKE, id=issued["trainerLink"]["id"]))["trainerLinkRevoke"]
    assert [e["code"] for e in revoked["errors"]] == ["NOT_FOUND"]
    assert [link["id"] for link in (await admin.data(LINKS, id=_pid(lydie)))["node"]["trainerLinks"]] == [
        issued["trainerLink"]["id"]
    ]
    # and through it the master edits the liaison fiche's objectives of that portfolio, and reaches no other
    linked = await _linked(anonymous, issued["link"])
    liaison = await LiaisonFiche.get(portfolio=lydie)
    answer = await linked.data(
        "mutation($id: ID!, $v: Int!) { liaisonFichePlanUpdate(input: {id: $id, version: $v, "
        'objectives: "Câbler un tableau"}) { liaisonFiche { objectives } errors { code } } }',
        id=encode_id("LiaisonFiche", liaison.id),
        v=liaison.version,
    )
    assert answer["liaisonFichePlanUpdate"] == {"liaisonFiche": {"objectives": "Câbler un tableau"}, "errors": []}
    assert (await linked.data(NODE, id=_pid(angelique)))["node"] is None


async def test_the_list_says_who_issued_each_link_when_it_expires_and_when_it_was_last_used(
    teacher, tutor, anonymous, period_running, clock
):
    # given a link issued by the teacher with the default expiry
    angelique = await _portfolio("DUPIRE")
    issued = await _issue(teacher, angelique, tutor.user)
    listed = (await teacher.data(LINKS, id=_pid(angelique)))["node"]["trainerLinks"]
    assert len(listed) == 1 and listed[0]["lastUsedAt"] is None and listed[0]["revokedAt"] is None
    assert listed[0]["issuedByName"] == "Claire MARTIN" and listed[0]["trainer"] == {"fullName": "Eude Toutcourt"}
    # then it expires at the end of the 30th day after the period's last day
    default_end = period_running.end_date + dt.timedelta(days=31)
    assert listed[0]["expiresAt"].startswith(default_end.isoformat())
    # when it is exchanged an hour later, then its last use is that exchange
    clock.advance(3600)
    await _linked(anonymous, issued["link"])
    used = (await teacher.data(LINKS, id=_pid(angelique)))["node"]["trainerLinks"][0]["lastUsedAt"]
    assert dt.datetime.fromisoformat(used).timestamp() == pytest.approx(clock(), abs=2)


async def test_the_issuer_may_choose_an_earlier_expiry_never_a_later_nor_a_past_one(
    teacher, tutor, period_running, clock
):
    angelique = await _portfolio("DUPIRE")
    today = dt.datetime.fromtimestamp(clock(), tz=dt.UTC).date()
    latest = period_running.end_date + dt.timedelta(days=30)
    earlier = await _issue(teacher, angelique, tutor.user, today + dt.timedelta(days=2))
    assert earlier["errors"] == [] and earlier["trainerLink"]["expiresAt"].startswith(
        (today + dt.timedelta(days=3)).isoformat()
    )
    for wrong in (latest + dt.timedelta(days=1), today - dt.timedelta(days=1)):
        answer = (await teacher.speaking("en").data(ISSUE, p=_pid(angelique), t=_tid(tutor.user), e=wrong.isoformat()))[
            "trainerLinkIssue"
        ]
        assert answer["link"] is None
        assert [(e["field"], e["reason"]) for e in answer["errors"]] == [
            (["input", "expiresOn"], "TRAINER_LINK_EXPIRY_OUT_OF_RANGE")
        ]
        assert answer["errors"][0]["message"] == (
            f"A trainer link must expire between {today.isoformat()} and {latest.isoformat()}."
        )
    assert await TrainerLink.all().count() == 1


async def test_an_expired_link_is_refused_and_so_are_the_tokens_it_gave(
    teacher, tutor, anonymous, period_running, clock
):
    # given a link that works until the end of today, exchanged
    angelique = await _portfolio("DUPIRE")
    today = dt.datetime.fromtimestamp(clock(), tz=dt.UTC).date()
    link = (await _issue(teacher, angelique, tutor.user, today))["link"]
    linked = await _linked(anonymous, link)
    assert (await linked.data(NODE, id=_pid(angelique)))["node"] is not None
    # when the day is over
    clock.advance(24 * 3600)
    # then the token is refused and the link cannot be exchanged again
    assert await linked.error_code(NODE, id=_pid(angelique)) == "UNAUTHENTICATED"
    answer = await _exchange(anonymous.speaking("en"), link)
    assert answer["token"] is None
    assert [(e["reason"], e["message"]) for e in answer["errors"]] == [
        ("TRAINER_LINK_EXPIRED", "This link has expired: ask the school for a new one.")
    ]


async def test_a_revoked_link_is_refused_and_so_are_the_tokens_it_gave(teacher, tutor, anonymous, period_running):
    # given a link exchanged twice (two devices)
    angelique = await _portfolio("DUPIRE")
    issued = await _issue(teacher, angelique, tutor.user)
    phone, tablet = await _linked(anonymous, issued["link"]), await _linked(anonymous, issued["link"])
    # when the teacher revokes it
    revoked = (await teacher.data(REVOKE, id=issued["trainerLink"]["id"]))["trainerLinkRevoke"]
    assert revoked["errors"] == [] and revoked["trainerLink"]["revokedAt"]
    # then both tokens stop at once, the link is refused, and the tutor's own sign-in still works
    for api in (phone, tablet):
        assert await api.error_code(NODE, id=_pid(angelique)) == "UNAUTHENTICATED"
        assert await _download(api, f"/exports/meeting-sheet/{_pid(angelique)}") == 401
    answer = await _exchange(anonymous, issued["link"])
    assert answer["token"] is None and [e["reason"] for e in answer["errors"]] == ["TRAINER_LINK_REVOKED"]
    assert (await tutor.data(NODE, id=_pid(angelique)))["node"] is not None
    # and the list shows when it was revoked; revoking it again changes nothing
    again = (await teacher.data(REVOKE, id=issued["trainerLink"]["id"]))["trainerLinkRevoke"]
    assert again == revoked


async def test_an_altered_or_made_up_link_is_refused(teacher, tutor, master, admin, anonymous, period_running, caplog):
    # given two links, of two portfolios
    angelique, lydie = await _portfolio("DUPIRE"), await _portfolio("HÔT")
    first = (await _issue(teacher, angelique, tutor.user))["link"]
    second = (await _issue(admin, lydie, master.user))["link"]
    prefix, first_id, secret = first.split(".", 2)
    _, second_id, _ = second.split(".", 2)
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    altered = [
        f"{prefix}.{first_id}.{flipped}",  # one character of the secret changed
        f"{prefix}.{second_id}.{secret}",  # the first link's secret on the other portfolio's link
        f"{prefix}.{first_id}.",  # no secret
        f"{prefix}.99999.{secret}",  # no such link
        first.replace("pfmp-tl1", "pfmp-tl2"),
        "pfmp-tl1.1e3." + secret,
        "n'importe quoi",
        first + "x" * 200,
    ]
    with caplog.at_level(logging.INFO, logger="pfmp.links"):
        for link in altered:
            answer = await _exchange(anonymous, link)
            # then each is refused as not a link, and nothing was used
            assert answer["token"] is None, link
            assert [(e["field"], e["reason"]) for e in answer["errors"]] == [
                (["input", "link"], "TRAINER_LINK_INVALID")
            ]
    assert "refused" in caplog.text and secret not in caplog.text
    assert await TrainerLink.filter(last_used_at__not_isnull=True).count() == 0


async def test_a_link_needs_a_trainer_assigned_to_the_portfolio_and_stops_when_they_no_longer_are(
    teacher, tutor, anonymous, period_running
):
    angelique, marine = await _portfolio("DUPIRE"), await _portfolio("FABROWSKI")
    # a trainer not assigned to the portfolio gets no link
    answer = (await teacher.data(ISSUE, p=_pid(marine), t=_tid(tutor.user), e=None))["trainerLinkIssue"]
    assert [(e["field"], e["reason"]) for e in answer["errors"]] == [(["input", "trainerId"], "TRAINER_NOT_ASSIGNED")]
    # one removed from the portfolio can no longer exchange it, and its token reaches nothing there
    issued = await _issue(teacher, angelique, tutor.user)
    linked = await _linked(anonymous, issued["link"])
    await angelique.trainers.remove(tutor.user)
    answer = await _exchange(anonymous, issued["link"])
    assert [e["reason"] for e in answer["errors"]] == ["TRAINER_LINK_REVOKED"]
    assert (await linked.data(NODE, id=_pid(angelique)))["node"] is None


async def test_a_trainer_without_an_account_is_created_without_a_password_and_works_through_links(
    teacher, anonymous, period_running
):
    # given a tutor created without a password, assigned to Angélique's portfolio
    created = (
        await teacher.data(
            """mutation { tutorCreate(input: {email: "jo.volt@volt.test", firstName: "Jo", lastName: "VOLT",
            companyName: "Volt SA", withoutPassword: true}) { trainer { id } temporaryPassword errors { code } } }"""
        )
    )["tutorCreate"]
    assert created["errors"] == [] and created["temporaryPassword"] is None
    row = await User.get(email="jo.volt@volt.test")
    assert row.password_hash is None and not row.password_change_required
    angelique = await _portfolio("DUPIRE")
    await angelique.trainers.add(row)
    # when they try to sign in, then nothing opens; through a link they read the portfolio
    login = await anonymous.data('mutation { login(input: {email: "jo.volt@volt.test", password: ""}) { token } }')
    assert login["login"]["token"] is None
    linked = await _linked(anonymous, (await _issue(teacher, angelique, row))["link"])
    assert (await linked.data("{ me { fullName } }"))["me"] == {"fullName": "Jo VOLT"}
    assert (await linked.data(NODE, id=_pid(angelique)))["node"] is not None


async def test_a_trainer_on_a_temporary_password_uses_a_link_without_changing_it(
    teacher, tutor, anonymous, period_running
):
    # a link is not a password sign-in: the temporary password does not hold its token back
    await User.filter(id=tutor.user.id).update(password_change_required=True)
    angelique = await _portfolio("DUPIRE")
    linked = await _linked(anonymous, (await _issue(teacher, angelique, tutor.user))["link"])
    assert (await linked.data(NODE, id=_pid(angelique)))["node"] is not None
    assert await tutor.error_code(NODE, id=_pid(angelique)) == "PASSWORD_CHANGE_REQUIRED"


PERIOD_LINKS = """query($id: ID!) { node(id: $id) { ... on Period { portfolios { nodes { id
  trainerLinks { id issuedByName expiresAt lastUsedAt trainer { fullName } portfolio { id } } } } } } }"""


async def test_the_period_view_lists_every_portfolios_links_in_a_fixed_number_of_statements(
    admin, tutor, master, period_running, sql_counter
):
    # given one link on one portfolio, then links on three portfolios, each of its own trainer
    period = encode_id("Period", period_running.id)
    angelique, lydie, marine = await _portfolio("DUPIRE"), await _portfolio("HÔT"), await _portfolio("FABROWSKI")
    await _issue(admin, angelique, tutor.user)
    sql_counter.reset()
    body = await admin.data(PERIOD_LINKS, id=period)
    one = sql_counter.count
    await _issue(admin, lydie, master.user)
    other_tutor = await User.create(
        school_id=tutor.user.school_id, role=Role.TUTOR, email="autre@volt.test", first_name="Al", last_name="TRE"
    )
    await marine.trainers.add(other_tutor)
    await _issue(admin, marine, other_tutor)
    await _issue(admin, marine, other_tutor)
    # when the admin's period view asks every portfolio's links with their trainers
    sql_counter.reset()
    body = await admin.data(PERIOD_LINKS, id=period)
    # then the statements are as many as with one link
    assert sql_counter.count == one
    counts = {p["id"]: len(p["trainerLinks"]) for p in body["node"]["portfolios"]["nodes"]}
    assert (counts[_pid(angelique)], counts[_pid(lydie)], counts[_pid(marine)]) == (1, 1, 2)


async def test_a_links_token_reaches_nothing_of_another_school(teacher, tutor, anonymous, period_running, settings):
    # given another school, whose rows (a portfolio, its learner, its tutor's link) carry the same kinds
    other = await build_other_school(settings.annex_dir)
    angelique = await _portfolio("DUPIRE")
    linked = await _linked(anonymous, (await _issue(teacher, angelique, tutor.user))["link"])
    # when the link's token names them, then none exists for it
    for type_name in ("Portfolio", "Learner", "Period", "TrainerLink", "Tutor", "CompanyBilan"):
        assert (await linked.data(NODE, id=other.first(type_name)))["node"] is None, type_name
    # and the teacher cannot issue a link for the other school's portfolio or trainer, nor revoke its link
    for portfolio_id, trainer_id in (
        (other.first("Portfolio"), _tid(tutor.user)),
        (_pid(angelique), other.first("Tutor")),
    ):
        answer = (await teacher.data(ISSUE, p=portfolio_id, t=trainer_id, e=None))["trainerLinkIssue"]
        assert [e["code"] for e in answer["errors"]] == ["NOT_FOUND"]
    answer = (await teacher.data(REVOKE, id=other.first("TrainerLink")))["trainerLinkRevoke"]
    assert [e["code"] for e in answer["errors"]] == ["NOT_FOUND"]


async def test_a_client_trying_made_up_links_is_throttled_per_address(
    teacher, tutor, anonymous, period_running, clock, settings
):
    # given a real link, and a client that sends 20 made-up ones within a minute
    link = (await _issue(teacher, await _portfolio("DUPIRE"), tutor.user))["link"]
    prefix, link_id, secret = link.split(".", 2)
    for attempt in range(20):
        answer = await _exchange(anonymous, f"{prefix}.{int(link_id) + 1000 + attempt}.{secret}")
        assert [e["reason"] for e in answer["errors"]] == ["TRAINER_LINK_INVALID"], answer
    # then the address is refused, even with the real link, with how long to wait, and the link is not used
    response = await anonymous.post(EXCHANGE, {"link": link})
    refused = response.json()["data"]["trainerLinkExchange"]
    assert refused["token"] is None
    assert [(e["code"], e["reason"]) for e in refused["errors"]] == [("THROTTLED", "TRAINER_LINK_THROTTLED")]
    assert 0 < int(response.headers["retry-after"]) <= 60
    assert await TrainerLink.filter(last_used_at__not_isnull=True).count() == 0
    # and signing in from the same address is not held up by refused links
    login = await anonymous.data(
        'mutation { login(input: {email: "x@y.test", password: "nope"}) { errors { reason } } }'
    )
    assert [e["reason"] for e in login["login"]["errors"]] == ["CREDENTIALS_WRONG"]
    # when the minute has passed, the real link works again
    clock.advance(61)
    assert (await _exchange(anonymous, link))["token"]


async def test_a_successful_exchange_does_not_count_against_the_address(teacher, tutor, anonymous, period_running):
    # given a real link exchanged 25 times within a minute from one address (a phone retrying)
    link = (await _issue(teacher, await _portfolio("DUPIRE"), tutor.user))["link"]
    for _ in range(25):
        answer = await _exchange(anonymous, link)
        # then every exchange answers a token: only refusals count
        assert answer["errors"] == [] and answer["token"], answer


async def test_a_links_token_signs_download_urls_that_stop_with_the_link(teacher, tutor, anonymous, period_running):
    # given a tutor acting through a link, who signs the meeting sheet's URL for a plain browser link
    angelique = await _portfolio("DUPIRE")
    issued = await _issue(teacher, angelique, tutor.user)
    linked = await _linked(anonymous, issued["link"])
    path = f"/exports/meeting-sheet/{_pid(angelique)}"
    signed = (await linked.data("query($p: String!) { signedDownloadUrl(path: $p) { url } }", p=path))[
        "signedDownloadUrl"
    ]["url"]
    assert "link=" in signed
    # then it opens without a token, as the link's token does
    assert await _download(anonymous, signed) == 200
    # but not with another link of the same tutor in its place (a link for Marine FABROWSKI's portfolio)
    marine = await _portfolio("FABROWSKI")
    await marine.trainers.add(tutor.user)
    assert (await _issue(teacher, marine, tutor.user))["errors"] == []
    other = await TrainerLink.filter(portfolio_id=marine.id).get()
    parts = urlsplit(signed)
    swapped = {**dict(parse_qsl(parts.query)), "link": str(other.id)}
    assert await _download(anonymous, f"{parts.path}?{urlencode(swapped)}") == 403
    # and once the link is revoked, the URL it signed is refused as the token is
    await teacher.data(REVOKE, id=issued["trainerLink"]["id"])
    assert await _download(anonymous, signed) == 403


def test_a_link_string_is_read_only_when_well_formed():
    # up to 120 characters, the prefix, an id between 1 and 2³¹ − 1 in ASCII digits, a secret
    secret = "s" * (links.MAX_LENGTH - len("pfmp-tl1.5."))
    assert links.parse(f"pfmp-tl1.5.{secret}") == (5, secret)
    assert links.parse(f" pfmp-tl1.2147483647.{secret[:20]} ") == (2147483647, secret[:20])
    for malformed in (
        f"pfmp-tl1.5.{secret}x",  # 121 characters
        "pfmp-tl1.5.",  # no secret
        "pfmp-tl1..abc",  # no id
        "pfmp-tl2.5.abc",  # another prefix
        "pfmp-tl1.0.abc",
        "pfmp-tl1.2147483648.abc",
        "pfmp-tl1.-5.abc",
        "pfmp-tl1.٥.abc",  # a digit, not an ASCII one
    ):
        assert links.parse(malformed) is None, malformed


class TestTokensLongerThanALink:
    @pytest.fixture
    def settings(self, tmp_path, database_url, clock):
        # access tokens living three days: longer than the link below
        return _settings(tmp_path, database_url, clock=clock, token_lifetime=3 * 24 * 3600)

    async def test_the_token_a_link_gives_never_outlives_the_link(
        self, teacher, tutor, anonymous, period_running, clock
    ):
        angelique = await _portfolio("DUPIRE")
        today = dt.datetime.fromtimestamp(clock(), tz=dt.UTC).date()
        issued = await _issue(teacher, angelique, tutor.user, today + dt.timedelta(days=1))
        link_end = dt.datetime.fromisoformat(issued["trainerLink"]["expiresAt"])
        answer = await _exchange(anonymous, issued["link"])
        assert answer["errors"] == []
        token_end = dt.datetime.fromisoformat(answer["expiresAt"])
        assert clock() < token_end.timestamp() <= link_end.timestamp()
