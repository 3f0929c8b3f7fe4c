"""The registry of access-table probes, and the helpers probes share.

A probe performs one rule's read or action over HTTP as one role and reports
what happened ("allowed", "refused", or the top-level error code). Each
domain registers its probes in a `probes_<domain>.py` module beside this one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from graph.types.common import encode_id
from models.users import Role, User
from permissions.table import ACCESS_TABLE
from tests.conftest import Api

Probe = Callable[[Api, Role], Awaitable[str]]
PROBES: dict[str, Probe] = {}

# Rules whose operations do not exist yet, with the capability that brings them.
PENDING: dict[str, str] = {}


def probe(rule_key: str):
    def register(function: Probe) -> Probe:
        assert rule_key in ACCESS_TABLE, rule_key
        PROBES[rule_key] = function
        return function

    return register


async def _read(api: Api, query: str, pick: Callable[[dict], object], **variables) -> str:
    body = await api.execute(query, **variables)
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    value = pick(body["data"])
    return "allowed" if value not in (None, [], "") else "refused"


async def _write(api: Api, query: str, **variables) -> str:
    body = await api.execute(query, **variables)
    if body.get("errors"):
        code = body["errors"][0]["extensions"]["code"]
        return "refused" if code == "FORBIDDEN" else code
    return "allowed"


async def _global_id(type_name: str, email: str) -> str:

    return encode_id(type_name, (await User.get(email=email)).id)


async def _mutate(api: Api, query: str, name: str, **variables) -> str:
    """ "allowed" when the mutation went through, "refused" on FORBIDDEN, else the code met."""
    body = await api.execute(query, **variables)
    if body.get("errors"):
        code = body["errors"][0]["extensions"]["code"]
        return "refused" if code == "FORBIDDEN" else code
    errors = body["data"][name]["errors"]
    return "allowed" if not errors else errors[0]["code"]


def _reachable_learner(role: Role | None) -> str:
    """A learner whose portfolio the role reaches: the master follows Lydie, the others reach Angélique."""
    return "HÔT" if role is Role.MASTER else "DUPIRE"


def agreed(*answers: str) -> str:
    """One answer when every operation of a rule answered the same, else all of them (the probe fails)."""
    return answers[0] if len(set(answers)) == 1 else "/".join(answers)
