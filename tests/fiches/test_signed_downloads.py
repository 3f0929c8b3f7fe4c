"""Signed download URLs (issue 16, part 4) through the real app: a URL that works without an Authorization header,
for a few minutes, for its one path and its one user, and only while that user may still read what it names;
CORS exposes the file name of downloads to the front end's scripts."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from graph.types.common import encode_id
from models.portfolios import Portfolio
from models.schools import Classroom
from models.signin import ProviderSession
from models.users import User
from tests.conftest import Api, _settings, token_for
from tests.fiches import samples
from tests.fiches.conftest import upload_payload
from tests.identity.conftest import provider_sessions

ORIGIN = "https://front.example.test"
ANNEXES = """query($id: ID!) { node(id: $id) { ... on ActivityFiche {
  annexes { id downloadUrl signedDownloadUrl } } } }"""
SIGN = """query($path: String!) { signedDownloadUrl(path: $path) { url expiresAt } }"""
PORTFOLIO = """query($id: ID!) { node(id: $id) { ... on Portfolio { meetingSheetUrl } } }"""


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path, database_url, clock):
    # The response cache on, as served: an answer holding a signed URL must never be served again.
    return _settings(tmp_path, database_url, clock=clock, response_cache_bytes=1 << 20)


async def _annex(learner, teacher, demo) -> tuple[dict, bytes]:
    content = samples.PDF + b"%" + bytes(range(256))
    await upload_payload(learner, demo.fiche1, content, "rapport.pdf")
    annex = (await teacher.data(ANNEXES, id=demo.fiche1))["node"]["annexes"][0]
    return annex, content


def _altered(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    params.update(changes)
    return f"{parts.path}?{urlencode(params)}"


async def test_a_signed_annex_url_downloads_without_authorization_byte_for_byte(learner, teacher, demo, http):
    annex, content = await _annex(learner, teacher, demo)
    # when the teacher's browser follows the signed URL, without any token
    response = await http.get(annex["signedDownloadUrl"], headers={"origin": ORIGIN})
    # then the file comes, whole, with its name readable by the front end's script
    assert response.status_code == 200, response.text
    assert response.content == content
    assert "rapport.pdf" in response.headers["content-disposition"]
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "content-disposition" in response.headers["access-control-expose-headers"].lower()
    # and the URL is the annex's own download path, signed
    assert annex["signedDownloadUrl"].startswith(annex["downloadUrl"] + "?")
    # while the same path without a signature or a token is still a 401
    assert (await http.get(annex["downloadUrl"])).status_code == 401


async def test_an_answer_holding_a_signed_url_is_never_served_again_from_the_cache(learner, teacher, demo, clock):
    await _annex(learner, teacher, demo)
    first = (await teacher.data(ANNEXES, id=demo.fiche1))["node"]["annexes"][0]["signedDownloadUrl"]
    clock.now += 30
    second = (await teacher.data(ANNEXES, id=demo.fiche1))["node"]["annexes"][0]["signedDownloadUrl"]
    assert first != second


async def test_an_expired_signed_url_is_refused(learner, teacher, demo, http, clock, settings):
    annex, _ = await _annex(learner, teacher, demo)
    expires = int(dict(parse_qsl(urlsplit(annex["signedDownloadUrl"]).query))["expires"])
    # a second before its expiry it opens; at its expiry it no longer does
    clock.now = expires - 1
    assert (await http.get(annex["signedDownloadUrl"])).status_code == 200
    clock.now = expires
    response = await http.get(annex["signedDownloadUrl"])
    assert response.status_code == 403
    assert "expir" in response.json()["error"]


async def test_a_deactivated_accounts_signed_url_is_refused(learner, teacher, admin, demo, http):
    annex, _ = await _annex(learner, teacher, demo)
    # userDeactivate also bumps the account's token version; the flag alone must be enough
    await User.filter(id=teacher.user.id).update(is_active=False)
    assert (await http.get(annex["signedDownloadUrl"])).status_code == 403
    await User.filter(id=teacher.user.id).update(is_active=True)
    deactivate = "mutation($id: ID!) { userDeactivate(input: {id: $id}) { errors { code } } }"
    assert (await admin.data(deactivate, id=encode_id("Teacher", teacher.user.id)))["userDeactivate"]["errors"] == []
    assert (await http.get(annex["signedDownloadUrl"])).status_code == 403


async def test_a_tampered_signed_url_is_refused(learner, teacher, demo, http, clock):
    annex, _ = await _annex(learner, teacher, demo)
    url = annex["signedDownloadUrl"]
    signature = dict(parse_qsl(urlsplit(url).query))["signature"]
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for altered in (
        _altered(url, signature=flipped),
        _altered(url, expires=str(int(clock.now) + 3600)),  # a later expiry
        _altered(url, user=str(teacher.user.id + 1)),  # another user
        _altered(url, link="1"),  # a trainer link's or a provider session's id added
        _altered(url, session="1"),
        _altered(url, link="abc"),  # malformed: never read as "no link"
        _altered(url, session="-1"),
        _altered(url, expires="soon"),
    ):
        assert (await http.get(altered)).status_code == 403, altered


async def test_a_signed_url_opens_its_own_path_only(learner, teacher, demo, http):
    annex, _ = await _annex(learner, teacher, demo)
    second = await upload_payload(learner, demo.fiche1, samples.PNG, "photo.png")
    # when the query string of the first annex's URL is put on the second annex's path
    query = urlsplit(annex["signedDownloadUrl"]).query
    response = await http.get(f"{second['annex']['downloadUrl']}?{query}")
    # then it is refused: the signature names one path
    assert response.status_code == 403


async def test_signing_out_everywhere_stops_outstanding_urls(learner, teacher, demo, http):
    annex, _ = await _annex(learner, teacher, demo)
    assert (await http.get(annex["signedDownloadUrl"])).status_code == 200
    await teacher.data("mutation { signOutEverywhere { revoked } }")
    assert (await http.get(annex["signedDownloadUrl"])).status_code == 403


async def test_a_teacher_who_lost_the_classroom_is_refused_with_a_url_signed_before(
    learner, teacher, admin, demo, http
):
    annex, _ = await _annex(learner, teacher, demo)
    # when the admin leaves the teacher only CAP 1 ELEC (Angélique is in CAPELECT)
    kept = await Classroom.get(name="CAP 1 ELEC")
    body = await admin.data(
        """mutation($id: ID!, $c: [ID!]!) { teacherClassroomsSet(input: {id: $id, classroomIds: $c}) { errors { code } } }""",
        id=encode_id("Teacher", teacher.user.id),
        c=[encode_id("Classroom", kept.id)],
    )
    assert body["teacherClassroomsSet"]["errors"] == []
    # then the URL signed while the teacher could read the annex answers as the route answers a row out of reach
    assert (await http.get(annex["signedDownloadUrl"])).status_code == 404


async def test_a_document_gets_a_signed_url_that_works_without_authorization(teacher, anonymous, http):
    portfolio = await Portfolio.get(learner__last_name="DUPIRE", period__name="Stage de découverte")
    path = (await teacher.data(PORTFOLIO, id=encode_id("Portfolio", portfolio.id)))["node"]["meetingSheetUrl"]
    signed = (await teacher.data(SIGN, path=path))["signedDownloadUrl"]
    assert signed["url"].startswith(path + "?") and signed["expiresAt"]
    response = await http.get(signed["url"], headers={"origin": ORIGIN})
    assert response.status_code == 200, response.text
    assert response.content[:2] == b"PK"  # a DOCX
    assert "Préparer-la-rencontre" in response.headers["content-disposition"].replace("%C3%A9", "é")
    assert "content-disposition" in response.headers["access-control-expose-headers"].lower()
    # another document's path with this signature is refused, as is the export without anything
    other = path.replace("meeting-sheet", "attestation")
    assert (await http.get(other + "?" + urlsplit(signed["url"]).query)).status_code == 403
    assert (await http.get(path)).status_code == 401
    # a path that is no download is refused, and an anonymous caller gets no signature
    assert (await teacher.execute(SIGN, path="/graphql"))["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await anonymous.execute(SIGN, path=path))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_signed_url_never_grants_more_than_its_user_has(learner, http):
    # given a learner who may not have the meeting sheet of their own portfolio (a staff and trainer document)
    portfolio = await Portfolio.get(learner__last_name="DUPIRE", period__name="Stage de découverte")
    path = f"/exports/meeting-sheet/{encode_id('Portfolio', portfolio.id)}"
    signed = (await learner.data(SIGN, path=path))["signedDownloadUrl"]
    # then the signed URL is refused as the learner's token is
    with_token = await learner.http.get(path, headers=learner.headers)
    assert with_token.status_code == 403
    assert (await http.get(signed["url"])).status_code == with_token.status_code


async def test_a_url_signed_under_a_provider_sign_in_dies_with_that_sign_in(learner, teacher, demo, http, settings):
    # given: the teacher signed in through the ENT's CAS server (her token bound to that sign-in), and a second
    # sign-in of hers elsewhere
    annex, content = await _annex(learner, teacher, demo)
    sessions = await provider_sessions(teacher.user.id, "cas", "cmartin", "ST-office", "ST-phone")
    office, phone = (Api(http, token_for(teacher.user, settings, session_id=s.id)) for s in sessions)
    office_url = (await office.data(ANNEXES, id=demo.fiche1))["node"]["annexes"][0]["signedDownloadUrl"]
    phone_url = (await phone.data(ANNEXES, id=demo.fiche1))["node"]["annexes"][0]["signedDownloadUrl"]
    assert "session=" in office_url
    assert (await http.get(office_url)).content == content
    # when: the office sign-in ends at the provider (its single logout)
    await ProviderSession.filter(id=sessions[0].id).update(revoked_at=dt.datetime.now(dt.UTC))
    # then: its URL is refused as its token is, and the phone's still works
    refused = await http.get(office_url)
    assert refused.status_code == 403
    assert (await http.get(phone_url)).content == content
    # and the session cannot be taken off the URL: the signature names it
    assert (await http.get(_altered(office_url, session=str(sessions[1].id)))).status_code == 403
