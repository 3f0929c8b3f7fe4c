"""The academy bench's school-day mix (bench/academy.py) on a tiny generated academy, one real `pfmp serve`
process: every operation of the mix is sent and answers without any error (bench/academy.py checks each answer:
HTTP status, GraphQL errors, the payload's errors, the expected content), and the writes are in the database.
No times asserted."""

from bench.academy import MIX, run_mix
from bench.generate import generate
from graph.database import orm
from models.fiches import ActivityFiche, Annex
from tests.bench.test_generator import QUIET

# Two schools of two learners per classroom: 8 learners per level, so 7 drafts to share among the clients.
SCHOOLS, LEARNERS_PER_CLASSROOM, CLIENTS, REQUESTS = 2, 2, 2, 200


async def test_the_school_day_mix_runs_every_operation_without_error(scratch_database, tmp_path):
    await generate(
        scratch_database, "school", schools=SCHOOLS, learners_per_classroom=LEARNERS_PER_CLASSROOM, report=QUIET
    )
    async with orm(scratch_database):
        fiches_before, annexes_before = await ActivityFiche.all().count(), await Annex.all().count()

    result = await run_mix(
        scratch_database, tmp_path, processes=1, clients=CLIENTS, duration=120, warmup=0, max_requests=REQUESTS
    )

    operations = result["operations"]
    assert result["schools"] == SCHOOLS
    assert result["errors"] == 0, {name: op["errors"] for name, op in operations.items()}
    # every operation of the mix was sent and answered
    assert {name: operations.get(name, {}).get("answers", 0) > 0 for name, _ in MIX} == {name: True for name, _ in MIX}
    assert REQUESTS <= result["answers"] < REQUESTS + CLIENTS
    # the writes the mix counted as answered are there: one fiche per fiche answered, one file per upload
    async with orm(scratch_database):
        assert await ActivityFiche.all().count() - fiches_before == operations["fiche create"]["answers"]
        assert await Annex.all().count() - annexes_before == operations["annex upload"]["answers"]
    stored = [p for p in (tmp_path / "annexes").rglob("*") if p.is_file() and ".incoming" not in p.parts]
    assert len(stored) == operations["annex upload"]["answers"]
