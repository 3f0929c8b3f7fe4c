"""Probes of periods, liaison fiches and company-trainer rules."""

from graph.types.common import encode_id
from models.periods import Period
from models.portfolios import LiaisonFiche
from models.users import Role
from tests.access.registry import _global_id, _mutate, _read, _reachable_learner, probe




async def _liaison_id(role: Role) -> str:
    fiche = await LiaisonFiche.get(portfolio__learner__last_name=_reachable_learner(role))
    return encode_id("LiaisonFiche", fiche.id)


@probe("period.read")
async def _(api, role):
    period = await Period.get(name="Stage de découverte")
    return await _read(api, "query($id: ID!) { node(id: $id) { ... on Period { name } } }",
                       lambda d: d["node"], id=encode_id("Period", period.id))


@probe("period.write")
async def _(api, role):
    period = await Period.get(name="Stage de découverte")
    return await _mutate(api, """mutation($id: ID!, $v: Int!) { periodUpdate(id: $id, version: $v,
        input: {name: "Stage renommé"}) { errors { code } } }""", "periodUpdate",
                         id=encode_id("Period", period.id), v=period.version)


@probe("liaison.read")
async def _(api, role):
    return await _read(api, "query($id: ID!) { node(id: $id) { ... on LiaisonFiche { objectives } } }",
                       lambda d: d["node"], id=await _liaison_id(role))


@probe("liaison.workplace.write")
async def _(api, role):
    fiche = await LiaisonFiche.get(portfolio__learner__last_name=_reachable_learner(role))
    return await _mutate(api, """mutation($id: ID!, $v: Int!) { liaisonFicheWorkplaceUpdate(id: $id, version: $v,
        input: {companyName: "Volt SA", activityDomain: "Tertiaire", tutorName: "Jo Volt"}) { errors { code } } }""",
                         "liaisonFicheWorkplaceUpdate", id=encode_id("LiaisonFiche", fiche.id), v=fiche.version)


@probe("liaison.plan.write")
async def _(api, role):
    fiche = await LiaisonFiche.get(portfolio__learner__last_name=_reachable_learner(role))
    return await _mutate(api, """mutation($id: ID!, $v: Int!) { liaisonFichePlanUpdate(id: $id, version: $v,
        input: {objectives: "Objectifs individualisés"}) { errors { code } } }""",
                         "liaisonFichePlanUpdate", id=encode_id("LiaisonFiche", fiche.id), v=fiche.version)


CREATE_TRAINER = """mutation($input: TrainerInput!) { %s(input: $input) { errors { code } } }"""


@probe("tutor.manage")
async def _(api, role):
    return await _mutate(api, CREATE_TRAINER % "tutorCreate", "tutorCreate",
                         input={"email": "nouveau.tuteur@x.test", "firstName": "Nou", "lastName": "VEAU"})


@probe("master.manage")
async def _(api, role):
    return await _mutate(api, CREATE_TRAINER % "masterCreate", "masterCreate",
                         input={"email": "nouveau.maitre@x.test", "firstName": "Nou", "lastName": "VEAU"})


@probe("trainer.contact.write")
async def _(api, role):
    # a trainer row the role reaches: themselves for trainers, the demo tutor for the others
    kind, email = (("ApprenticeshipMaster", "sylvie.ampere@demo.pfmp.test") if role is Role.MASTER
                   else ("Tutor", "eude.toutcourt@demo.pfmp.test"))
    return await _mutate(api, """mutation($id: ID!) { trainerUpdate(id: $id, input: {phone: "0600000000"}) {
        errors { code } } }""", "trainerUpdate", id=await _global_id(kind, email))


@probe("trainer.manage")
async def _(api, role):
    # the demo tutor follows Angélique, whose classroom the demo teacher teaches; a master edits themself
    kind, email = (("ApprenticeshipMaster", "sylvie.ampere@demo.pfmp.test") if role is Role.MASTER
                   else ("Tutor", "eude.toutcourt@demo.pfmp.test"))
    return await _mutate(api, """mutation($id: ID!) { trainerUpdate(id: $id, input: {firstName: "Eudes"}) {
        errors { code } } }""", "trainerUpdate", id=await _global_id(kind, email))
