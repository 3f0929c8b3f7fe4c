"""Fixtures of the audit trail's tests: every client at a known address with a known User-Agent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.bilans.conftest import demo  # noqa: F401 (a fixture)

ADDRESS = "203.0.113.7"
USER_AGENT = "pfmp-audit-test/1.0"

ENTRIES = """query($first: Int, $after: String, $kind: AuditKind, $actor: ID, $subject: ID, $since: DateTime,
  $until: DateTime) {
  auditEntries(first: $first, after: $after, kind: $kind, actorId: $actor, subjectId: $subject, since: $since,
    until: $until) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id kind at actorId actorRole trainerLinkId subjectType subjectId detail address
      userAgent } }
  }
}"""


@pytest.fixture
async def http(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(ADDRESS, 40123))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"user-agent": USER_AGENT}
    ) as client:
        yield client


async def entries(admin, **variables) -> list[dict]:
    """The admin's view of the trail (newest first), every page."""
    found: list[dict] = []
    after = None
    while True:
        page = (await admin.data(ENTRIES, first=100, after=after, **variables))["auditEntries"]
        found.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]
