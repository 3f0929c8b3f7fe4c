"""Every document is reachable from the object it belongs to (issue 14, part 8): the schema answers a link per
export, null when access.md refuses the viewer that export, and each link, followed over HTTP with the same
token, gives the document."""

import pytest

from graph.routes.exports import EXPORTS
from graph.schema import schema
from graph.types.common import encode_id
from models.bilans import CompanyBilan
from models.periods import Period
from models.schools import Level
from models.users import Role, User
from tests.exports.delivery import DISCOVERY, complete, docx_of, fetch, portfolio_of, refusal

LINKS = """query($portfolio: ID!, $period: ID!, $learner: ID!, $level: ID!) {
  portfolio: node(id: $portfolio) { ... on Portfolio {
    meetingSheetUrl preConventionUrl attestationUrl bilan { documentUrl } } }
  period: node(id: $period) { ... on Period { preConventionsUrl attestationsUrl } }
  learner: node(id: $learner) { ... on Learner { synthesisUrl } }
  level: node(id: $level) { ... on Level { synthesisUrl } }
}"""

STATEMENT_LINKS = """query($period: ID!) { node(id: $period) { ... on Period {
  allowanceStatement { documentUrl csvUrl } } } }"""

# (object, field) → the file name's first word of the document it links to, and who may have it: access.md's
# Export rows (A, T, L, Tu, M; the learner's own rows, the trainers' assigned ones).
Y, N = True, False
FIELDS = {
    ("portfolio", "meetingSheetUrl"): ("Preparer-la-rencontre", (Y, Y, N, Y, Y)),
    ("portfolio", "preConventionUrl"): ("Pre-convention_", (Y, Y, Y, Y, Y)),
    ("portfolio", "attestationUrl"): ("Attestation-PFMP", (Y, Y, Y, N, N)),
    ("bilan", "documentUrl"): ("Bilan-entreprise", (Y, Y, Y, Y, Y)),
    ("period", "preConventionsUrl"): ("Pre-conventions_", (Y, Y, Y, Y, Y)),
    ("period", "attestationsUrl"): ("Attestations-PFMP", (Y, Y, Y, N, N)),
    ("learner", "synthesisUrl"): ("Synthese_", (Y, Y, Y, N, N)),
    ("level", "synthesisUrl"): ("Synthese-niveau", (Y, Y, N, N, N)),
}
ROLES = (Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER)


def _links(data: dict) -> dict[tuple[str, str], str | None]:
    portfolio = data["portfolio"]
    objects = {**data, "bilan": portfolio["bilan"]}
    return {(obj, field): objects[obj][field] for obj, field in FIELDS}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
async def test_each_link_is_there_when_the_viewer_may_have_the_document_and_gives_it(role, clients):
    # given DUPIRE's bilan completed (the master follows HÔT, whose bilan is a draft), and a row of each kind
    # the role reaches
    await complete([(await CompanyBilan.get(portfolio__learner__last_name="DUPIRE")).id])
    api = clients[role]
    last_name = "HÔT" if role is Role.MASTER else "DUPIRE"
    learner = await User.get(role=Role.LEARNER, last_name=last_name)
    ids = {
        "portfolio": encode_id("Portfolio", (await portfolio_of(last_name)).id),
        "period": encode_id("Period", (await Period.get(name=DISCOVERY)).id),
        "learner": encode_id("Learner", learner.id),
        "level": encode_id("Level", (await Level.get(name="Première année de CAP")).id),
    }
    # when the role asks for the links
    links = _links(await api.data(LINKS, **ids))
    # then a link where access.md lets the role have the document, null where it refuses it
    allowed = {key: cells[ROLES.index(role)] for key, (_, cells) in FIELDS.items()}
    assert {key: link is not None for key, link in links.items()} == allowed
    # and each link, followed with the same token, gives that document
    for key, link in links.items():
        if link is None:
            continue
        document = await fetch(api, link)
        docx_of(document)
        assert document.headers["content-disposition"].startswith(f'attachment; filename="{FIELDS[key][0]}'), key


async def test_a_refused_link_is_a_document_the_route_refuses(learner, tutor):
    # the learner's meeting sheet and the tutor's attestation are null: the routes refuse those documents
    portfolio = encode_id("Portfolio", (await portfolio_of("DUPIRE")).id)
    query = "query($id: ID!) { node(id: $id) { ... on Portfolio { meetingSheetUrl attestationUrl } } }"
    assert (await learner.data(query, id=portfolio))["node"]["meetingSheetUrl"] is None
    assert (await tutor.data(query, id=portfolio))["node"]["attestationUrl"] is None
    assert refusal(await fetch(learner, f"/exports/meeting-sheet/{portfolio}")) == (403, "FORBIDDEN")
    assert refusal(await fetch(tutor, f"/exports/attestation/{portfolio}")) == (403, "FORBIDDEN")


async def test_every_export_route_has_a_link_in_the_schema(admin):
    # the admin gets every link of the demo rows, and they name every route of graph/routes/exports.py
    ids = {
        "portfolio": encode_id("Portfolio", (await portfolio_of("DUPIRE")).id),
        "period": encode_id("Period", (await Period.get(name=DISCOVERY)).id),
        "learner": encode_id("Learner", (await User.get(last_name="DUPIRE")).id),
        "level": encode_id("Level", (await Level.get(name="Première année de CAP")).id),
    }
    links = list(_links(await admin.data(LINKS, **ids)).values())
    # the allowance statement's decision and accounting file (issue 14, part 5) hang off the period's statement
    statement = await admin.data(STATEMENT_LINKS, period=ids["period"])
    links += [statement["node"]["allowanceStatement"][field] for field in ("documentUrl", "csvUrl")]
    routes = {link.removeprefix("/exports/").rsplit("/", 1)[0] for link in links if link}
    assert routes == set(EXPORTS)
    assert all(f"  {field}: String" in schema.as_str() for _, field in FIELDS)


async def test_the_links_of_a_list_cost_no_statement(teacher, sql_counter):
    # given the period view's list of portfolios, asked without and with the links
    period = encode_id("Period", (await Period.get(name=DISCOVERY)).id)
    bare = "query($id: ID!) { node(id: $id) { ... on Period { portfolios { nodes { id learner { id } } } } } }"
    linked = """query($id: ID!) { node(id: $id) { ... on Period { preConventionsUrl attestationsUrl
      portfolios { nodes { id meetingSheetUrl preConventionUrl attestationUrl learner { id synthesisUrl } } } } } }"""
    sql_counter.reset()
    without = await teacher.data(bare, id=period)
    statements = sql_counter.count
    sql_counter.reset()
    with_links = await teacher.data(linked, id=period)
    # then the same statements, and a link on each of the five rows
    assert sql_counter.count == statements
    rows = with_links["node"]["portfolios"]["nodes"]
    assert len(rows) == len(without["node"]["portfolios"]["nodes"]) == 5
    assert all(row["attestationUrl"] and row["learner"]["synthesisUrl"] for row in rows)
