"""Each kind of event is traced with its actor, subject, address and client: downloads of annexes and paper scans,
exports, learner data archives, evaluation changes and access-rights changes."""

from __future__ import annotations

import datetime as dt

from graph.types.common import encode_id
from models.portfolios import Portfolio
from models.users import User
from tests.audit.conftest import ADDRESS, USER_AGENT, entries
from tests.bilans.conftest import REOPEN, REVIEW_CREATE, UPDATE
from tests.bilans.test_paper import COMPLETE_ON, upload_scan
from tests.conftest import Api
from tests.fiches import samples
from tests.fiches.conftest import upload_payload


def _by(api: Api, type_name: str) -> str:
    return encode_id(type_name, api.user.id)


def _check(entry: dict, kind: str, actor: str, role: str, subject_type: str, subject_id: str, detail: str) -> None:
    assert (entry["kind"], entry["actorId"], entry["actorRole"]) == (kind, actor, role)
    assert (entry["subjectType"], entry["subjectId"], entry["detail"]) == (subject_type, subject_id, detail)
    assert (entry["address"], entry["userAgent"]) == (ADDRESS, USER_AGENT)


async def test_an_annex_download_is_traced_and_its_upload_is_not(admin, teacher, learner, demo):
    # given an annex the learner uploaded to their fiche
    fiche_id = encode_id("ActivityFiche", demo.fiches[0].id)
    annex = (await upload_payload(learner, fiche_id, samples.PDF, "rapport.pdf"))["annex"]
    assert await entries(admin) == []
    # when the teacher downloads it, then the learner too
    assert (await teacher.http.get(annex["downloadUrl"], headers=teacher.headers)).status_code == 200
    assert (await learner.http.get(annex["downloadUrl"], headers=learner.headers)).status_code == 200
    # and a HEAD sends nothing
    assert (await teacher.http.head(annex["downloadUrl"], headers=teacher.headers)).status_code == 200
    # then two downloads are traced, newest first
    mine, theirs = await entries(admin, kind="ANNEX_DOWNLOAD")
    _check(theirs, "ANNEX_DOWNLOAD", _by(teacher, "Teacher"), "TEACHER", "Annex", annex["id"], "download")
    _check(mine, "ANNEX_DOWNLOAD", _by(learner, "Learner"), "LEARNER", "Annex", annex["id"], "download")


async def test_the_paper_path_and_the_scan_download(admin, teacher, demo):
    # when the teacher uploads the scan, completes the bilan as signed on paper, and the admin downloads the scan
    uploaded = await upload_scan(teacher, demo.bilan_id, await demo.version(), samples.PDF)
    assert uploaded["errors"] == []
    completed = await teacher.data(COMPLETE_ON, id=demo.bilan_id, v=await demo.version(), m="PAPER")
    assert completed["bilanComplete"]["errors"] == []
    url = uploaded["bilan"]["paperScan"]["downloadUrl"]
    assert (await admin.http.get(url, headers=admin.headers)).status_code == 200
    # then
    download, complete, upload = await entries(admin)
    teacher_id = _by(teacher, "Teacher")
    _check(upload, "EVALUATION_CHANGE", teacher_id, "TEACHER", "CompanyBilan", demo.bilan_id, "bilanPaperScanUpload")
    _check(complete, "EVALUATION_CHANGE", teacher_id, "TEACHER", "CompanyBilan", demo.bilan_id, "bilanComplete")
    _check(
        download,
        "PAPER_SCAN_DOWNLOAD",
        _by(admin, "Administrator"),
        "ADMIN",
        "CompanyBilan",
        demo.bilan_id,
        "paper scan download",
    )


async def test_evaluation_changes_and_a_refused_one(admin, teacher, demo):
    update = await teacher.data(
        UPDATE, input={"id": demo.bilan_id, "version": await demo.version(), "comment": "Sérieux."}
    )
    assert update["bilanUpdate"]["errors"] == []
    # a stale version is refused: nothing written, nothing traced
    stale = await teacher.data(UPDATE, input={"id": demo.bilan_id, "version": 1, "comment": "Non."})
    assert stale["bilanUpdate"]["errors"]
    # an interim review consolidates completed bilans
    await upload_scan(teacher, demo.bilan_id, await demo.version(), samples.PDF)
    await teacher.data(COMPLETE_ON, id=demo.bilan_id, v=await demo.version(), m="PAPER")
    review = await teacher.data(REVIEW_CREATE, l=encode_id("Learner", demo.learner.id), d=dt.date.today().isoformat())
    assert review["interimReviewCreate"]["errors"] == []
    review_id = review["interimReviewCreate"]["interimReview"]["id"]
    found = await entries(admin, kind="EVALUATION_CHANGE")
    teacher_id = _by(teacher, "Teacher")
    assert [entry["detail"] for entry in found] == [
        "interimReviewCreate",
        "bilanComplete",
        "bilanPaperScanUpload",
        "bilanUpdate",
    ]
    _check(found[0], "EVALUATION_CHANGE", teacher_id, "TEACHER", "InterimReview", review_id, "interimReviewCreate")
    _check(found[3], "EVALUATION_CHANGE", teacher_id, "TEACHER", "CompanyBilan", demo.bilan_id, "bilanUpdate")


