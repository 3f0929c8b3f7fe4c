"""R16: downloads through GET /annexes/{id}: the access rules of node(id:), streamed, named, with Range."""

import pytest

from graph.types.common import encode_id
from models.fiches import Annex, AnnexKind
from models.users import Role
from resolvers.fiches.annex_store import annex_path
from tests.fiches import samples
from tests.fiches.conftest import (
    ADD_URL,
    ANNEX_DELETE,
    DELETE,
    Demo,
    fiche,
    lock_period_of,
    mutate,
    stored_files,
    upload_payload,
)

CONTENT = samples.PDF + b"0123456789" * 100


@pytest.fixture
async def dupire_annex(learner, demo) -> dict:
    return (await upload_payload(learner, demo.fiche1, CONTENT, "Relevé été.pdf"))["annex"]


@pytest.fixture
async def hot_annex(demo, settings) -> dict:
    """An annex on HÔT's fiche, whose only trainer is the apprenticeship master."""
    row = await Annex.create(
        fiche_id=Demo.pk(demo.hot_fiche),
        kind=AnnexKind.FILE,
        title="plan",
        original_filename="plan.pdf",
        stored_name="ab" * 16,
        content_type="application/pdf",
        size=len(CONTENT),
    )
    path = annex_path(settings.annex_dir, row.stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(CONTENT)
    return {"downloadUrl": f"/annexes/{encode_id('Annex', row.id)}"}


# Which annex each role may download: (DUPIRE's, HÔT's)
DOWNLOADS = {
    Role.ADMIN: (200, 200),
    Role.TEACHER: (200, 200),
    Role.LEARNER: (200, 404),
    Role.TUTOR: (200, 404),
    Role.MASTER: (404, 200),
}


@pytest.mark.parametrize("role", list(DOWNLOADS), ids=lambda r: r.value)
async def test_each_role_downloads_exactly_the_annexes_it_reaches(role, clients, dupire_annex, hot_annex):
    api = clients[role]
    for annex, expected in zip((dupire_annex, hot_annex), DOWNLOADS[role]):
        response = await api.http.get(annex["downloadUrl"], headers=api.headers)
        assert response.status_code == expected
        if expected == 200:
            assert response.content == CONTENT
        else:
            assert CONTENT not in response.content


async def test_the_download_is_named_and_safe_to_open(learner, dupire_annex):
    response = await learner.http.get(dupire_annex["downloadUrl"], headers=learner.headers)
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="Releve ete.pdf"' in disposition
    assert "filename*=UTF-8''Relev%C3%A9%20%C3%A9t%C3%A9.pdf" in disposition
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-length"] == str(len(CONTENT))
    assert response.headers["accept-ranges"] == "bytes"


async def test_a_range_is_answered_with_206(teacher, dupire_annex):
    response = await teacher.http.get(dupire_annex["downloadUrl"], headers={**teacher.headers, "Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.content == CONTENT[10:20]
    assert response.headers["content-range"] == f"bytes 10-19/{len(CONTENT)}"
    tail = await teacher.http.get(dupire_annex["downloadUrl"], headers={**teacher.headers, "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == CONTENT[-5:]


async def test_without_a_valid_token_the_answer_is_401(anonymous, dupire_annex):
    response = await anonymous.http.get(dupire_annex["downloadUrl"])
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    forged = await anonymous.http.get(dupire_annex["downloadUrl"], headers={"Authorization": "Bearer nope"})
    assert forged.status_code == 401
    assert CONTENT not in response.content + forged.content


async def test_ids_that_name_no_file_answer_404(learner, demo, dupire_annex):
    link = await mutate(learner, ADD_URL, "annexAddUrl", f=demo.fiche1, u="https://example.org", t=None)
    assert link["annex"]["downloadUrl"] is None
    for wrong in (link["annex"]["id"], demo.fiche1, "not-an-id", encode_id("Annex", 999999)):
        response = await learner.http.get(f"/annexes/{wrong}", headers=learner.headers)
        assert response.status_code == 404, wrong


async def test_annexes_of_a_deleted_fiche_remain_for_staff_only(learner, teacher, tutor, demo, dupire_annex):
    await mutate(learner, DELETE, "activityFicheDelete", id=demo.fiche1)
    assert (await learner.http.get(dupire_annex["downloadUrl"], headers=learner.headers)).status_code == 404
    assert (await tutor.http.get(dupire_annex["downloadUrl"], headers=tutor.headers)).status_code == 404
    assert (await teacher.http.get(dupire_annex["downloadUrl"], headers=teacher.headers)).status_code == 200


async def test_a_file_missing_on_disk_answers_404(learner, dupire_annex, settings):
    for path in stored_files(settings):
        path.unlink()
    assert (await learner.http.get(dupire_annex["downloadUrl"], headers=learner.headers)).status_code == 404


async def test_deleting_an_annex_removes_its_file(learner, teacher, demo, dupire_annex, settings):
    # given the teacher read the fiche
    await mutate(
        teacher,
        "mutation($id: ID!) { activityFicheMarkRead(input: {id: $id}) { errors { code } } }",
        "activityFicheMarkRead",
        id=demo.fiche1,
    )
    # when the learner deletes the annex
    payload = await mutate(learner, ANNEX_DELETE, "annexDelete", id=dupire_annex["id"])
    # then the row and the file are gone, and the fiche is unread again
    assert payload == {"deletedAnnexId": dupire_annex["id"], "errors": []}
    assert stored_files(settings) == []
    assert (await fiche(learner, demo.fiche1))["annexCount"] == 0
    assert (await fiche(teacher, demo.fiche1))["readState"] == "UNREAD"
    assert (await learner.http.get(dupire_annex["downloadUrl"], headers=learner.headers)).status_code == 404


async def test_a_refused_deletion_keeps_row_and_file(learner, clients, demo, dupire_annex, hot_annex, settings):
    # out of reach: HÔT's annex does not exist for DUPIRE
    other = await mutate(learner, ANNEX_DELETE, "annexDelete", id=hot_annex["downloadUrl"].rsplit("/", 1)[1])
    assert [e["code"] for e in other["errors"]] == ["NOT_FOUND"]
    # other roles are refused
    for role in (Role.ADMIN, Role.TEACHER, Role.TUTOR):
        assert await clients[role].error_code(ANNEX_DELETE, id=dupire_annex["id"]) == "FORBIDDEN"
    # a locked period keeps its annexes
    await lock_period_of(demo.dupire_portfolio)
    locked = await mutate(learner, ANNEX_DELETE, "annexDelete", id=dupire_annex["id"])
    assert [e["code"] for e in locked["errors"]] == ["CONFLICT"]
    assert await Annex.all().count() == 2 and len(stored_files(settings)) == 2


@pytest.mark.parametrize("url", ["https://example.org/photos/chantier?x=1", "http://intranet.lycee.test/plan"])
async def test_http_and_https_links_are_added(url, learner, tutor, demo):
    payload = await mutate(learner, ADD_URL, "annexAddUrl", f=demo.fiche1, u=url, t="Photos")
    assert payload["errors"] == []
    assert (payload["annex"]["kind"], payload["annex"]["url"], payload["annex"]["title"]) == ("URL", url, "Photos")
    seen = await fiche(tutor, demo.fiche1)
    assert [(a["kind"], a["url"]) for a in seen["annexes"]] == [("URL", url)] and seen["annexCount"] == 1


@pytest.mark.parametrize(
    "url, code",
    [
        ("javascript:alert(document.cookie)", "INVALID"),
        ("JavaScript://example.org/%0Aalert(1)", "INVALID"),
        ("data:text/html,<script>alert(1)</script>", "INVALID"),
        ("ftp://example.org/file", "INVALID"),
        ("https://", "INVALID"),
        ("https://user:secret@example.org/", "INVALID"),
        ("https://exa mple.org/", "INVALID"),
        ("https://example.org:99999/", "INVALID"),
        ("   ", "REQUIRED"),
    ],
)
async def test_other_links_are_refused(url, code, learner, demo):
    payload = await mutate(learner, ADD_URL, "annexAddUrl", f=demo.fiche1, u=url, t=None)
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(["input", "url"], code)]
    assert await Annex.all().count() == 0


async def test_a_link_on_someone_elses_fiche_is_not_found(learner, demo):
    payload = await mutate(learner, ADD_URL, "annexAddUrl", f=demo.carlier_fiche, u="https://example.org", t=None)
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    assert await Annex.all().count() == 0
