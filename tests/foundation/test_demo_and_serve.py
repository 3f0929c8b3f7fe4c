"""The demo data of domain.md, and `pfmp serve --demo` answering over a real socket."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from resolvers.demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


async def test_demo_data_reproduces_the_seed_example(teacher):
    data = await teacher.data("""{
      levels { name classrooms { name learners { fullName status } } }
    }""")
    levels = {level["name"]: level for level in data["levels"]}
    first_year = levels["Première année de CAP"]
    learners = {c["name"]: [l["fullName"] for l in c["learners"]] for c in first_year["classrooms"]}
    assert learners == {
        "CAP 1 ELEC": ["Matis CARLIER", "Jean LECAM"],
        "CAPELECT": ["Angélique DUPIRE", "Marine FABROWSKI", "Lydie HÔT"],
    }


async def test_demo_liaison_fiche_and_first_fiche(app):
    from models.fiches import ActivityFiche
    from models.portfolios import LiaisonFiche

    liaison = await LiaisonFiche.get(portfolio__learner__last_name="DUPIRE").prefetch_related("tasks")
    assert (liaison.company_name, liaison.activity_domain, liaison.tutor_name, liaison.tutor_role) == (
        "Tout élec", "Entreprise générale d'électricité (particuliers)", "Eude Toutcourt", "électricien")
    assert sorted(t.code for t in liaison.tasks) == ["TA 1-1", "TA 1-2"]
    titles = [f.title for f in await ActivityFiche.filter(learner__last_name="DUPIRE").order_by("id")]
    assert titles == ["Fiche 1 : Découverte de l'entreprise", "À compléter"]
    assert await ActivityFiche.filter(portfolio__period__name="Stage de découverte").count() == 6


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_pfmp_serve_demo_answers_over_http(tmp_path):
    # given the README's first command, on a fresh data folder
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PFMP_", "DATABASE_URL"))}
    env["PFMP_DATA_DIR"] = str(tmp_path)
    server = subprocess.Popen([sys.executable, "-m", "graph.cli", "serve", "--demo", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        # when it is up
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        # then GraphiQL answers a browser and a demo account signs in
        assert "graphiql" in httpx.get(f"{base}/graphql", headers={"accept": "text/html"}).text.lower()
        login = httpx.post(f"{base}/graphql", json={
            "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
            "variables": {"e": "admin@demo.pfmp.test", "p": DEMO_PASSWORD}}).json()
        token = login["data"]["login"]["token"]
        me = httpx.post(f"{base}/graphql", json={"query": "{ me { role } school { uai } }"},
                        headers={"Authorization": f"Bearer {token}"}).json()
        assert me["data"] == {"me": {"role": "ADMIN"}, "school": {"uai": "0599999Z"}}
    finally:
        server.terminate()
        server.wait(timeout=30)
