"""With the response cache on, as served: an answer that read personal fields is never kept, so each read is
traced (a cache hit would answer without running, and without a trace)."""

from __future__ import annotations

import pytest

from tests.audit.conftest import entries
from tests.audit.test_personal_reads import NAMES_ONLY, PERSONAL
from tests.conftest import _settings


@pytest.fixture
def settings(tmp_path, database_url):
    return _settings(tmp_path, database_url, response_cache_bytes=1 << 20)


async def test_a_read_of_names_only_is_still_cached(teacher):
    await teacher.post(NAMES_ONLY)
    assert (await teacher.post(NAMES_ONLY)).headers.get("x-cache") == "hit"


async def test_a_traced_answer_is_never_served_from_the_cache(admin, teacher, settings):
    # the response cache is on in the served configuration: two identical reads are two traced reads
    first = await teacher.post(PERSONAL)
    second = await teacher.post(PERSONAL)
    assert first.status_code == second.status_code == 200
    assert second.headers.get("x-cache") != "hit"
    read = [edge for edge in first.json()["data"]["learners"]["edges"] if edge["node"]["email"]]
    assert len(await entries(admin, kind="PERSONAL_READ")) == 2 * len(read)


async def test_the_trail_is_never_answered_from_the_cache(admin, teacher):
    # given the admin read the trail
    first = await admin.post(ENTRIES_FIRST)
    assert first.json()["data"]["auditEntries"]["totalCount"] == 0
    # when a teacher reads personal fields (no data stamp moves), and the admin reads the trail again
    await teacher.post(PERSONAL)
    again = await admin.post(ENTRIES_FIRST)
    # then the new entries are there
    assert again.headers.get("x-cache") != "hit"
    assert again.json()["data"]["auditEntries"]["totalCount"] > 0


ENTRIES_FIRST = "{ auditEntries(first: 100) { totalCount } }"
