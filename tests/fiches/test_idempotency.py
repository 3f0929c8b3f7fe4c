"""Idempotency keys on activityFicheCreate and annexUpload (issue 16, part 4): a retry answers the first result and
writes nothing twice; the same key with another body is refused; keys are per user and kept 24 hours."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from models.fiches import ActivityFiche, Annex
from models.idempotency import IdempotencyKey
from models.users import User
from tests.conftest import Api, _settings, token_for
from tests.fiches import samples
from tests.fiches.conftest import CREATE, UPLOAD, multipart, stored_files
from tests.signin.conftest import Clock

DAY = 24 * 3600


@pytest.fixture
def clock() -> Clock:
    return Clock(time.time())


@pytest.fixture
def settings(tmp_path, database_url, clock):
    return _settings(tmp_path, database_url, clock=clock)


async def keyed(api: Api, key: str | bytes | None, query: str, **variables) -> dict:
    """The whole answer of a request sent with `Idempotency-Key: <key>` (none when key is None)."""
    headers = {"Idempotency-Key": key} if key is not None else {}
    response = await api.post(query, variables, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return body


async def create(api: Api, key: str | bytes | None, portfolio: str, title: str) -> dict:
    return (await keyed(api, key, CREATE, input={"portfolioId": portfolio, "title": title}))["data"][
        "activityFicheCreate"
    ]


def reasons(payload: dict) -> list[tuple[str, str]]:
    return [(e["code"], e["reason"]) for e in payload["errors"]]


async def fiches() -> int:
    return await ActivityFiche.all().count()


async def test_a_retried_fiche_creation_answers_the_first_fiche_and_writes_once(learner, demo):
    # given the learner's fiches
    before = await fiches()
    # when she creates a fiche with a key, and the retry (the answer was lost) sends the same request again
    first = await create(learner, "e0a3c1de-7d6b-4a36-9d8e-2f1c1c6b5a01", demo.dupire_portfolio, "Fiche 3")
    again = await create(learner, "e0a3c1de-7d6b-4a36-9d8e-2f1c1c6b5a01", demo.dupire_portfolio, "Fiche 3")
    # then both answers name the same fiche, and one fiche was written
    assert first["errors"] == [] and again["errors"] == []
    assert again["activityFiche"] == first["activityFiche"]
    assert await fiches() == before + 1
    # and without a key, the same request writes a second fiche (nothing else makes it idempotent)
    assert (await create(learner, None, demo.dupire_portfolio, "Fiche 3"))["errors"] == []
    assert await fiches() == before + 2


async def test_the_same_key_with_another_body_is_refused_and_writes_nothing(learner, demo):
    first = await create(learner, "k-1", demo.dupire_portfolio, "Fiche 3")
    before = await fiches()
    # another title, the same key
    other = await create(learner, "k-1", demo.dupire_portfolio, "Fiche 4")
    assert other["activityFiche"] is None
    assert reasons(other) == [("CONFLICT", "IDEMPOTENCY_KEY_REUSED")]
    # the same key on another mutation, with the same portfolio
    upload = await learner.http.post(
        "/graphql",
        headers={**learner.headers, "Idempotency-Key": "k-1"},
        **multipart(UPLOAD, {"f": first["activityFiche"]["id"], "t": None}, samples.PDF, "a.pdf"),
    )
    assert reasons(upload.json()["data"]["annexUpload"]) == [("CONFLICT", "IDEMPOTENCY_KEY_REUSED")]
    assert await fiches() == before and await Annex.filter(fiche_id=demo.pk(first["activityFiche"]["id"])).count() == 0


async def test_keys_are_per_user(learner, demo, http, settings):
    # given a second learner of the school, with her own portfolio
    other_user = await User.get(last_name="CARLIER")
    other = Api(http, token_for(other_user, settings), other_user)
    before = await fiches()
    # when both send one key
    mine = await create(learner, "shared-key", demo.dupire_portfolio, "Fiche 3")
    theirs = await create(other, "shared-key", demo.carlier_portfolio, "Fiche 3")
    # then each wrote her own fiche
    assert mine["errors"] == [] and theirs["errors"] == []
    assert mine["activityFiche"]["id"] != theirs["activityFiche"]["id"]
    assert await fiches() == before + 2
    assert await IdempotencyKey.filter(key="shared-key").count() == 2


async def test_a_key_is_kept_24_hours_then_forgotten(learner, demo, clock):
    first = await create(learner, "daily", demo.dupire_portfolio, "Fiche 3")
    before = await fiches()
    # 23 hours later the retry still answers the first fiche
    clock.advance(23 * 3600)
    assert (await create(learner, "daily", demo.dupire_portfolio, "Fiche 3"))["activityFiche"] == first["activityFiche"]
    assert await fiches() == before
    # past 24 hours the key is forgotten: the same key writes again, even with another body
    clock.advance(3600 + 1)
    later = await create(learner, "daily", demo.dupire_portfolio, "Fiche 4")
    assert later["errors"] == [] and later["activityFiche"]["id"] != first["activityFiche"]["id"]
    assert await fiches() == before + 1
    # and the expired claim was deleted, not kept beside the new one
    assert await IdempotencyKey.filter(key="daily").count() == 1


async def test_a_refused_write_does_not_hold_its_key(learner, demo):
    before = await fiches()
    # a first attempt refused (no title) writes nothing and keeps nothing
    refused = await keyed(
        learner, "fix-and-retry", CREATE, input={"portfolioId": demo.dupire_portfolio, "description": "x"}
    )
    assert [e["code"] for e in refused["data"]["activityFicheCreate"]["errors"]] == ["REQUIRED"]
    assert await IdempotencyKey.filter(key="fix-and-retry").count() == 0
    # the corrected request with the same key goes through
    fixed = await create(learner, "fix-and-retry", demo.dupire_portfolio, "Fiche 3")
    assert fixed["errors"] == [] and await fiches() == before + 1


@pytest.mark.parametrize("key", ["", " ", "é-clé".encode(), "tab\tkey", "x" * 101])
async def test_a_malformed_key_is_refused(learner, demo, key):
    before = await fiches()
    payload = await create(learner, key, demo.dupire_portfolio, "Fiche 3")
    assert reasons(payload) == [("INVALID", "IDEMPOTENCY_KEY_INVALID")]
    assert await fiches() == before


async def test_a_quoted_key_is_the_same_key(learner, demo):
    # the draft's value is a structured-field string: "abc" and abc name one key
    first = await create(learner, '"abc-123"', demo.dupire_portfolio, "Fiche 3")
    again = await create(learner, "abc-123", demo.dupire_portfolio, "Fiche 3")
    assert again["activityFiche"]["id"] == first["activityFiche"]["id"]


async def test_concurrent_requests_with_one_key_write_once(learner, demo):
    before = await fiches()
    answers = await asyncio.gather(*(create(learner, "twice-at-once", demo.dupire_portfolio, "F") for _ in range(4)))
    assert await fiches() == before + 1
    written = {a["activityFiche"]["id"] for a in answers if a["activityFiche"]}
    assert len(written) == 1
    # each other answer is the first one again, or a refusal while the first one runs
    for answer in answers:
        assert answer["activityFiche"] is not None or reasons(answer) == [("CONFLICT", "IDEMPOTENCY_KEY_IN_PROGRESS")]


async def test_a_browser_may_send_the_key_cross_origin(http):
    # the preflight of a front end of the allowed origin asking to send the header
    answer = await http.options(
        "/graphql",
        headers={
            "Origin": "https://front.example.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert answer.status_code == 200
    assert "idempotency-key" in answer.headers["access-control-allow-headers"].lower()


async def _upload(api: Api, key: str, fiche: str, content: bytes, filename: str = "rapport.pdf") -> dict:
    response = await api.http.post(
        "/graphql",
        headers={**api.headers, "Idempotency-Key": key},
        **multipart(UPLOAD, {"f": fiche, "t": None}, content, filename),
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["annexUpload"]


async def test_a_retried_upload_answers_the_first_annex_and_stores_one_file(learner, demo, settings):
    # given the files stored before
    files = len(stored_files(settings))
    # when the learner uploads a PDF with a key, then retries it
    first = await _upload(learner, "upload-1", demo.fiche2, samples.PDF)
    again = await _upload(learner, "upload-1", demo.fiche2, samples.PDF)
    # then both name one annex, one row and one file were written (the retry's bytes were dropped)
    assert first["errors"] == [] and again == first
    assert await Annex.filter(fiche_id=demo.pk(demo.fiche2)).count() == 1
    assert len(stored_files(settings)) == files + 1
    # and other bytes under the same key (the same name and size) are refused
    changed = samples.PDF.replace(b"/Catalog", b"/Catalgo")
    assert len(changed) == len(samples.PDF) and changed != samples.PDF
    refused = await _upload(learner, "upload-1", demo.fiche2, changed)
    assert reasons(refused) == [("CONFLICT", "IDEMPOTENCY_KEY_REUSED")]
    assert await Annex.filter(fiche_id=demo.pk(demo.fiche2)).count() == 1
    assert len(stored_files(settings)) == files + 1


async def test_a_retried_upload_changed_only_after_its_first_mebibyte_is_refused(learner, demo, settings):
    # given a PDF of nearly two mebibytes (the tests' limit: written and hashed in two batches), uploaded with a key
    content = b"%PDF-1.7\n" + os.urandom(2 * 1024 * 1024 - 4096)
    first = await _upload(learner, "upload-big", demo.fiche2, content)
    assert first["errors"] == []
    files = len(stored_files(settings))
    # when the same name and size come again under the key, one byte of the last batch changed
    changed = content[:-10] + bytes([content[-10] ^ 1]) + content[-9:]
    refused = await _upload(learner, "upload-big", demo.fiche2, changed)
    # then the key refuses it: every batch counts in the file's fingerprint, and nothing more is stored
    assert reasons(refused) == [("CONFLICT", "IDEMPOTENCY_KEY_REUSED")]
    assert len(stored_files(settings)) == files
    # and the very same bytes answer the first annex again
    assert await _upload(learner, "upload-big", demo.fiche2, content) == first
