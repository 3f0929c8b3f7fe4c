"""Query.auditEntries: newest first, filters, keyset pages with totalCount, the admin of the school only; the trail
is append-only and purged past its retention."""

from __future__ import annotations

import datetime as dt

import pytest
from tortoise import connections

from graph.types.common import encode_id
from models.audit import AuditEntry, AuditKind, purge_audit_entries
from models.schools import School
from models.users import Role, User
from tests.audit.conftest import ENTRIES, entries
from tests.conftest import Api, token_for

NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


async def _trail(count: int = 12) -> tuple[User, User, User]:
    """`count` entries of the demo school, one minute apart, by the teacher and the admin in turn, about two
    learners in turn; and one of another school."""
    teacher = await User.get(email="professeur@demo.pfmp.test")
    admin = await User.get(email="admin@demo.pfmp.test")
    angelique = await User.get(email="angelique.dupire@demo.pfmp.test")
    matis = await User.get(role=Role.LEARNER, last_name="CARLIER")
    for number in range(count):
        actor = teacher if number % 2 == 0 else admin
        learner = angelique if number % 3 == 0 else matis
        await AuditEntry.create(
            school_id=teacher.school_id,
            at=NOW + dt.timedelta(minutes=number),
            kind=AuditKind.PERSONAL_READ if number % 4 else AuditKind.EXPORT_DOWNLOAD,
            actor_id=actor.id,
            actor_role=actor.role,
            subject_type="Learner",
            subject_id=learner.id,
            detail=f"entry {number}",
        )
    return teacher, angelique, matis


async def _other_admin(http, settings) -> Api:
    other = await School.create(uai="0590003D", name="Lycée d'ailleurs")
    admin = await User.create(
        school=other, role=Role.ADMIN, email="admin@ailleurs.test", first_name="Ada", last_name="AILLEURS"
    )
    await AuditEntry.create(
        school_id=other.id,
        at=NOW,
        kind=AuditKind.ACCESS_CHANGE,
        actor_id=admin.id,
        actor_role=Role.ADMIN,
        detail="ailleurs",
    )
    return Api(http, token_for(admin, settings), admin)


async def test_newest_first_in_pages_with_stable_cursors(admin):
    await _trail(12)
    first = (await admin.data(ENTRIES, first=5))["auditEntries"]
    assert first["totalCount"] == 12
    assert [edge["node"]["detail"] for edge in first["edges"]] == [f"entry {n}" for n in range(11, 6, -1)]
    assert first["pageInfo"]["hasNextPage"] is True
    # an entry written meanwhile moves no page: the next one follows the cursor's entry
    await AuditEntry.create(
        school_id=admin.user.school_id, at=NOW + dt.timedelta(hours=1), kind=AuditKind.ACCESS_CHANGE, detail="new"
    )
    second = (await admin.data(ENTRIES, first=5, after=first["pageInfo"]["endCursor"]))["auditEntries"]
    assert [edge["node"]["detail"] for edge in second["edges"]] == [f"entry {n}" for n in range(6, 1, -1)]
    assert second["totalCount"] == 13


async def test_filters(admin):
    teacher, angelique, matis = await _trail(12)
    by_kind = await entries(admin, kind="EXPORT_DOWNLOAD")
    assert [entry["detail"] for entry in by_kind] == ["entry 8", "entry 4", "entry 0"]
    by_actor = await entries(admin, actor=encode_id("Teacher", teacher.id))
    assert [entry["detail"] for entry in by_actor] == [f"entry {n}" for n in range(10, -1, -2)]
    by_subject = await entries(admin, subject=encode_id("Learner", angelique.id))
    assert [entry["detail"] for entry in by_subject] == ["entry 9", "entry 6", "entry 3", "entry 0"]
    window = await entries(
        admin, since=(NOW + dt.timedelta(minutes=3)).isoformat(), until=(NOW + dt.timedelta(minutes=6)).isoformat()
    )
    assert [entry["detail"] for entry in window] == ["entry 5", "entry 4", "entry 3"]
    combined = await entries(
        admin, kind="PERSONAL_READ", actor=encode_id("Teacher", teacher.id), subject=encode_id("Learner", matis.id)
    )
    assert [entry["detail"] for entry in combined] == ["entry 10", "entry 2"]


async def test_bad_cursors_and_ids_are_bad_input(admin):
    await _trail(3)
    assert await admin.error_code(ENTRIES, first=1, after="bm90IGEgY3Vyc29y") == "BAD_USER_INPUT"
    assert await admin.error_code(ENTRIES, actor=encode_id("Annex", 1)) == "BAD_USER_INPUT"
    assert await admin.error_code(ENTRIES, first=101) == "BAD_USER_INPUT"


@pytest.mark.parametrize("role", [Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER])
async def test_only_an_admin_reads_the_trail(role, clients):
    await _trail(3)
    assert await clients[role].error_code(ENTRIES) == "FORBIDDEN"
    assert await clients[None].error_code(ENTRIES) == "UNAUTHENTICATED"


async def test_another_schools_admin_sees_nothing_of_it(admin, http, settings):
    await _trail(4)
    other = await _other_admin(http, settings)
    theirs = await entries(other)
    assert [entry["detail"] for entry in theirs] == ["ailleurs"]
    ours = await entries(admin)
    assert "ailleurs" not in {entry["detail"] for entry in ours} and len(ours) == 4
    node = await other.data("query($id: ID!) { node(id: $id) { id } }", id=ours[0]["id"])
    assert node["node"] is None


async def test_statements_do_not_grow_with_the_page(admin, sql_counter):
    await _trail(40)
    counts = []
    for size in (2, 40):
        sql_counter.reset()
        page = (await admin.data(ENTRIES, first=size))["auditEntries"]
        assert len(page["edges"]) == size
        counts.append(sql_counter.count)
    assert counts[0] == counts[1]


async def test_entries_cannot_be_changed_and_the_purge_deletes_the_old_ones(admin):
    await _trail(3)
    old = await AuditEntry.create(
        school_id=admin.user.school_id, at=NOW - dt.timedelta(days=400), kind=AuditKind.ACCESS_CHANGE, detail="old"
    )
    # the database refuses to change an entry (a trigger, on SQLite and PostgreSQL)
    with pytest.raises(Exception, match="append-only"):
        await connections.get("default").execute_query("UPDATE audit_entry SET detail = 'changed'")
    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.filter(id=old.id).update(detail="changed")
    # the purge deletes what is older than its limit, and says how many
    assert await purge_audit_entries(NOW - dt.timedelta(days=365)) == 1
    assert [entry["detail"] for entry in await entries(admin)] == ["entry 2", "entry 1", "entry 0"]
    assert await purge_audit_entries(NOW - dt.timedelta(days=365)) == 0