async def test_completion_and_reopening(admin, teacher, demo):
    await upload_scan(teacher, demo.bilan_id, await demo.version(), samples.PDF)
    await teacher.data(COMPLETE_ON, id=demo.bilan_id, v=await demo.version(), m="PAPER")
    reopened = await teacher.data(REOPEN, id=demo.bilan_id, v=await demo.version(), r="Erreur de saisie")
    assert reopened["bilanReopen"]["errors"] == []
    assert [entry["detail"] for entry in await entries(admin, kind="EVALUATION_CHANGE")] == [
        "bilanReopen",
        "bilanComplete",
        "bilanPaperScanUpload",
    ]


async def test_exports_and_the_learner_data_archive(admin, teacher, learner, demo):
    learner_id = encode_id("Learner", demo.learner.id)
    response = await teacher.http.get(f"/exports/learner-synthesis/{learner_id}", headers=teacher.headers)
    assert response.status_code == 200
    archive = await learner.http.get(f"/exports/learner-data/{learner_id}", headers=learner.headers)
    assert archive.status_code == 200
    await archive.aread()
    # a refused export is no export
    assert (await learner.http.get(f"/exports/level-synthesis/{learner_id}", headers=learner.headers)).status_code in (
        403,
        404,
    )
    archived, exported = await entries(admin)
    _check(exported, "EXPORT_DOWNLOAD", _by(teacher, "Teacher"), "TEACHER", "Learner", learner_id, "learner-synthesis")
    _check(
        archived,
        "LEARNER_DATA_ARCHIVE",
        _by(learner, "Learner"),
        "LEARNER",
        "Learner",
        learner_id,
        "learner data archive",
    )


CREATE_LEARNER = """mutation($input: LearnerCreateInput!) { learnerCreate(input: $input) {
  user { id } temporaryPassword errors { field code } } }"""


async def test_account_changes(admin, demo):
    created = (
        await admin.data(
            CREATE_LEARNER,
            input={
                "firstName": "Inès",
                "lastName": "VOLTA",
                "email": "ines.volta@demo.pfmp.test",
                "classroomId": encode_id("Classroom", demo.learner.classroom_id),
                "status": "SCHOOL",
            },
        )
    )["learnerCreate"]
    assert created["errors"] == []
    new_id = created["user"]["id"]
    await admin.data("mutation($id: ID!) { userDeactivate(input: {id: $id}) { errors { code } } }", id=new_id)
    await admin.data("mutation($id: ID!) { userRevokeTokens(input: {id: $id}) { errors { code } } }", id=new_id)
    found = await entries(admin, kind="ACCESS_CHANGE")
    assert [entry["detail"] for entry in found] == ["userRevokeTokens", "userDeactivate", "learnerCreate"]
    admin_id = _by(admin, "Administrator")
    for entry in found:
        _check(entry, "ACCESS_CHANGE", admin_id, "ADMIN", "Learner", new_id, entry["detail"])


ISSUE = """mutation($p: ID!, $t: ID!) { trainerLinkIssue(input: {portfolioId: $p, trainerId: $t}) {
  link trainerLink { id } errors { code } } }"""
EXCHANGE = """mutation($link: String!) { trainerLinkExchange(input: {link: $link}) { token errors { code } } }"""
REVOKE = """mutation($id: ID!) { trainerLinkRevoke(input: {id: $id}) { errors { code } } }"""
ASSIGN = """mutation($p: ID!, $t: ID!) { portfolioTrainerUnassign(input: {portfolioId: $p, trainerId: $t}) { errors { code } } }"""


async def test_trainer_links_issued_used_revoked_and_an_assignment(admin, teacher, anonymous):
    # given the demo's running period
    portfolio = await Portfolio.get(learner__last_name="DUPIRE", period__name="Stage de découverte")
    tutor = await User.get(email="eude.toutcourt@demo.pfmp.test")
    tutor_id = encode_id("Tutor", tutor.id)
    portfolio_id = encode_id("Portfolio", portfolio.id)
    # when the teacher issues a link, the tutor exchanges it, the teacher revokes it and unassigns the tutor
    issued = (await teacher.data(ISSUE, p=portfolio_id, t=tutor_id))["trainerLinkIssue"]
    assert issued["errors"] == [], issued
    link_id = issued["trainerLink"]["id"]
    exchanged = (await anonymous.data(EXCHANGE, link=issued["link"]))["trainerLinkExchange"]
    assert exchanged["errors"] == [] and exchanged["token"]
    # a read through the link's token names the link
    linked = Api(anonymous.http, exchanged["token"])
    await linked.data("query($id: ID!) { node(id: $id) { id } }", id=portfolio_id)
    await teacher.data(REVOKE, id=link_id)
    await teacher.data(ASSIGN, p=portfolio_id, t=tutor_id)
    # then
    unassign, revoke, exchange, issue = await entries(admin, kind="ACCESS_CHANGE")
    teacher_id = _by(teacher, "Teacher")
    _check(issue, "ACCESS_CHANGE", teacher_id, "TEACHER", "TrainerLink", link_id, "trainerLinkIssue")
    _check(exchange, "ACCESS_CHANGE", tutor_id, "TUTOR", "TrainerLink", link_id, "trainerLinkExchange")
    assert exchange["trainerLinkId"] == link_id
    _check(revoke, "ACCESS_CHANGE", teacher_id, "TEACHER", "TrainerLink", link_id, "trainerLinkRevoke")
    assert unassign["detail"] == "portfolioTrainerUnassign" and unassign["actorId"] == teacher_id
