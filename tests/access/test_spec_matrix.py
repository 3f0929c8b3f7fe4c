"""permissions/table.py agrees with the matrix typed from access.md (tests/access/spec_matrix.py)."""

import pytest

from models.users import Role
from permissions.table import ACCESS_TABLE, Grant, linkable_roles
from tests.access.spec_matrix import (
    ALLOWED,
    ASSIGNED,
    BY_RULE,
    LINKED,
    MATRIX,
    OWN,
    OWN_ONCE_COMPLETED,
    PENDING_CAPABILITIES,
    REFUSED,
    ROLES,
    TAUGHT_OR_CREATED,
    TUTORS,
    TUTORS_AND_MASTERS,
    expected,
)

AS_CELL = {
    Grant.ALL: ALLOWED,
    Grant.OWN: OWN,
    Grant.ASSIGNED: ASSIGNED,
    Grant.TAUGHT_OR_CREATED: TAUGHT_OR_CREATED,
    Grant.TUTORS: TUTORS,
    Grant.TUTORS_AND_MASTERS: TUTORS_AND_MASTERS,
    Grant.LINKED: LINKED,
    Grant.OWN_ONCE_COMPLETED: OWN_ONCE_COMPLETED,
    None: REFUSED,
}


def test_every_rule_of_the_table_is_a_row_of_the_spec():
    assert sorted(set(ACCESS_TABLE) - set(BY_RULE)) == [], "rules the spec matrix does not have"
    assert sorted(set(BY_RULE) - set(ACCESS_TABLE)) == [], "spec rows the table does not carry"


@pytest.mark.parametrize("rule_key", sorted(ACCESS_TABLE))
def test_the_rule_names_the_spec_row_it_carries(rule_key):
    rule, row = ACCESS_TABLE[rule_key], BY_RULE[rule_key]
    assert (rule.object, rule.subject, rule.action) == (row.object, row.subject, row.action)
    assert rule.documented_here == (row.source == "README")


@pytest.mark.parametrize("rule_key", sorted(ACCESS_TABLE))
def test_the_rule_grants_what_the_spec_says(rule_key):
    granted = {role: AS_CELL[ACCESS_TABLE[rule_key].grants.get(role)] for role in ROLES}
    assert granted == {role: expected(rule_key, role) for role in ROLES}
    assert set(ACCESS_TABLE[rule_key].grants) <= set(ROLES)


def test_the_pending_rows_are_exactly_the_operations_not_built_yet():
    pending = [row for row in MATRIX if row.rule is None]
    assert {row.pending for row in pending} == PENDING_CAPABILITIES
    assert {(row.object, row.subject) for row in pending} == {
        ("Subscription events", "receive"),
    }
    # a pending row that the table now carries must name its rule instead
    carried = {(rule.object, rule.subject, rule.action) for rule in ACCESS_TABLE.values()}
    assert [r for r in pending if (r.object, r.subject, r.action) in carried] == []


def test_every_row_of_access_md_is_in_the_matrix():
    # both tables of access.md: 30 lines give 34 rows ("R W" cells give two), 15 more lines give 16 rows
    from_access_md = [row for row in MATRIX if row.source == "access.md"]
    assert len(from_access_md) == 34 + 16
    assert len({(r.object, r.subject, r.action) for r in MATRIX}) == len(MATRIX)
    decided_here = [row for row in MATRIX if row.source == "README"]
    assert len(decided_here) == 8


# access.md's words for whose trainer links a role manages, as roles
LINKED_TRAINERS = {TUTORS: (Role.TUTOR,), TUTORS_AND_MASTERS: (Role.TUTOR, Role.MASTER), REFUSED: ()}


@pytest.mark.parametrize("role", ROLES)
def test_a_role_manages_the_links_of_the_trainers_the_spec_names(role):
    assert linkable_roles(role) == LINKED_TRAINERS[expected("trainer_link.manage", role)]
