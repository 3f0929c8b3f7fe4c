"""The client examples of docs/clients.md, run as written against a real server with the demo data.

Each example is the code block after its `<!-- example: NAME -->` line: the JavaScript ones run in Node (a
browser's `fetch`, `FormData` and `Blob`), the ENT portal in this interpreter (httpx). What they print and
write is checked against the demo data of spec/domain.md; what they wrote on the server is read back through
the API.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import httpx
import pytest

from resolvers.demo import DEMO_PASSWORD
from tests.conformance.server import live_server
from tests.identity.conftest import AUDIENCE, ENT_ISSUER, FakeIdentityProvider

CLIENTS = Path(__file__).resolve().parents[2] / "docs" / "clients.md"
EXAMPLE = re.compile(r"<!-- example: (?P<name>\S+) -->\n```\w+\n(?P<code>.*?)\n```", re.S)
NODE = shutil.which("node")
# The smallest PNG, as the mobile example uploads it.
PIXEL_PNG_SIZE = 70

needs_node = pytest.mark.skipif(
    NODE is None and os.environ.get("PFMP_REQUIRE_AUDIT") != "1", reason="Node.js is not installed"
)


def examples() -> dict[str, str]:
    return {match["name"]: match["code"] for match in EXAMPLE.finditer(CLIENTS.read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def identity_provider():
    provider = FakeIdentityProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, identity_provider):
    """One server for the three examples: the demo data on SQLite, and the ENT's provider matched by email."""
    providers = [
        {
            "name": "ent",
            "issuer": ENT_ISSUER,
            "audience": AUDIENCE,
            "jwks_url": f"{identity_provider.base}/ent/jwks",
            "claim": "email",
            "match": "email",
        }
    ]
    with live_server(
        tmp_path_factory.mktemp("clients"), extra_env={"PFMP_OIDC_PROVIDERS": json.dumps(providers)}
    ) as base:
        yield base


def run(example: str, base: str, out: Path, **env: str) -> list[str]:
    code = examples()[example]
    script = out / example
    script.write_text(code, encoding="utf-8")
    command = [sys.executable, str(script)] if example.endswith(".py") else [NODE or "node", str(script)]
    result = subprocess.run(
        command,
        env={**os.environ, "PFMP_API": base, "PFMP_OUT": str(out), "PFMP_PASSWORD": DEMO_PASSWORD, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def sign_in(client: httpx.Client, email: str) -> None:
    query = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }"
    answer = client.post("/graphql", json={"query": query, "variables": {"e": email, "p": DEMO_PASSWORD}})
    client.headers["Authorization"] = f"Bearer {answer.json()['data']['login']['token']}"


def test_the_document_holds_the_three_examples():
    assert set(examples()) == {"web.mjs", "mobile.mjs", "ent_portal.py"}


@needs_node
def test_the_web_front_end_example(server, tmp_path):
    lines = run("web.mjs", server, tmp_path)

    # the payload's refusal, in French, with its reason; the top-level one for a request without a token
    assert lines[0] == "refused: CREDENTIALS_WRONG (INVALID): Adresse e-mail ou mot de passe incorrect."
    assert lines[1].startswith("signed out: UNAUTHENTICATED: ")
    # the period view: the seed's period and its learners
    assert any(" / Stage de découverte (" in line and line.endswith(": 5 portfolio(s)") for line in lines)
    # its five learners in order, over three pages of two
    listed = [line.split(":")[0].strip() for line in lines if line.startswith("  ")]
    assert listed == ["Matis CARLIER", "Angélique DUPIRE", "Marine FABROWSKI", "Lydie HÔT", "Jean LECAM"]
    # the meeting sheet, downloaded under its name and read back
    name = lines[-1].removeprefix("downloaded: ")
    assert name.startswith("Préparer-la-rencontre_") and name.endswith(".docx")
    document = docx.Document(str(tmp_path / name))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    text = "\n".join([paragraph.text for paragraph in document.paragraphs] + cells)
    assert "Stage de découverte" in text


@needs_node
def test_the_mobile_example(server, tmp_path):
    lines = run("mobile.mjs", server, tmp_path)

    assert lines[0].startswith("Angélique DUPIRE: writing in ")
    assert lines[1].startswith("to fix: input.title: ")
    assert re.fullmatch(r"created: \[\d+\] Pose d'un tableau électrique", lines[2])
    assert lines[3] == f"attached: Le tableau posé (IMG_0042.png, image/png, {PIXEL_PNG_SIZE} bytes)"
    fiche_id = lines[4].removeprefix("fiche: ")
    # the fiche and its photo are on the server, as the learner's teacher reads them
    with httpx.Client(base_url=server, timeout=10) as teacher:
        sign_in(teacher, "professeur@demo.pfmp.test")
        query = "query($id: ID!) { node(id: $id) { ... on ActivityFiche { title annexes { downloadUrl size } } } }"
        fiche = teacher.post("/graphql", json={"query": query, "variables": {"id": fiche_id}}).json()["data"]["node"]
        assert fiche["title"] == "Pose d'un tableau électrique"
        [annex] = fiche["annexes"]
        photo = teacher.get(annex["downloadUrl"])
        assert photo.status_code == 200
        assert photo.content.startswith(b"\x89PNG\r\n\x1a\n") and len(photo.content) == PIXEL_PNG_SIZE


def test_the_ent_portal_example(server, tmp_path, identity_provider):
    token = identity_provider.token(sub="ent-4242", email="angelique.dupire@demo.pfmp.test", email_verified=True)
    lines = run("ent_portal.py", server, tmp_path, ENT_ACCESS_TOKEN=token)

    assert lines[0] == "Angélique DUPIRE (CAPELECT)"
    assert any(line.startswith("  Stage de découverte: ") for line in lines[1:])


def test_the_ent_portal_example_refuses_a_token_its_provider_did_not_sign(server, tmp_path, identity_provider):
    forged = identity_provider.token(
        key=identity_provider.ec, alg="ES256", email="angelique.dupire@demo.pfmp.test", email_verified=True
    )
    code = examples()["ent_portal.py"]
    script = tmp_path / "ent_portal.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        env={**os.environ, "PFMP_API": server, "ENT_ACCESS_TOKEN": forged},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().startswith("refused: ")
