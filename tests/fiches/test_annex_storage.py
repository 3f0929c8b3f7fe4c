"""R16 on both annex stores (resolvers/fiches/annex_store.py): the local folder and a real S3-compatible server
(SeaweedFS, tests/storage.py). Uploads stream to the store in parts and come back byte-identical, with Range;
a deletion, a refusal or a failed upload leaves no object; the start-up sweep removes only what is old enough,
claims committed uploads a dead process left, and aborts its incomplete multipart uploads."""

from __future__ import annotations

import dataclasses
import os
import time

import obstore
import pytest

from graph.types.common import encode_id
from models.fiches import Annex, AnnexKind
from resolvers.fiches import annexes
from resolvers.fiches.annex_store import PART_SIZE, S3Store, annex_path, store_for, stored_key
from tests.conftest import STORAGES
from tests.fiches import samples
from tests.fiches.conftest import ANNEX_DELETE, Demo, mutate, stored_files, stored_objects, upload
from tests.fiches.test_annex_streaming import pdf, upload_in_pieces

MIB = 1024 * 1024
BOTH = pytest.mark.parametrize("storage", STORAGES, indirect=True)


@pytest.fixture
def settings(settings):
    """Large enough a limit for an upload in several multipart parts (PART_SIZE each)."""
    limit = 3 * PART_SIZE
    return dataclasses.replace(settings, upload_limit=limit, request_body_limit=limit + 256 * 1024)


async def _download(api, annex: dict, **headers):
    return await api.http.get(annex["downloadUrl"], headers={**api.headers, **headers})


@BOTH
@pytest.mark.parametrize("size", [1, MIB + 1, 2 * PART_SIZE + 12345], ids=lambda s: f"{s}B")
async def test_uploads_come_back_byte_identical(size, storage, learner, demo, settings):
    # given a file of that size: one byte of text, one batch and a bit, several multipart parts
    content = b"x" if size == 1 else pdf(size)
    # when the learner uploads it in pieces
    payload = await upload_in_pieces(learner, demo.fiche1, content)
    # then it is stored once, named only by its generated name, and downloads byte for byte
    assert payload["errors"] == [] and payload["annex"]["size"] == size
    response = await _download(learner, payload["annex"])
    assert response.status_code == 200 and response.content == content
    assert response.headers["content-length"] == str(size)
    [stored] = stored_files(settings)
    assert str(stored).endswith(stored_key((await Annex.get()).stored_name or ""))


@BOTH
async def test_a_range_is_read_from_the_store(storage, teacher, learner, demo):
    content = pdf(PART_SIZE + 1000)
    annex = (await upload_in_pieces(learner, demo.fiche1, content))["annex"]
    # a middle range, an open-ended one, a suffix
    for header, expected, first, last in (
        ("bytes=10-19", content[10:20], 10, 19),
        (f"bytes={PART_SIZE}-", content[PART_SIZE:], PART_SIZE, len(content) - 1),
        ("bytes=-5", content[-5:], len(content) - 5, len(content) - 1),
    ):
        response = await _download(teacher, annex, Range=header)
        assert response.status_code == 206, header
        assert response.content == expected
        assert response.headers["content-range"] == f"bytes {first}-{last}/{len(content)}"
        assert response.headers["content-length"] == str(len(expected))
    # beyond the end: 416 naming the size
    response = await _download(teacher, annex, Range=f"bytes={len(content)}-")
    assert response.status_code == 416 and response.headers["content-range"] == f"bytes */{len(content)}"
    # the same headers as every download
    whole = await _download(teacher, annex)
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["x-content-type-options"] == "nosniff"
    assert whole.headers["content-disposition"].startswith("attachment;")
    assert whole.headers["content-type"] == "application/pdf"


@BOTH
async def test_deleting_an_annex_leaves_no_object(storage, learner, demo, settings):
    annex = (await upload_in_pieces(learner, demo.fiche1, pdf(PART_SIZE + 1)))["annex"]
    assert len(stored_files(settings)) == 1
    payload = await mutate(learner, ANNEX_DELETE, "annexDelete", id=annex["id"])
    assert payload["errors"] == []
    assert stored_files(settings) == []
    assert (await _download(learner, annex)).status_code == 404


