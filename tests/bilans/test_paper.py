"""The paper path (issue 16, part 2): a bilan signed on paper, its scan, SIGNED_ON_PAPER and the document."""

import asyncio
import io
import json
import zipfile

import pytest

from graph.backup import ANNEXES, backup
from models.bilans import BilanEvent, CompanyBilan
from models.portfolios import Portfolio
from models.users import User
from resolvers.fiches.annex_store import annex_path, store_for
from tests.bilans.conftest import LOG, REOPEN, add_melec_learners, errors, gid, melec_level
from tests.conftest import STORAGES
from tests.exports.reading import body_text, open_docx
from tests.fiches import samples
from tests.fiches.conftest import multipart, stored_files

SCAN_UPLOAD = """mutation($id: ID!, $v: Int!, $file: Upload!) { bilanPaperScanUpload(input: {id: $id, version: $v, file: $file}) {
  bilan { id version status paperScan { filename contentType size downloadUrl } }
  errors { field code reason message } } }"""

COMPLETE_ON = """mutation($id: ID!, $v: Int!, $m: SignatureMode!) { bilanComplete(input: {id: $id, version: $v, signatureMode: $m}) {
  bilan { id version status signatureMode paperScan { filename } } errors { field code reason message } } }"""

SCAN = """query($id: ID!) { node(id: $id) { ... on CompanyBilan { status signatureMode
  paperScan { filename contentType size downloadUrl } } } }"""


async def upload_scan(api, bilan_id: str, version: int, content: bytes, filename: str = "bilan-signe.pdf") -> dict:
    response = await api.http.post(
        "/graphql", headers=api.headers, **multipart(SCAN_UPLOAD, {"id": bilan_id, "v": version}, content, filename)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]["bilanPaperScanUpload"]


async def complete_on_paper(api, demo, mode: str = "PAPER") -> dict:
    return (await api.data(COMPLETE_ON, id=demo.bilan_id, v=await demo.version(), m=mode))["bilanComplete"]


async def download(api, url: str):
    return await api.http.get(url, headers=api.headers)


@pytest.mark.parametrize("storage", STORAGES, indirect=True)
async def test_a_bilan_signed_on_paper_keeps_its_scan_its_mode_and_its_event(teacher, demo, settings):
    # given a draft bilan whose results were entered, and the scan of the sheet signed on paper
    uploaded = await upload_scan(teacher, demo.bilan_id, 1, samples.PDF)
    assert uploaded["errors"] == []
    scan = uploaded["bilan"]["paperScan"]
    assert (scan["filename"], scan["contentType"], scan["size"]) == (
        "bilan-signe.pdf",
        "application/pdf",
        len(samples.PDF),
    )
    assert uploaded["bilan"]["version"] == 2
    # when the teacher completes it as signed on paper
    payload = await complete_on_paper(teacher, demo)
    # then it is completed like any other, with the mode, the scan and the SIGNED_ON_PAPER event
    assert payload["errors"] == []
    assert payload["bilan"]["status"] == "COMPLETED" and payload["bilan"]["signatureMode"] == "PAPER"
    assert payload["bilan"]["paperScan"] == {"filename": "bilan-signe.pdf"}
    log = (await teacher.data(LOG, id=demo.bilan_id))["node"]
    assert [(e["kind"], e["author"]["fullName"]) for e in log["events"]] == [
        ("COMPLETED", "Claire MARTIN"),
        ("SIGNED_ON_PAPER", "Claire MARTIN"),
    ]
    # and the scan comes back byte for byte
    response = await download(teacher, scan["downloadUrl"])
    assert response.status_code == 200
    assert response.content == samples.PDF
    assert response.headers["content-type"].startswith("application/pdf")
    assert "bilan-signe.pdf" in response.headers["content-disposition"]
    assert len(stored_files(settings)) == 1


async def test_a_bilan_completed_in_the_application_says_so_and_has_no_scan(teacher, demo):
    payload = (await teacher.data(COMPLETE_ON, id=demo.bilan_id, v=1, m="APP"))["bilanComplete"]
    assert payload["errors"] == [] and payload["bilan"]["signatureMode"] == "APP"
    assert payload["bilan"]["paperScan"] is None
    assert await BilanEvent.filter(bilan_id=demo.bilan.id, kind="SIGNED_ON_PAPER").count() == 0


