"""CPU per answer of the period and learner views, in-process (the ASGI app through httpx, no network, no other
process): a quick comparison of two versions of the code on one generated database.

    .venv/bin/python bench/generate.py --scale school --database-url sqlite:///tmp/school.sqlite3
    .venv/bin/python bench/inprocess_cpu.py sqlite:///tmp/school.sqlite3
    # another version of the code (e.g. `git archive <commit> | tar -x -C /tmp/base`), the same virtualenv:
    cd /tmp/base && PYTHONPATH=/tmp/base /path/to/.venv/bin/python bench/inprocess_cpu.py sqlite:///tmp/school.sqlite3

Per view: 3 warm-up requests, then 5 rounds of `--requests` requests; the median round's process CPU time per
answer (the client's share included: the same for both versions).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load  # noqa: E402
from bench import operations as ops  # noqa: E402
from graph.app import create_app  # noqa: E402
from graph.database import apply_migrations  # noqa: E402
from permissions.tokens import issue_token  # noqa: E402

VIEWS = ("period view", "learner view")


async def measure(url: str, requests: int) -> dict[str, float]:
    await apply_migrations(url)
    app = create_app(load._settings(Path(tempfile.mkdtemp()), url))
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
            requester = load.Requester(client, token, targets)
            found = {}
            for name in VIEWS:
                for _ in range(3):
                    await requester.send(name)
                rounds = []
                for _ in range(5):
                    started = time.process_time()
                    for _ in range(requests):
                        await requester.send(name)
                    rounds.append((time.process_time() - started) / requests * 1000)
                found[name] = statistics.median(rounds)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args()
    found = asyncio.run(measure(args.database_url, args.requests))
    print(", ".join(f"{name}: {ms:.1f} ms CPU per answer" for name, ms in found.items()))


if __name__ == "__main__":
    main()
