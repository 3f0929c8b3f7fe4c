"""Rules granted on "own" rows only, tried on a row the role reaches that is not its own (access.md).

"Trainer · email, phone: R own" for tutors and masters: a trainer reaches the
other trainers of the portfolios they follow (their names: README, rows
decided here) but reads only their own contact details.
"""

from graph.types.common import encode_id
from models.portfolios import Portfolio
from models.users import Role, User

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
