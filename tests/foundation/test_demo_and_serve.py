"""The demo data of domain.md, and `pfmp serve --demo` answering over a real socket."""

import httpx

from models.fiches import ActivityFiche
from models.portfolios import LiaisonFiche
from resolvers.demo import DEMO_PASSWORD
from tests.conformance.server import live_server


async def test_demo_data_reproduces_the_seed_example(teacher):
    data = await teacher.data("""{
      levels { name classrooms { name learners { fullName status } } }
    }""")
    levels = {level["name"]: level for level in data["levels"]}
    first_year = levels["Première année de CAP"]
    learners = {c["name"]: [learner["fullName"] for learner in c["learners"]] for c in first_year["classrooms"]}
    assert learners == {
        "CAP 1 ELEC": ["Matis CARLIER", "Jean LECAM"],
        "CAPELECT": ["Angélique DUPIRE", "Marine FABROWSKI", "Lydie HÔT"],
    }


async def test_demo_liaison_fiche_and_first_fiche(app):

    liaison = await LiaisonFiche.get(portfolio__learner__last_name="DUPIRE").prefetch_related("tasks")
    assert (liaison.company_name, liaison.activity_domain, liaison.tutor_name, liaison.tutor_role) == (
        "Tout élec",
        "Entreprise générale d'électricité (particuliers)",
        "Eude Toutcourt",
        "électricien",
    )
    assert sorted(t.code for t in liaison.tasks) == ["TA 1-1", "TA 1-2"]
    titles = [f.title for f in await ActivityFiche.filter(learner__last_name="DUPIRE").order_by("id")]
    assert titles == ["Fiche 1 : Découverte de l'entreprise", "À compléter"]
    assert await ActivityFiche.filter(portfolio__period__name="Stage de découverte").count() == 6


def test_pfmp_serve_demo_answers_over_http(tmp_path):
    # given the README's first command, on a fresh data folder
    with live_server(tmp_path) as base:
        # then GraphiQL answers a browser and a demo account signs in
        assert "graphiql" in httpx.get(f"{base}/graphql", headers={"accept": "text/html"}).text.lower()
        login = httpx.post(
            f"{base}/graphql",
            json={
                "query": "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }",
                "variables": {"e": "admin@demo.pfmp.test", "p": DEMO_PASSWORD},
            },
        ).json()
        token = login["data"]["login"]["token"]
        me = httpx.post(
            f"{base}/graphql",
            json={"query": "{ me { role } school { uai } }"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert me["data"] == {"me": {"role": "ADMIN"}, "school": {"uai": "0599999Z"}}
