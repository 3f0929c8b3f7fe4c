"""Probes of company bilans, interim reviews and the learner's dashboard."""

import datetime as dt
import json

from graph.types.common import encode_id
from models.bilans import BilanStatus, CompanyBilan, InterimReview
from models.users import Role, User
from resolvers.fiches.annex_store import store_for
from tests.access.registry import _mutate, _reachable_learner, _read, agreed, probe
from tests.fiches import samples

PORTFOLIO_BILAN = "query($id: ID!) { node(id: $id) { ... on Portfolio { bilan { id status } } } }"
LEARNER = "query($id: ID!) { node(id: $id) { ... on Learner { %s } } }"
PAST = dt.date(2020, 6, 30)


async def _bilan(role: Role, *, completed: bool) -> CompanyBilan:
    """The reachable learner's bilan, completed (dated in the past) or left a draft."""
    bilan = await CompanyBilan.get(portfolio__learner__last_name=_reachable_learner(role))
    if completed:
        await CompanyBilan.filter(id=bilan.id).update(
            status=BilanStatus.COMPLETED, meeting_date=PAST, completed_at=dt.datetime.now(dt.UTC)
        )
        bilan = await CompanyBilan.get(id=bilan.id)
    return bilan


async def _learner_id(role: Role) -> tuple[User, str]:
    learner = await User.get(role=Role.LEARNER, last_name=_reachable_learner(role))
    return learner, encode_id("Learner", learner.id)


@probe("bilan.draft.read")
async def _(api, role):
    bilan = await _bilan(role, completed=False)
    return await _read(
        api, PORTFOLIO_BILAN, lambda d: (d["node"] or {}).get("bilan"), id=encode_id("Portfolio", bilan.portfolio_id)
    )


@probe("bilan.completed.read")
async def _(api, role):
    bilan = await _bilan(role, completed=True)
    by_portfolio = await _read(
        api, PORTFOLIO_BILAN, lambda d: (d["node"] or {}).get("bilan"), id=encode_id("Portfolio", bilan.portfolio_id)
    )
    by_id = await _read(
        api,
        "query($id: ID!) { node(id: $id) { ... on CompanyBilan { status } } }",
        lambda d: d["node"],
        id=encode_id("CompanyBilan", bilan.id),
    )
    return by_portfolio if by_portfolio == by_id else f"{by_portfolio}/{by_id}"


@probe("bilan.write")
async def _(api, role):
    """Save a draft; then, completed, reopen it (completing needs a full grid: tests/bilans cover it)."""
    bilan = await _bilan(role, completed=False)
    saved = await _mutate(
        api,
        """mutation($id: ID!, $v: Int!) { bilanUpdate(input: {id: $id, version: $v, engagement: 3, comment: "Bon stage"}) { errors { code } } }""",
        "bilanUpdate",
        id=encode_id("CompanyBilan", bilan.id),
        v=bilan.version,
    )
    bilan = await _bilan(role, completed=True)
    reopened = await _mutate(
        api,
        """mutation($id: ID!, $v: Int!) { bilanReopen(input: {id: $id, version: $v, reason: "Erreur de saisie"}) { errors { code } } }""",
        "bilanReopen",
        id=encode_id("CompanyBilan", bilan.id),
        v=bilan.version,
    )
    return agreed(saved, reopened)


SCAN_UPLOAD = """mutation($id: ID!, $v: Int!, $file: Upload!) { bilanPaperScanUpload(input: {id: $id, version: $v, file: $file}) { errors { code } } }"""
SCAN_FIELD = "query($id: ID!) { node(id: $id) { ... on CompanyBilan { paperScan { filename } } } }"


async def upload_scan(api, bilan: CompanyBilan) -> str:
    """bilanPaperScanUpload as a multipart request: "allowed", "refused" (FORBIDDEN, by the rule or before the body
    is read) or the code met."""
    variables = {"id": encode_id("CompanyBilan", bilan.id), "v": bilan.version, "file": None}
    response = await api.http.post(
        "/graphql",
        headers=api.headers,
        data={
            "operations": json.dumps({"query": SCAN_UPLOAD, "variables": variables}),
            "map": '{"0": ["variables.file"]}',
        },
        files={"0": ("scan.pdf", samples.PDF, "application/pdf")},
    )
    body = response.json()
    if body.get("errors"):
        code = body["errors"][0]["extensions"]["code"]
        return "refused" if code == "FORBIDDEN" else code
    errors = body["data"]["bilanPaperScanUpload"]["errors"]
    return "allowed" if not errors else errors[0]["code"]


@probe("bilan.paper.write")
async def _(api, role):
    """Upload the scan of a draft (completing on paper needs the period started: tests/bilans/test_paper.py)."""
    return await upload_scan(api, await _bilan(role, completed=False))


async def scan_in_store(api, bilan: CompanyBilan) -> None:
    """A scan on the bilan, its file written through the app's own store."""
    store = store_for(api.http._transport.app.state.settings)
    incoming = store.incoming()
    await incoming.write(samples.PDF)
    await incoming.finish()
    await store.claim(incoming.name)
    await CompanyBilan.filter(id=bilan.id).update(
        scan_stored_name=incoming.name, scan_filename="scan.pdf", scan_content_type="application/pdf", scan_size=9
    )


@probe("bilan.paper.read")
async def _(api, role):
    """The field and the download, on the reachable learner's completed bilan."""
    bilan = await _bilan(role, completed=True)
    await scan_in_store(api, bilan)
    field = await _read(
        api, SCAN_FIELD, lambda d: (d["node"] or {}).get("paperScan"), id=encode_id("CompanyBilan", bilan.id)
    )
    response = await api.http.get(f"/bilans/{encode_id('CompanyBilan', bilan.id)}/paper-scan", headers=api.headers)
    download = {200: "allowed", 403: "refused", 401: "UNAUTHENTICATED"}.get(
        response.status_code, str(response.status_code)
    )
    return agreed(field, download)


@probe("review.create")
async def _(api, role):
    await _bilan(role, completed=True)
    _, learner = await _learner_id(role)
    return await _mutate(
        api,
        """mutation($l: ID!, $d: Date!) { interimReviewCreate(input: {learnerId: $l, date: $d}) {
        errors { code } } }""",
        "interimReviewCreate",
        l=learner,
        d=PAST.isoformat(),
    )


@probe("review.read")
async def _(api, role):
    bilan = await _bilan(role, completed=True)
    learner, learner_id = await _learner_id(role)
    review = await InterimReview.create(school_id=learner.school_id, learner=learner, review_date=PAST)
    await review.bilans.add(bilan)
    listed = await _read(
        api, LEARNER % "interimReviews { id date }", lambda d: (d["node"] or {}).get("interimReviews"), id=learner_id
    )
    by_id = await _read(
        api,
        "query($id: ID!) { node(id: $id) { ... on InterimReview { date } } }",
        lambda d: d["node"],
        id=encode_id("InterimReview", review.id),
    )
    return listed if listed == by_id else f"{listed}/{by_id}"


@probe("learner.dashboard.read")
async def _(api, role):
    _, learner_id = await _learner_id(role)
    dashboard = await _read(
        api,
        LEARNER % "dashboard { competences { currentLevel } periods { ficheCount } }",
        lambda d: (d["node"] or {}).get("dashboard"),
        id=learner_id,
    )
    free = await _read(
        api,
        LEARNER % "freeFiches { id }",
        lambda d: None if (d["node"] or {}).get("freeFiches") is None else "listed",
        id=learner_id,
    )
    return dashboard if dashboard == free else f"{dashboard}/{free}"
