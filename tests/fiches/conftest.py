"""Fixtures of the activity-fiche tests: the demo rows by name, GraphQL documents, multipart uploads."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from urllib.parse import quote
from xml.etree import ElementTree

import httpx
import obstore
import pytest

from graph.types.common import decode_id, encode_id
from models.bilans import CompanyBilan, InterimReview
from models.fiches import ActivityFiche
from models.frameworks import Competence, Criterion, Task
from models.portfolios import Portfolio
from models.users import User
from resolvers.fiches.annex_store import S3Store, s3_request
from tests.conftest import Api

FICHE_FIELDS = """
  id title autonomy workplace description analysis version number completed formerPeriodName
  readState deletedAt annexCount
  activityTypes { code }
  tasks { task { code } tickedByLearner checkedByTeacher }
  evaluationTargets { task { code } competence { code } criterion { position } }
  annexes { id kind title url filename contentType size downloadUrl }
"""

NODE = "query($id: ID!) { node(id: $id) { ... on ActivityFiche { %s } } }" % FICHE_FIELDS

PORTFOLIO_FICHES = """query($id: ID!) { node(id: $id) { ... on Portfolio {
  activityFiches { nodes { id title number readState deletedAt } } } } }"""

CREATE = (
    """mutation($input: ActivityFicheCreateInput!) { activityFicheCreate(input: $input) {
  activityFiche { %s } errors { field code reason message } } }"""
    % FICHE_FIELDS
)

UPDATE = (
    """mutation($input: ActivityFicheUpdateInput!) {
  activityFicheUpdate(input: $input) {
  activityFiche { %s } errors { field code reason message } } }"""
    % FICHE_FIELDS
)

DELETE = """mutation($id: ID!) { activityFicheDelete(input: {id: $id}) { deletedActivityFicheId errors { field code reason message } } }"""

TASKS_SET = """mutation($id: ID!, $t: [ID!]!) { activityFicheTasksSet(input: {id: $id, taskIds: $t}) {
  activityFiche { tasks { task { code } tickedByLearner checkedByTeacher }
                  evaluationTargets { task { code } competence { code } criterion { position } } }
  errors { field code reason message } } }"""

TARGETS_SET = """mutation($id: ID!, $t: [EvaluationTargetInput!]!) { activityFicheTargetsSet(input: {id: $id, targets: $t}) {
  activityFiche { evaluationTargets { task { code } competence { code } criterion { position } } }
  errors { field code reason message } } }"""

MARK_READ = """mutation($id: ID!) { activityFicheMarkRead(input: {id: $id}) { activityFiche { readState }
  errors { field code reason message } } }"""

ADD_URL = """mutation($f: ID!, $u: String!, $t: String) { annexAddUrl(input: {ficheId: $f, url: $u, title: $t}) {
  annex { id kind title url downloadUrl } errors { field code reason message } } }"""

ANNEX_DELETE = (
    """mutation($id: ID!) { annexDelete(input: {id: $id}) { deletedAnnexId errors { field code reason message } } }"""
)

UPLOAD = """mutation($f: ID!, $file: Upload!, $t: String) { annexUpload(input: {ficheId: $f, file: $file, title: $t}) {
  annex { id kind title filename contentType size downloadUrl } errors { field code reason message } } }"""


@dataclass
class Demo:
    """Global IDs of the demo rows the tests use."""

    dupire_portfolio: str
    hot_portfolio: str
    carlier_portfolio: str
    fiche1: str  # « Fiche 1 : Découverte de l'entreprise », TA 1-1 and TA 1-2 ticked
    fiche2: str  # « À compléter », DUPIRE's second fiche
    hot_fiche: str
    carlier_fiche: str
    tasks: dict[str, str]
    competences: dict[str, str]
    criteria: dict[tuple[str, int], str]

    @staticmethod
    def pk(global_id: str) -> int:

        return decode_id(global_id)[1]


async def _portfolio_of(last_name: str) -> Portfolio:
    return await Portfolio.get(learner__last_name=last_name)


@pytest.fixture
async def demo(app) -> Demo:
    dupire, hot, carlier = [await _portfolio_of(n) for n in ("DUPIRE", "HÔT", "CARLIER")]
    fiches = await ActivityFiche.filter(portfolio_id=dupire.id).order_by("id")
    tasks = {
        t.code: encode_id("Task", t.id)
        for t in await Task.filter(framework__code="CAP-ELEC", framework__school_id=None)
    }
    competences = {}
    criteria = {}
    for c in await Competence.filter(framework__code="CAP-ELEC", framework__school_id=None):
        competences[c.code] = encode_id("Competence", c.id)
        for k in await Criterion.filter(competence_id=c.id):
            criteria[(c.code, k.position)] = encode_id("Criterion", k.id)
    return Demo(
        dupire_portfolio=encode_id("Portfolio", dupire.id),
        hot_portfolio=encode_id("Portfolio", hot.id),
        carlier_portfolio=encode_id("Portfolio", carlier.id),
        fiche1=encode_id("ActivityFiche", fiches[0].id),
        fiche2=encode_id("ActivityFiche", fiches[1].id),
        hot_fiche=encode_id("ActivityFiche", (await ActivityFiche.get(portfolio_id=hot.id)).id),
        carlier_fiche=encode_id("ActivityFiche", (await ActivityFiche.get(portfolio_id=carlier.id)).id),
        tasks=tasks,
        competences=competences,
        criteria=criteria,
    )


async def lock_period_of(portfolio_global_id: str) -> None:
    """R7: put the portfolio's bilan in an interim review, which locks its period."""

    portfolio = await Portfolio.get(id=decode_id(portfolio_global_id)[1])
    bilan = await CompanyBilan.get(portfolio_id=portfolio.id)
    learner = await User.get(id=portfolio.learner_id)
    review = await InterimReview.create(school_id=learner.school_id, learner=learner, review_date=dt.date.today())
    await review.bilans.add(bilan)


