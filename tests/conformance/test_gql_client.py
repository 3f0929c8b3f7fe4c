"""A real third-party client, gql 4, against the live server: sign-in, the GraphQL multipart request spec
(gql's FileVar), and the download of what it uploaded, byte for byte."""

from __future__ import annotations

import io

import httpx
import pytest
from gql import Client, FileVar, GraphQLRequest, gql
from gql.transport.httpx import HTTPXTransport

from models.users import Role
from resolvers.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.conformance.server import live_server

LEARNER_EMAIL = next(email for role, email, *_ in DEMO_ACCOUNTS if role is Role.LEARNER)
# A small PDF with bytes of every value after its header: any re-encoding on the way would show.
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"

LOGIN = gql("""mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code message } } }""")
MY_PORTFOLIOS = gql("""{ me { ... on Learner { portfolios { id activityFiches { nodes { id title } } } } } }""")
CREATE_FICHE = gql("""mutation($input: ActivityFicheCreateInput!) {
  activityFicheCreate(input: $input) { activityFiche { id } errors { code message } } }""")
UPLOAD = gql("""mutation($fiche: ID!, $file: Upload!, $title: String) {
  annexUpload(input: {ficheId: $fiche, file: $file, title: $title}) {
    annex { id filename contentType size downloadUrl } errors { field code reason message } } }""")


def client(base: str, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return Client(
        transport=HTTPXTransport(url=f"{base}/graphql", headers=headers, timeout=30), fetch_schema_from_transport=True
    )


def execute(session, request: GraphQLRequest, *, upload_files: bool = False, **variables):
    return session.execute(GraphQLRequest(request, variable_values=variables), upload_files=upload_files)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("gql")) as url:
        yield url


@pytest.fixture(scope="module")
def learner_token(base) -> str:
    with client(base) as session:
        answer = execute(session, LOGIN, email=LEARNER_EMAIL, password=DEMO_PASSWORD)
    assert answer["login"]["errors"] == []
    return answer["login"]["token"]


def test_gql_validates_its_documents_against_the_schema_the_server_introspects(base, learner_token):
    with client(base, learner_token) as session:
        # gql fetched the schema by introspection and checks documents against it before sending them
        assert session.client.schema is not None and session.client.schema.get_type("Upload") is not None
        with pytest.raises(Exception, match="Cannot query field 'nope'"):
            session.execute(gql("{ me { nope } }"))


def test_a_file_uploaded_with_gql_filevar_downloads_byte_for_byte(base, learner_token):
    with client(base, learner_token) as session:
        # given a fiche of the demo learner's portfolio, created through gql
        portfolio = execute(session, MY_PORTFOLIOS)["me"]["portfolios"][0]
        created = execute(
            session,
            CREATE_FICHE,
            input={
                "portfolioId": portfolio["id"],
                "title": "Fiche envoyée par gql",
                "description": "Pose d'un disjoncteur.",
            },
        )
        assert created["activityFicheCreate"]["errors"] == []
        fiche_id = created["activityFicheCreate"]["activityFiche"]["id"]

        # when gql sends a file with FileVar (a multipart request: operations, map, then the file part)
        file = FileVar(io.BytesIO(PDF), filename="schéma unifilaire.pdf", content_type="application/pdf")
        uploaded = execute(session, UPLOAD, upload_files=True, fiche=fiche_id, title="Schéma", file=file)["annexUpload"]

    # then the annex is recorded with the client's file name, the type judged from the content, and the size
    assert uploaded["errors"] == []
    annex = uploaded["annex"]
    assert (annex["filename"], annex["contentType"], annex["size"]) == (
        "schéma unifilaire.pdf",
        "application/pdf",
        len(PDF),
    )
    # and its downloadUrl answers exactly the bytes sent, to the same bearer token only
    response = httpx.get(base + annex["downloadUrl"], headers={"Authorization": f"Bearer {learner_token}"})
    assert response.status_code == 200 and response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert httpx.get(base + annex["downloadUrl"]).status_code == 401


def test_gql_uploads_to_a_fiche_out_of_reach_get_a_payload_error_not_an_exception(base, learner_token):
    with client(base, learner_token) as session:
        answer = execute(
            session,
            UPLOAD,
            upload_files=True,
            fiche="QWN0aXZpdHlGaWNoZTo5OTk5",
            title=None,
            file=FileVar(io.BytesIO(PDF), filename="a.pdf"),
        )["annexUpload"]
    assert answer["annex"] is None
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [(["input", "ficheId"], "NOT_FOUND")]
