"""Python calls per answer of one read view, in-process, counted by cProfile: where CPU time on a shared machine
is noise, the count of calls is the same from run to run, so two versions of the code compare on it.

    .venv/bin/python bench/generate.py --scale school --database-url sqlite:////tmp/school.sqlite3
    .venv/bin/python bench/calls_per_answer.py sqlite:////tmp/school.sqlite3 "visit screen"
    .venv/bin/python bench/calls_per_answer.py --floor sqlite:////tmp/school.sqlite3 "visit screen"
    # another version of the code: cd into its tree and run it with PYTHONPATH=. and the same virtualenv

Three warm-up requests, then `--answers` answers under cProfile; prints the calls per answer and the functions
with the most own time (`--top`, `--sort`).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path.cwd()))

from bench import load  # noqa: E402
from bench import operations as ops  # noqa: E402
from bench.floor_app import create_floor_app  # noqa: E402
from bench.inprocess_cpu import VIEWS, FloorRequester  # noqa: E402
from graph.app import create_app  # noqa: E402
from graph.database import apply_migrations  # noqa: E402
from permissions.tokens import issue_token  # noqa: E402


async def profile(url: str, view: str, answers: int, floor: bool) -> cProfile.Profile:
    await apply_migrations(url)
    settings = load._settings(Path(tempfile.mkdtemp()), url)
    app = create_floor_app(settings) if floor else create_app(settings)
    profiler = cProfile.Profile()
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
            for _ in range(3):
                await requester.send(view)
            profiler.enable()
            for _ in range(answers):
                await requester.send(view)
            profiler.disable()
    return profiler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("view", choices=VIEWS)
    parser.add_argument("--floor", action="store_true", help="count the ORM floor (bench/floor_app.py) instead")
    parser.add_argument("--answers", type=int, default=10)
    parser.add_argument("--top", type=int, default=15, help="how many functions to list")
    parser.add_argument("--sort", default="tottime", help="a pstats sort key: tottime, cumulative, ncalls…")
    args = parser.parse_args()
    profiler = asyncio.run(profile(args.database_url, args.view, args.answers, args.floor))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    print(f"{args.view}: {stats.total_calls / args.answers:.0f} calls per answer")  # type: ignore[attr-defined]
    stats.sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
