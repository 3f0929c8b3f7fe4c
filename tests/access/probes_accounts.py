"""Probes of the administrator's rules: levels and classrooms, learners, accounts."""

from graph.types.common import encode_id
from models.users import Role, User
from tests.access.registry import _global_id, _mutate, _reachable_learner, probe


async def _learner_id(role: Role) -> str:
    return encode_id("Learner", (await User.get(last_name=_reachable_learner(role))).id)


@probe("school.structure.write")
async def _(api, role):
    return await _mutate(api, """mutation { levelCreate(input: {name: "Troisième prépa-métiers"}) {
        errors { code } } }""", "levelCreate")


@probe("account.manage")
async def _(api, role):
    return await _mutate(api, "mutation($id: ID!) { userRevokeTokens(id: $id) { errors { code } } }",
                         "userRevokeTokens", id=await _global_id("Teacher", "professeur@demo.pfmp.test"))


@probe("learner.identity.write")
async def _(api, role):
    return await _mutate(api, """mutation($id: ID!) { learnerUpdate(id: $id, input: {firstName: "Angie"}) {
        errors { code } } }""", "learnerUpdate", id=await _learner_id(role))


@probe("learner.personal.write")
async def _(api, role):
    return await _mutate(api, """mutation($id: ID!) { learnerUpdate(id: $id, input: {phone: "0600000001"}) {
        errors { code } } }""", "learnerUpdate", id=await _learner_id(role))
