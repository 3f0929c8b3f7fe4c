"""Idempotency keys on bilanUpdate (issue 16, part 4): a tutor's phone saving results on a bad network retries the
save; the retry answers the first save and logs each result once, where without a key it would be refused as stale."""

from __future__ import annotations

from models.bilans import BilanResultEntry
from models.idempotency import IdempotencyKey
from tests.bilans.conftest import UPDATE


async def _save(api, demo, key: str | None, version: int, **input) -> dict:
    headers = {"Idempotency-Key": key} if key else {}
    response = await api.post(UPDATE, {"input": {"id": demo.bilan_id, "version": version, **input}}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]["bilanUpdate"]


async def test_a_retried_save_answers_the_first_save_and_logs_each_result_once(teacher, demo):
    # given a draft bilan
    version = await demo.version()
    results = [{"competenceId": demo.competence_id("C07"), "level": "ACQUIRED"}]
    # when the teacher saves a result with a key, and the retry sends the same save (same version)
    first = await _save(teacher, demo, "save-1", version, comment="Bon stage.", results=results)
    again = await _save(teacher, demo, "save-1", version, comment="Bon stage.", results=results)
    # then both answers are the saved bilan, the version moved once, and one result was logged
    assert first["errors"] == [] and again == first
    assert first["bilan"]["version"] == version + 1
    assert await demo.version() == version + 1
    assert await BilanResultEntry.filter(bilan_id=demo.bilan.id).count() == 1
    # whereas the same retry without a key is refused as stale (someone else changed it, as far as it can tell)
    stale = await _save(teacher, demo, None, version, comment="Bon stage.", results=results)
    assert [e["reason"] for e in stale["errors"]] == ["VERSION_STALE"]


async def test_another_save_under_the_same_key_is_refused(teacher, demo):
    version = await demo.version()
    await _save(teacher, demo, "save-2", version, comment="Bon stage.")
    refused = await _save(teacher, demo, "save-2", version + 1, comment="Très bon stage.")
    assert [(e["code"], e["reason"]) for e in refused["errors"]] == [("CONFLICT", "IDEMPOTENCY_KEY_REUSED")]
    assert await demo.version() == version + 1
    # a save with nothing to change still answers the bilan again under its key
    await _save(teacher, demo, "save-3", version + 1)
    assert await IdempotencyKey.filter(key="save-3", completed_at__not_isnull=True).count() == 1