async def test_completing_on_paper_without_a_scan_is_refused_and_writes_nothing(teacher, demo):
    payload = await complete_on_paper(teacher.speaking("en"), demo)
    assert errors(payload) == [(["input", "signatureMode"], "INVALID")]
    assert payload["errors"][0]["reason"] == "BILAN_SCAN_MISSING"
    assert "Upload the scan" in payload["errors"][0]["message"]
    row = await CompanyBilan.get(id=demo.bilan.id)
    assert (row.status, row.signature_mode, row.version) == ("DRAFT", None, 1)
    assert await BilanEvent.filter(bilan_id=demo.bilan.id).count() == 0


@pytest.mark.parametrize(
    "content, found",
    [
        (samples.TEXT_UTF8, "text/plain"),
        (samples.docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (bytes.fromhex("474946383961") + b"\x00" * 64, "image/gif"),
    ],
    ids=["text", "docx", "gif"],
)
async def test_a_scan_that_is_not_a_pdf_png_or_jpeg_is_refused_and_nothing_is_stored(
    teacher, demo, settings, content, found
):
    payload = await upload_scan(teacher.speaking("en"), demo.bilan_id, 1, content, "scan.pdf")
    assert errors(payload) == [(["input", "file"], "INVALID")]
    assert payload["errors"][0]["reason"] == "BILAN_SCAN_TYPE_REFUSED"
    assert payload["errors"][0]["message"] == (
        f"The scan of the signed sheet must be a PDF, PNG or JPEG file; this file is {found}."
    )
    assert stored_files(settings) == []
    row = await CompanyBilan.get(id=demo.bilan.id)
    assert (row.scan_stored_name, row.version) == (None, 1)


async def test_a_refused_annex_type_is_refused_for_a_scan_too(teacher, demo, settings):
    payload = await upload_scan(teacher, demo.bilan_id, 1, samples.EXE, "scan.pdf")
    assert errors(payload) == [(["input", "file"], "INVALID")]
    assert payload["errors"][0]["reason"] == "FILE_TYPE_REFUSED"
    assert stored_files(settings) == []


async def test_a_new_scan_replaces_the_earlier_one_and_its_file(teacher, demo, settings):
    await upload_scan(teacher, demo.bilan_id, 1, samples.PDF)
    first = await CompanyBilan.get(id=demo.bilan.id)
    second = await upload_scan(teacher, demo.bilan_id, 2, samples.PNG, "photo.png")
    assert second["errors"] == []
    assert second["bilan"]["paperScan"]["contentType"] == "image/png"
    files = stored_files(settings)
    assert len(files) == 1 and first.scan_stored_name not in str(files[0])
    response = await download(teacher, second["bilan"]["paperScan"]["downloadUrl"])
    assert response.content == samples.PNG


async def test_a_scan_is_uploaded_to_a_draft_from_the_current_version_by_a_teacher(
    teacher, tutor, learner, admin, demo, settings
):
    stale = await upload_scan(teacher, demo.bilan_id, 7, samples.PDF)
    assert errors(stale) == [(["input", "version"], "CONFLICT")]
    # a role that may upload nothing is refused before its body is read; a learner (annexes) by the rule
    for api, status in ((tutor, 403), (admin, 403), (learner, 200)):
        response = await api.http.post(
            "/graphql",
            headers=api.headers,
            **multipart(SCAN_UPLOAD, {"id": demo.bilan_id, "v": 1}, samples.PDF, "scan.pdf"),
        )
        assert response.status_code == status
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await complete_on_paper(teacher, demo, "APP")
    completed = await upload_scan(teacher, demo.bilan_id, 2, samples.PDF)
    assert completed["errors"][0]["reason"] == "BILAN_ALREADY_COMPLETED"
    assert stored_files(settings) == []
    assert (await CompanyBilan.get(id=demo.bilan.id)).scan_stored_name is None


async def test_who_downloads_the_scan(admin, teacher, learner, tutor, master, anonymous, demo):
    # given Angélique's bilan with its scan, still a draft
    scan = (await upload_scan(teacher, demo.bilan_id, 1, samples.JPEG, "feuille.jpg"))["bilan"]["paperScan"]
    url = scan["downloadUrl"]
    # then staff and her tutor read it; she does not yet (reached, not granted); Lydie's master does not reach it
    assert [(await download(api, url)).status_code for api in (admin, teacher, tutor, learner, master, anonymous)] == [
        200,
        200,
        200,
        403,
        404,
        401,
    ]
    assert (await learner.data(SCAN, id=demo.bilan_id))["node"] is None
    # when the bilan is completed on paper
    await complete_on_paper(teacher, demo)
    # then she reads it too, and the field shows it to her
    response = await download(learner, url)
    assert response.status_code == 200 and response.content == samples.JPEG
    assert (await learner.data(SCAN, id=demo.bilan_id))["node"]["paperScan"]["filename"] == "feuille.jpg"
    assert (await download(master, url)).status_code == 404
    # an id of another type, or made up, is a 404
    assert (await download(teacher, f"/bilans/{gid('Portfolio', demo.portfolio.id)}/paper-scan")).status_code == 404
    assert (await download(teacher, "/bilans/bm9wZQ==/paper-scan")).status_code == 404


async def test_a_master_reads_the_scan_of_the_apprentice_they_follow(teacher, master, demo):
    lydie = await User.get(last_name="HÔT")
    portfolio = await Portfolio.get(learner=lydie, period=demo.period)
    bilan = await CompanyBilan.get(portfolio=portfolio)
    scan = (await upload_scan(teacher, gid("CompanyBilan", bilan.id), bilan.version, samples.PDF))["bilan"]
    response = await download(master, scan["paperScan"]["downloadUrl"])
    assert response.status_code == 200 and response.content == samples.PDF


async def test_a_bilan_without_a_scan_answers_404(teacher, demo):
    assert (await download(teacher, f"/bilans/{demo.bilan_id}/paper-scan")).status_code == 404


async def test_the_completed_bilan_document_says_it_was_signed_on_paper(teacher, demo):
    await upload_scan(teacher, demo.bilan_id, 1, samples.PDF)
    await complete_on_paper(teacher, demo)
    response = await teacher.http.get(f"/exports/bilan/{demo.bilan_id}", headers=teacher.headers)
    assert response.status_code == 200
    text = body_text(open_docx(response.content))
    assert "signé sur papier" in text


async def test_the_document_of_a_bilan_completed_in_the_application_does_not_say_paper(teacher, demo):
    await complete_on_paper(teacher, demo, "APP")
    response = await teacher.http.get(f"/exports/bilan/{demo.bilan_id}", headers=teacher.headers)
    assert "signé sur papier" not in body_text(open_docx(response.content))


async def test_reopening_keeps_the_scan_and_drops_the_mode(teacher, demo, settings):
    await upload_scan(teacher, demo.bilan_id, 1, samples.PDF)
    await complete_on_paper(teacher, demo)
    payload = (await teacher.data(REOPEN, id=demo.bilan_id, v=3, r="Résultat à corriger"))["bilanReopen"]
    assert payload["errors"] == []
    node = (await teacher.data(SCAN, id=demo.bilan_id))["node"]
    assert node["status"] == "DRAFT" and node["signatureMode"] is None
    assert node["paperScan"]["filename"] == "bilan-signe.pdf"
    assert len(stored_files(settings)) == 1


@pytest.mark.parametrize("storage", STORAGES, indirect=True)
async def test_the_start_up_sweep_keeps_the_scans_a_bilan_names(teacher, demo, settings):
    scan = (await upload_scan(teacher, demo.bilan_id, 1, samples.PDF))["bilan"]["paperScan"]
    report = await store_for(settings).sweep(0)
    assert report.orphans == 0
    response = await download(teacher, scan["downloadUrl"])
    assert response.status_code == 200 and response.content == samples.PDF


PERIOD_BILANS = """query($id: ID!) { node(id: $id) { ... on Period { portfolios { nodes { bilan { id signatureMode
  paperScan { filename contentType size downloadUrl } } } } } } }"""


async def _scans_on_every_bilan(melec) -> None:
    for portfolio in melec.portfolios:
        await CompanyBilan.filter(portfolio_id=portfolio.id).update(
            status="COMPLETED",
            signature_mode="PAPER",
            scan_stored_name=f"{portfolio.id:032x}",
            scan_filename="scan.pdf",
            scan_content_type="application/pdf",
            scan_size=9,
        )


async def test_the_mode_and_the_scan_of_a_period_s_bilans_cost_no_statement_per_bilan(teacher, sql_counter):
    melec = await melec_level(teacher.user, 2)
    await _scans_on_every_bilan(melec)
    sql_counter.reset()
    few = await teacher.data(PERIOD_BILANS, id=gid("Period", melec.period.id))
    counted = sql_counter.count
    await add_melec_learners(melec, 6)
    await _scans_on_every_bilan(melec)
    sql_counter.reset()
    many = await teacher.data(PERIOD_BILANS, id=gid("Period", melec.period.id))
    assert sql_counter.count == counted
    bilans = [p["bilan"] for p in many["node"]["portfolios"]["nodes"]]
    assert len(bilans) == 8 and len(few["node"]["portfolios"]["nodes"]) == 2
    assert {(b["signatureMode"], b["paperScan"]["filename"]) for b in bilans} == {("PAPER", "scan.pdf")}


async def _learner_archive(api, demo) -> tuple[zipfile.ZipFile, dict]:
    response = await api.http.get(f"/exports/learner-data/{gid('Learner', demo.learner.id)}", headers=api.headers)
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return archive, json.loads(archive.read("donnees.json"))


async def test_the_learner_s_data_archive_holds_the_scan_once_she_may_read_it(teacher, learner, demo):
    await upload_scan(teacher, demo.bilan_id, 1, samples.PDF)
    stored = (await CompanyBilan.get(id=demo.bilan.id)).scan_stored_name
    # while a draft, her own archive shows its status only, and no scan
    archive, data = await _learner_archive(learner, demo)
    assert not [n for n in archive.namelist() if n.startswith("scans/")]
    await complete_on_paper(teacher, demo)
    # once completed on paper, the scan is beside the annexes, named in the bilan; its stored name never leaves
    archive, data = await _learner_archive(learner, demo)
    bilan = next(p["bilan"] for p in data["portfolios"] if p["id"] == demo.portfolio.id)
    assert bilan["signature_mode"] == "PAPER"
    assert bilan["scanArchivePath"] == f"scans/{demo.bilan.id}_bilan-signe.pdf"
    assert archive.read(bilan["scanArchivePath"]) == samples.PDF
    assert stored.encode() not in b"".join(archive.read(n) for n in archive.namelist())


async def test_a_backup_copies_the_scans_with_the_annexes(teacher, demo, settings, tmp_path):
    if not settings.database_url.startswith("sqlite://"):
        pytest.skip("pfmp backup copies the embedded SQLite deployment only")
    await upload_scan(teacher, demo.bilan_id, 1, samples.PDF)
    stored = (await CompanyBilan.get(id=demo.bilan.id)).scan_stored_name
    report = await asyncio.to_thread(backup, settings.database_url, settings.annex_dir, tmp_path / "copy")
    assert report.files == 1
    assert annex_path(tmp_path / "copy" / ANNEXES, stored).read_bytes() == samples.PDF


async def test_the_scan_has_a_signed_url_that_follows_the_bilans_read_rules(teacher, learner, anonymous, demo):
    # given Angélique's draft bilan with its scan
    await upload_scan(teacher, demo.bilan_id, 1, samples.JPEG, "feuille.jpg")
    signed_query = "query($id: ID!) { node(id: $id) { ... on CompanyBilan { paperScan { signedDownloadUrl } } } }"
    signed = (await teacher.data(signed_query, id=demo.bilan_id))["node"]["paperScan"]["signedDownloadUrl"]
    # then the teacher's signed URL opens it without a token, byte for byte
    response = await anonymous.http.get(signed)
    assert response.status_code == 200 and response.content == samples.JPEG
    # and the learner's own signed URL of the path, while the bilan is a draft, is refused as her token is (403)
    path = signed.split("?")[0]
    hers = await learner.data("query($p: String!) { signedDownloadUrl(path: $p) { url } }", p=path)
    assert (await anonymous.http.get(hers["signedDownloadUrl"]["url"])).status_code == 403
    # until it is completed on paper
    await complete_on_paper(teacher, demo)
    assert (await anonymous.http.get(hers["signedDownloadUrl"]["url"])).status_code == 200