async def make_free(fiche_global_id: str) -> None:
    """As deleting the period would (R8): the fiche leaves its portfolio for the free fiches."""
    await ActivityFiche.filter(id=Demo.pk(fiche_global_id)).update(
        portfolio_id=None, former_period_name="Stage de découverte"
    )


async def fiche(api: Api, fiche_id: str) -> dict | None:
    return (await api.data(NODE, id=fiche_id))["node"]


async def mutate(api: Api, document: str, name: str, **variables) -> dict:
    """The payload of a mutation, asserting there was no top-level error."""
    return (await api.data(document, **variables))[name]


def multipart(
    operation: str,
    variables: dict,
    content: bytes | None = None,
    filename: str = "notes.txt",
    content_type: str = "application/octet-stream",
) -> dict:
    """httpx arguments for the GraphQL multipart request spec: operations, map, then the file part."""
    operations = {"query": operation, "variables": {**variables, "file": None}}
    return dict(
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, content if content is not None else b"", content_type)},
    )


async def upload(
    api: Api,
    fiche_id: str,
    content: bytes,
    filename: str = "notes.txt",
    title: str | None = None,
    content_type: str = "application/octet-stream",
) -> httpx.Response:
    return await api.http.post(
        "/graphql",
        headers=api.headers,
        **multipart(UPLOAD, {"f": fiche_id, "t": title}, content, filename, content_type),
    )


async def upload_payload(
    api: Api, fiche_id: str, content: bytes, filename: str = "notes.txt", title: str | None = None
) -> dict:
    response = await upload(api, fiche_id, content, filename, title)
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]["annexUpload"]


def stored_files(settings) -> list:
    """Every file under the annex folder (the folder itself may hold sub-folders), or every object under the
    test's prefix of the bucket (uploads in flight included), and every incomplete multipart upload there."""
    if settings.storage is None:
        return sorted(p for p in settings.annex_dir.rglob("*") if p.is_file())
    return stored_objects(settings.storage)


def stored_objects(location) -> list[str]:
    keys = [m["path"] for chunk in obstore.list(S3Store(location).client) for m in chunk]
    prefix = location.prefix + "/"
    listing = ElementTree.fromstring(s3_request("GET", location, f"prefix={quote(prefix, safe='')}&uploads="))
    keys += [f"multipart:{k.text}" for k in listing.iter("{http://s3.amazonaws.com/doc/2006-03-01/}Key")]
    return sorted(keys)
