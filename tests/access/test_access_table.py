"""Walks the access table of permissions/table.py: every rule, every role, and anonymous.

The expected answer comes from the spec, typed by hand in spec_matrix.py (never
from `allows()`): each probe acts on a row the role reaches, so the answer is
"allowed" where the spec grants the role anything and "refused" where it grants
nothing. A rule without a probe (in a `probes_*.py` module) fails
`test_every_rule_is_walked` unless PENDING lists it with the reason.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

from models.users import Role
from permissions.table import ACCESS_TABLE
from tests.access.registry import PENDING, PROBES
from tests.access.spec_matrix import may

for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if module.name.startswith("probes_"):
        importlib.import_module(f"tests.access.{module.name}")

ROLES = [Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER]


def test_every_rule_is_walked():
    unwalked = set(ACCESS_TABLE) - set(PROBES) - set(PENDING)
    assert unwalked == set(), f"rules without a probe: {sorted(unwalked)}"
    assert set(PROBES) & set(PENDING) == set(), "a rule is both probed and pending"
    assert set(PENDING) <= set(ACCESS_TABLE), "PENDING names a rule the table does not have"


@pytest.mark.parametrize("rule_key", sorted(PROBES))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
async def test_rule_for_role(rule_key, role, clients):
    expected = "allowed" if may(rule_key, role) else "refused"
    assert await PROBES[rule_key](clients[role], role) == expected


@pytest.mark.parametrize("rule_key", sorted(PROBES))
async def test_rule_for_anonymous(rule_key, anonymous):
    assert await PROBES[rule_key](anonymous, None) == "UNAUTHENTICATED"