@BOTH
@pytest.mark.parametrize("refusal", ["type", "too large", "failure after the upload"])
async def test_a_refused_or_failed_upload_leaves_nothing(refusal, storage, learner, demo, settings, monkeypatch):
    if refusal == "type":
        response = await upload(learner, demo.fiche1, samples.EXE, "a.pdf")
        code = response.json()["data"]["annexUpload"]["errors"][0]["code"]
        assert code == "INVALID"
    elif refusal == "too large":
        # several parts already sent to the store when the limit is crossed: the multipart upload is aborted
        payload = await upload_in_pieces(learner, demo.fiche1, pdf(settings.upload_limit + 1))
        assert [e["code"] for e in payload["errors"]] == ["TOO_LARGE"]
    else:

        async def broken(*args, **kwargs):
            raise RuntimeError("database went away")

        monkeypatch.setattr(annexes, "_attach", broken)
        response = await upload(learner, demo.fiche1, pdf(PART_SIZE + 7), "a.pdf")
        assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert await Annex.all().count() == 0
    assert stored_files(settings) == []


async def _orphan(settings, name: str) -> None:
    """A stored file that no row names: what a deletion cut short leaves."""
    if settings.storage is None:
        path = annex_path(settings.annex_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"orphan")
    else:
        await obstore.put_async(store_for(settings).client, stored_key(name), b"orphan")


@BOTH
async def test_the_sweep_removes_files_without_a_row_only_once_old_enough(storage, learner, demo, settings):
    # given a stored annex and a stored file no row names, both just written
    annex = (await upload_in_pieces(learner, demo.fiche1, pdf(1000)))["annex"]
    await _orphan(settings, "0f" * 16)
    store = store_for(settings)
    # when a process starts with the default age threshold: both stay
    assert (await store.sweep(3600)).orphans == 0
    assert len(stored_files(settings)) == 2
    # when the threshold is passed: the orphan goes, the annex stays
    time.sleep(0.05)
    assert (await store.sweep(0)).orphans == 1
    assert len(stored_files(settings)) == 1
    assert (await _download(learner, annex)).status_code == 200


@pytest.mark.parametrize("storage", ["s3"], indirect=True)
async def test_the_s3_sweep_finishes_or_undoes_another_hosts_uploads_only_once_old_enough(
    storage, learner, demo, settings
):
    # given another host (its own incoming prefix) that died with: an upload whose row was committed before the
    # claim, an upload that never committed, and a multipart upload in the middle of its parts
    other = S3Store(settings.storage)
    committed, partial, in_parts = "c0" * 16, "d0" * 16, "e0" * 16
    await obstore.put_async(other.client, other.incoming_prefix + committed, b"%PDF-1.4 committed")
    await obstore.put_async(other.client, other.incoming_prefix + partial, b"%PDF-1.4 partial")
    writer = obstore.open_writer_async(other.client, other.incoming_prefix + in_parts, buffer_size=PART_SIZE)
    await writer.write(os.urandom(PART_SIZE + 1))
    await writer.flush()
    row = await Annex.create(
        fiche_id=Demo.pk(demo.fiche1),
        kind=AnnexKind.FILE,
        title="rapport",
        original_filename="rapport.pdf",
        stored_name=committed,
        content_type="application/pdf",
        size=18,
    )
    assert any(key.startswith("multipart:") for key in stored_objects(settings.storage))
    store = store_for(settings)
    # when this host starts with the default threshold: the other host may still be alive, nothing is touched
    assert not await store.sweep(3600)
    assert len(stored_objects(settings.storage)) == 3
    # when they are old enough: the committed upload is claimed, the other removed, the multipart upload aborted
    time.sleep(0.05)
    report = await store.sweep(0)
    assert (report.claimed, report.removed, report.aborted) == (1, 1, 1)
    assert stored_objects(settings.storage) == [stored_key(committed)]
    response = await learner.http.get(f"/annexes/{encode_id('Annex', row.id)}", headers=learner.headers)
    assert response.content == b"%PDF-1.4 committed"
