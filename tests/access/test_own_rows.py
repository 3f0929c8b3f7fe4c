"""Rules granted on "own" rows only, tried on a row the role reaches that is not its own (access.md).

"Trainer · email, phone: R own" for tutors and masters: a trainer reaches the
other trainers of the portfolios they follow (their names: README, rows
decided here) but reads only their own contact details.
"""

import pytest

from graph.types.common import encode_id
from models.portfolios import Portfolio
from models.users import Role, User
from permissions.table import allows, granted
from tests.access.spec_matrix import ROLES

TRAINER = "query($id: ID!) { node(id: $id) { ... on WorkplaceTrainer { fullName companyName email phone } } }"


async def test_a_tutor_reads_a_co_trainers_name_but_not_their_contact_details(tutor, app):
    # given a second tutor following the demo tutor's learner too
    colleague = await User.create(
        school_id=tutor.user.school_id,
        role=Role.TUTOR,
        email="co.tuteur@x.test",
        first_name="Cléo",
        last_name="COTUTEUR",
        company_name="Tout élec",
        phone="0600000005",
    )
    portfolio = await Portfolio.get(learner__last_name="DUPIRE")
    await portfolio.trainers.add(colleague)
    # when the demo tutor reads them both
    other = (await tutor.data(TRAINER, id=encode_id("Tutor", colleague.id)))["node"]
    own = (await tutor.data(TRAINER, id=encode_id("Tutor", tutor.user.id)))["node"]
    # then the colleague's name and company, not their email or phone; all of their own
    assert other == {"fullName": "Cléo COTUTEUR", "companyName": "Tout élec", "email": None, "phone": None}
    assert own["email"] == "eude.toutcourt@demo.pfmp.test"


async def test_a_learner_reads_their_tutor_but_not_the_tutors_contact_details(learner, app):
    tutor = await User.get(email="eude.toutcourt@demo.pfmp.test")
    node = (await learner.data(TRAINER, id=encode_id("Tutor", tutor.id)))["node"]
    assert node == {"fullName": "Eude Toutcourt", "companyName": "Tout élec", "email": None, "phone": None}


def test_a_rule_granting_own_rows_asked_without_ownership_is_a_defect_not_an_allow():
    # "LiaisonFiche · workplace: W own" for learners (access.md): which fiche decides it
    with pytest.raises(TypeError):
        allows("liaison.workplace.write", Role.LEARNER)
    assert allows("liaison.workplace.write", Role.LEARNER, owned=True) is True
    assert allows("liaison.workplace.write", Role.LEARNER, owned=False) is False
    # a role granted every row it reaches needs no ownership; a role granted nothing is refused without it
    assert allows("liaison.workplace.write", Role.TEACHER) is True
    assert allows("liaison.workplace.write", Role.TUTOR) is False
    # the first gate before the row is known: does the role hold any grant of the rule at all
    assert [granted("liaison.workplace.write", role) for role in ROLES] == [True, True, True, False, False]
