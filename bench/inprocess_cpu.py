"""CPU per answer of the read views (period, learner, visit screen, level dashboard), in-process (the ASGI app
through httpx, no network, no other process): a quick comparison of two versions of the code on one generated database.

    .venv/bin/python bench/generate.py --scale school --database-url sqlite:///tmp/school.sqlite3
    .venv/bin/python bench/inprocess_cpu.py sqlite:///tmp/school.sqlite3
    # another version of the code (e.g. `git archive <commit> | tar -x -C /tmp/base`), the same virtualenv:
    cd /tmp/base && PYTHONPATH=/tmp/base /path/to/.venv/bin/python bench/inprocess_cpu.py sqlite:///tmp/school.sqlite3

The ORM floor the same way (`bench/floor_app.py`: the same rows read with Tortoise `.values()` and plain rows,
dumped to JSON behind the same Starlette app and token check), for the ratio of CPU per answer:

    .venv/bin/python bench/inprocess_cpu.py --floor sqlite:///tmp/school.sqlite3

Per view: 3 warm-up requests, then 5 rounds of `--requests` requests; the median round's process CPU time per
answer (the client's share included: each client decodes every answer it gets, the project's and the floor's).
The garbage collector is tuned as in a served process (graph/app.py, PFMP_GC_TUNING's default) for both apps.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load  # noqa: E402
from bench import operations as ops  # noqa: E402
from bench.floor_app import ROUTES, create_floor_app  # noqa: E402
from graph.app import create_app  # noqa: E402
from graph.database import apply_migrations  # noqa: E402
from permissions.tokens import issue_token  # noqa: E402

VIEWS = ("period view", "learner view", "visit screen", "level dashboard")


class FloorRequester:
    """Asks the floor app for a view's rows and checks the answer names as many portfolios as the view's."""

    PATHS = {name: f"/floor/{route}" for route, name in ROUTES.items()}

    def __init__(self, client: httpx.AsyncClient, token: str, targets: ops.Targets):
        self.client, self.headers, self.targets = client, {"Authorization": f"Bearer {token}"}, targets

    async def send(self, name: str) -> None:
        response = await self.client.post(self.PATHS[name], headers=self.headers)
        response.raise_for_status()
        # every answer read, as the project's requester reads (and checks) each of its answers: the client's share
        # of the CPU counted alike on both sides
        answer = response.json()
        if name == "period view":
            count = len(answer["portfolios"])
            assert count == self.targets.period_portfolios, count


async def measure(
    url: str, requests: int, floor: bool = False, statistic: str = "median", views: tuple[str, ...] = VIEWS[:2]
) -> dict[str, float]:
    await apply_migrations(url)
    # the garbage collector tuned as a served process has it (PFMP_GC_TUNING's default), for both apps
    settings = dataclasses.replace(load._settings(Path(tempfile.mkdtemp()), url), gc_tuning=True)
    app = create_floor_app(settings) if floor else create_app(settings)
    async with app.router.lifespan_context(app):
        targets = await ops.find_targets()
        viewer = targets.viewer
        token = issue_token(
            secret=load.TOKEN_SECRET,
            issuer="pfmp",
            lifetime=3600,
            user_id=viewer.id,
            role=viewer.role.value,
            school_id=viewer.school_id,
            token_version=1,
        )[0]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            requester = FloorRequester(client, token, targets) if floor else load.Requester(client, token, targets)
            found = {}
            for name in views:
                for _ in range(3):
                    await requester.send(name)
                rounds = []
                for _ in range(5):
                    started = time.process_time()
                    for _ in range(requests):
                        await requester.send(name)
                    rounds.append((time.process_time() - started) / requests * 1000)
                found[name] = statistics.median(rounds) if statistic == "median" else min(rounds)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--floor", action="store_true", help="measure the ORM floor (bench/floor_app.py) instead")
    parser.add_argument(
        "--statistic",
        choices=("median", "min"),
        default="median",
        help="the median round (default) or the fastest: on a machine busy with other work, the fastest round is "
        "the one least slowed by it",
    )
    parser.add_argument(
        "--view",
        action="append",
        choices=VIEWS,
        help="a view to measure (repeat for several; default: the period and learner views)",
    )
    args = parser.parse_args()
    views = tuple(args.view or VIEWS[:2])
    found = asyncio.run(measure(args.database_url, args.requests, args.floor, args.statistic, views))
    print(", ".join(f"{name}: {ms:.1f} ms CPU per answer" for name, ms in found.items()))


if __name__ == "__main__":
    main()
