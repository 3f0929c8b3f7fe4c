"""Every mutation of the schema is tried by the access tests, in reach and out of reach.

The walk (probes_*.py) runs each as every role on a row the role reaches;
test_out_of_reach.py on a row it does not reach. A mutation added to the
schema without both probes fails here, unless listed below with the reason
and the tests that cover it instead.
"""

import re
from pathlib import Path

from graph.schema import schema

HERE = Path(__file__).parent

# The caller's own account, or no account yet: no other row to reach, no rule of the table.
SELF_SERVICE = {
    "login": "tests/foundation/test_auth.py",
    "casLogin": "tests/identity/test_cas.py",
    "passwordChange": "tests/foundation/test_auth.py",
    "signOutEverywhere": "tests/foundation/test_auth.py",
    # no account needed: holding the link is enough (access.md, "Trainer link · use", probed in probes_links.py)
    "trainerLinkExchange": "tests/people/test_trainer_links.py",
    # no bearer token needed: holding the refresh token is enough (refresh_token.use, probed in probes_foundation.py)
    "tokenRefresh": "tests/signin/test_refresh_tokens.py",
}
NOT_IN_THE_WALK = {
    "annexUpload": "a multipart request: tests/fiches/test_annex_upload.py tries it as every role",
    "bilanComplete": "needs a full grid: tests/bilans/test_lifecycle.py and test_access.py",
    "userExternalIdentitySet": "account.manage, probed through userRevokeTokens and the others; tests/identity",
    "rosterImport": "account.manage and school.structure.write; tests/identity/test_roster.py",
    "staffImport": "account.manage; tests/identity/test_staff_import.py tries it as every role",
}
# These create rows in the viewer's own school from names and files only: no row to be out of reach of.
NO_ROW_TO_MISS = {
    "levelCreate",
    # the viewer's own school: no id to give
    "schoolUpdate",
    # a rate of the viewer's own school, from a diploma year and a date
    "allowanceRateAdd",
    "teacherCreate",
    "learnerCreate",
    "tutorCreate",
    "masterCreate",
    "frameworkImport",
    "rosterImport",
    "staffImport",
    # named rows, tried out of reach elsewhere: tests/fiches/test_annex_upload.py, tests/identity
    "annexUpload",
    "userExternalIdentitySet",
}


def _named_in(paths) -> set[str]:
    text = "".join(path.read_text("utf-8") for path in paths)
    return {name for name in MUTATIONS if re.search(rf"\b{name}\b", text)}


MUTATIONS = set(schema._schema.mutation_type.fields)  # graphql-core's view of the schema


def test_every_mutation_is_walked_in_reach():
    walked = _named_in(sorted(HERE.glob("probes_*.py")))
    assert sorted(MUTATIONS - walked - set(SELF_SERVICE) - set(NOT_IN_THE_WALK)) == []
    assert walked & set(NOT_IN_THE_WALK) == set(), "probed now: drop it from NOT_IN_THE_WALK"


def test_every_mutation_naming_a_row_is_tried_out_of_reach():
    tried = _named_in([HERE / "test_out_of_reach.py"])
    assert sorted(MUTATIONS - tried - set(SELF_SERVICE) - NO_ROW_TO_MISS) == []
    assert set(SELF_SERVICE) | set(NOT_IN_THE_WALK) | NO_ROW_TO_MISS <= MUTATIONS
