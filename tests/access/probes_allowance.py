"""Probes of the PFMP allowance rules (issue 14, part 5), over the API as each role.

Each probe acts on the demo period « Stage de découverte », which every role reaches (the master through HÔT), so
a refusal is the rule's and never a row out of reach. The exports of the statement are tried per role in
tests/exports/test_delivery_allowance.py.
"""

from graph.types.common import encode_id
from models.periods import Period
from models.portfolios import Portfolio
from tests.access.registry import _mutate, _reachable_learner, agreed, probe

DISCOVERY = "Stage de découverte"


async def _period_id() -> str:
    return encode_id("Period", (await Period.get(name=DISCOVERY)).id)


@probe("allowance.write")
async def _(api, role):
    # every school-status learner's days recorded, so that the statement can be validated
    await Portfolio.filter(period__name=DISCOVERY).update(days_done=5)
    added = await _mutate(
        api,
        'mutation { allowanceRateAdd(input: {diplomaYear: CAP_2, validFrom: "2030-09-01", dailyRateCents: 1600})'
        " { errors { code } } }",
        "allowanceRateAdd",
    )
    validated = await _mutate(
        api,
        "mutation($p: ID!) { allowanceStatementValidate(input: {periodId: $p}) { errors { code } } }",
        "allowanceStatementValidate",
        p=await _period_id(),
    )
    return agreed(added, validated)


async def _node(api, query: str, pick, **variables) -> str:
    body = await api.execute(query, **variables)
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    node = body["data"]["node"]
    return "allowed" if node is not None and pick(node) is not None else "refused"


@probe("allowance.statement.read")
async def _(api, role):
    portfolio = await Portfolio.get(learner__last_name=_reachable_learner(role), period__name=DISCOVERY)
    own = await _node(
        api,
        "query($id: ID!) { node(id: $id) { ... on Portfolio { allowance { amountCents } } } }",
        lambda node: node["allowance"],
        id=encode_id("Portfolio", portfolio.id),
    )
    statement = await _node(
        api,
        "query($id: ID!) { node(id: $id) { ... on Period { allowanceStatement { lines { lastName } } } } }",
        lambda node: node["allowanceStatement"],
        id=await _period_id(),
    )
    return agreed(own, statement)


@probe("allowance.rates.read")
async def _(api, role):
    body = await api.execute("{ allowanceRates { diplomaYear dailyRateCents } }")
    if body.get("errors"):
        code = body["errors"][0]["extensions"]["code"]
        return "refused" if code == "FORBIDDEN" else code
    return "allowed" if body["data"]["allowanceRates"] else "refused"
