"""The read path side by side, in one run: the teacher's period view and the learner view through the server,
the ORM floor and (PostgreSQL) PostGraphile, without and with row-level security.

    .venv/bin/python bench/readpath.py --database-url postgres://postgres@127.0.0.1:5432/school \\
        --database-url postgres://postgres@127.0.0.1:5432/small
    .venv/bin/python bench/readpath.py --database-url sqlite:///tmp/school.sqlite3 \\
        --database-url sqlite:///tmp/small.sqlite3

Each `--database-url` is a database filled by bench/generate.py (`--scale school`, and e.g.
`--learners-per-classroom 3` for a second, smaller size: the teacher of four classrooms then follows 12
portfolios a period instead of 120); with two sizes the report gives each peer's cost per portfolio.

The peers, each its own process on a free loopback port, started once per database and all stopped at the end
(bench/load.py's Server):
- project: `pfmp serve` (one worker) with the garbage collector as CPython leaves it (PFMP_GC_TUNING=0);
- project, gc tuned: the same with the start-up tuning of graph/app.py (PFMP_GC_TUNING=1, the default);
  both with the response cache off (PFMP_RESPONSE_CACHE_MB=0): every answer is computed;
- project, repeat: the same, tuned, with the response cache on (PFMP_RESPONSE_CACHE_MB=64, the served default):
  the same read sent again and again on unchanged data, answered from the cache after the first (one statement
  for the token, one for the data version stamps);
- project, revalidate (304): the same server, the read sent by GET with the ETag of the last answer in
  If-None-Match, as a browser or an HTTP cache would: 304 without a body while the data is unchanged;
- floor: bench/floor_app.py, the same rows read with Tortoise (bench/operations.py's floor queries, `.values()`
  and plain rows), dumped to JSON behind the same uvicorn, Starlette and bearer-token check;
- PostGraphile / PostGraphile with RLS (PostgreSQL only): 4.14 on Node, installed with npm into a temporary
  folder (bench/postgraphile_peer.py says how the teacher's reach becomes row-level-security policies).

Per peer and view, `--repeat` times (the order of the peers turning from one run to the next): a warm-up, then
`--clients` concurrent clients for `--duration` seconds (at most `--max-requests` answers): answers per second,
p50/p95 latency, and the server process's CPU seconds (user + system, from /proc/<pid>/stat) per answer. Every
answer is checked (the number of portfolios the teacher reaches). The tables give the median of the runs; a
Markdown report goes to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tortoise import connections  # noqa: E402

from bench import operations as ops  # noqa: E402
from bench import postgraphile_peer as peer  # noqa: E402
from bench.floor_app import ROUTES  # noqa: E402
from bench.load import TOKEN_SECRET, Server, _concurrent  # noqa: E402
from graph.database import apply_migrations, orm  # noqa: E402
from graph.settings import normalize_database_url  # noqa: E402
from models.schools import School  # noqa: E402
from permissions.tokens import issue_token  # noqa: E402

# The views measured by default; `--view` chooses others (the visit screen and the level dashboard: the project and
# the floor only, PostGraphile is given the first two).
VIEWS = ("period view", "learner view")
ALL_VIEWS = ("period view", "learner view", "visit screen", "level dashboard")
PROJECT, TUNED, REPEAT, REVALIDATE, FLOOR, POSTGRAPHILE, POSTGRAPHILE_RLS = (
    "project (cold)",
    "project, gc tuned",
    "project, repeat (cache)",
    "project, revalidate (304)",
    "ORM floor",
    "PostGraphile",
    "PostGraphile with RLS",
)
FLOOR_PATHS = {name: f"/floor/{route}" for route, name in ROUTES.items()}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


@dataclass
class Peer:
    name: str
    server: Server
    headers: dict[str, str]
    # view -> (path, JSON body); `check(view, body)` raises on a wrong answer.
    requests: dict[str, tuple[str, dict]]
    check: object
    results: dict[str, list[dict]] = field(default_factory=dict)
    # The revalidating peer: the ETag of the last full answer, per view.
    etags: dict[str, str] = field(default_factory=dict)

    async def send(self, client: httpx.AsyncClient, view: str) -> None:
        path, body = self.requests[view]
        if self.name == REVALIDATE:
            params = {"query": body["query"], "variables": json.dumps(body["variables"])}
            headers = {**self.headers, **({"If-None-Match": self.etags[view]} if view in self.etags else {})}
            response = await client.get(self.server.base + path, params=params, headers=headers)
            if response.status_code == 304:
                return
            response.raise_for_status()
            self.etags[view] = response.headers["etag"]
            self.check(view, response.json())
            return
        response = await client.post(self.server.base + path, json=body, headers=self.headers)
        response.raise_for_status()
        if self.name == REPEAT and response.headers.get("x-cache") not in ("hit", "miss"):
            raise AssertionError("the response cache is off")
        self.check(view, response.json())


def _graphql_check(targets: ops.Targets):
    def check(view: str, body: dict) -> None:
        if body.get("errors"):
            raise AssertionError(body["errors"][0])
        ops.check_read(view, targets, body["data"])

    return check


def _floor_check(targets: ops.Targets):
    def check(view: str, body: dict) -> None:
        if view == "period view":
            assert len(body["portfolios"]) == targets.period_portfolios, len(body["portfolios"])
        elif view == "learner view":
            assert body["portfolios"] and all(p["fiches"] for p in body["portfolios"]), "no fiches"
        elif view == "visit screen":
            assert body["tasks"] and body["criteria"] and body["bilan"]["id"] == targets.visit_bilan_id, "no grid"
        else:
            assert body["learners"] and body["competences"], "no dashboard"

    return check


def _postgraphile_check(targets: ops.Targets):
    def check(view: str, body: dict) -> None:
        if body.get("errors"):
            raise AssertionError(body["errors"][0])
        if view == "period view":
            peer.check_period_view(body["data"], targets.period_portfolios)
        else:
            peer.check_learner_view(body["data"])

    return check


def start_peers(
    url: str, data_dir: Path, targets: ops.Targets, cli: Path | None, views: tuple[str, ...] = VIEWS
) -> list[Peer]:
    token = issue_token(
        secret=TOKEN_SECRET,
        issuer="pfmp",
        lifetime=6 * 3600,
        user_id=targets.viewer.id,
        role=targets.viewer.role.value,
        school_id=targets.viewer.school_id,
        token_version=1,
    )[0]
    bearer = {"Authorization": f"Bearer {token}"}
    graphql = {
        view: ("/graphql", {"query": ops.READS[view], "variables": ops.read_variables(view, targets)}) for view in views
    }
    peers = [
        Peer(
            PROJECT,
            Server(url, 1, data_dir, {"PFMP_GC_TUNING": "0"}, name="project"),
            bearer,
            graphql,
            _graphql_check(targets),
        ),
        Peer(
            TUNED,
            Server(url, 1, data_dir, {"PFMP_GC_TUNING": "1"}, name="tuned"),
            bearer,
            graphql,
            _graphql_check(targets),
        ),
        Peer(
            REPEAT,
            Server(url, 1, data_dir, {"PFMP_GC_TUNING": "1", "PFMP_RESPONSE_CACHE_MB": "64"}, name="repeat"),
            bearer,
            graphql,
            _graphql_check(targets),
        ),
        Peer(
            REVALIDATE,
            Server(url, 1, data_dir, {"PFMP_GC_TUNING": "1", "PFMP_RESPONSE_CACHE_MB": "64"}, name="revalidate"),
            bearer,
            graphql,
            _graphql_check(targets),
        ),
        Peer(
            FLOOR,
            Server(
                url,
                1,
                data_dir,
                {"PFMP_GC_TUNING": "0"},
                name="floor",
                command=lambda port: [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.floor_app:app_from_environment",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-proxy-headers",
                    "--http",
                    "graph.serving:NoDelayHTTPProtocol",
                ],
            ),
            bearer,
            {view: (FLOOR_PATHS[view], {}) for view in views},
            _floor_check(targets),
        ),
    ]
    if cli is not None:
        requests = {
            "period view": ("/graphql", {"query": peer.PERIOD_VIEW, "variables": {"id": targets.period_id}}),
            "learner view": (
                "/graphql",
                {"query": peer.LEARNER_VIEW, "variables": {"id": targets.learner_id, "teacher": targets.viewer.id}},
            ),
        }
        node_env = {"NODE_ENV": "production"}
        # PostGraphile answers a GET of /graphql with 405 once its schema is built.
        ready = {"ready": "/graphql", "ready_status": (405,)}
        peers.append(
            Peer(
                POSTGRAPHILE,
                Server(
                    url,
                    1,
                    data_dir,
                    node_env,
                    name="postgraphile",
                    **ready,
                    command=lambda port: peer.command(cli, url, port, None),
                ),
                {},
                requests,
                _postgraphile_check(targets),
            )
        )
        peers.append(
            Peer(
                POSTGRAPHILE_RLS,
                Server(
                    url,
                    1,
                    data_dir,
                    node_env,
                    name="postgraphile-rls",
                    **ready,
                    command=lambda port: peer.command(cli, url, port, TOKEN_SECRET),
                ),
                {"Authorization": f"Bearer {peer.token(TOKEN_SECRET, targets.viewer.id)}"},
                requests,
                _postgraphile_check(targets),
            )
        )
    return peers


async def measure_one(args, client: httpx.AsyncClient, one: Peer, view: str) -> dict:
    for _ in range(args.warmup):
        await one.send(client, view)
    pid = one.server.process.pid
    load = os.getloadavg()[0]
    before = cpu_seconds(pid)
    many = await _concurrent(
        lambda share: lambda: one.send(client, view), args.clients, args.duration, args.max_requests
    )
    spent = cpu_seconds(pid) - before
    many.update(load=load, cpu_per_answer=spent / max(1, many["answers"]), server_cpu=spent)
    return many


async def measure_database(args, url: str, data_dir: Path, cli: Path | None) -> dict:
    await apply_migrations(url)
    postgres = url.startswith("postgres://")
    async with orm(url):
        if not await School.exists():
            raise SystemExit("readpath: the database holds no school: fill it with bench/generate.py first")
        targets = await ops.find_targets()
        if postgres and cli is not None:
            await connections.get("default").execute_script(peer.REMOVE + peer.PREPARE)
    peers: list[Peer] = []
    try:
        peers = start_peers(url, data_dir, targets, cli if postgres else None, tuple(args.views))
        if args.peers:
            for one in peers:
                if one.name not in args.peers:
                    one.server.stop()
            peers = [one for one in peers if one.name in args.peers]
        for one in peers:
            await one.server.wait(timeout=180)
        limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
        async with httpx.AsyncClient(limits=limits, timeout=120) as client:
            for run in range(args.repeat):
                turn = run % len(peers)
                for one in peers[turn:] + peers[:turn]:
                    for view in args.views:
                        if view not in one.requests:
                            continue  # PostGraphile is given the period and learner views only
                        result = await measure_one(args, client, one, view)
                        one.results.setdefault(view, []).append(result)
                        print(
                            f"run {run + 1} {one.name:22} {view:13} {result['rps']:7.1f}/s "
                            f"p50 {result['p50']:6.1f} ms p95 {result['p95']:6.1f} ms "
                            f"CPU {result['cpu_per_answer'] * 1000:6.2f} ms/answer "
                            f"({result['errors']} errors, load {result['load']:.1f})",
                            flush=True,
                        )
    finally:
        for one in peers:
            one.server.stop()
        if postgres and cli is not None:
            async with orm(url):
                await connections.get("default").execute_script(peer.REMOVE)
    return {
        "url": url,
        "portfolios": targets.period_portfolios,
        "teacher": targets.teacher_name,
        "peers": {one.name: one.results for one in peers},
    }


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def report(args, db: str, measured: list[dict]) -> str:
    lines = [
        f"### {db} — {dt.date.today()}",
        "",
        f"Median of {args.repeat} run(s); {args.clients} concurrent clients for {args.duration:.0f} s per peer "
        f"and view, on one machine of {os.cpu_count()} cores shared with other work (client, servers and "
        "database on the same cores). CPU is the serving process's own (user + system), not the "
        "database's.",
        "",
    ]
    loads = [
        run["load"] for result in measured for views in result["peers"].values() for r in views.values() for run in r
    ]
    if loads:
        lines += [
            f"Load average (1 min) of the machine when each measurement began: {min(loads):.1f}–{max(loads):.1f}.",
            "",
        ]
    for result in measured:
        lines.append(f"Period view of {result['portfolios']} portfolios (teacher {result['teacher']}):")
        lines.append("")
        for view in args.views:
            floor_runs = result["peers"].get(FLOOR, {}).get(view)
            floor_cpu = _median(floor_runs, "cpu_per_answer") if floor_runs else None
            lines += [
                f"{view[0].upper()}{view[1:]}:",
                "",
                "| peer | answers/s | p50 / p95 ms | CPU ms/answer | CPU × floor's |",
                "|---|---|---|---|---|",
            ]
            for name, views in result["peers"].items():
                runs = views.get(view)
                if not runs:
                    continue
                errors = sum(run["errors"] for run in runs)
                cpu = _median(runs, "cpu_per_answer")
                ratio = f"{cpu / floor_cpu:.2f}×" if floor_cpu else "—"
                lines.append(
                    f"| {name} | {_median(runs, 'rps'):.1f}"
                    + (f" ({errors} errors)" if errors else "")
                    + f" | {_median(runs, 'p50'):.1f} / {_median(runs, 'p95'):.1f} | {cpu * 1000:.2f} | {ratio} |"
                )
            lines.append("")
    if len(measured) >= 2 and "period view" in args.views:
        small, large = sorted(measured, key=lambda r: r["portfolios"])[:: len(measured) - 1]
        extra = large["portfolios"] - small["portfolios"]
        lines += [
            f"Period view, growth from {small['portfolios']} to {large['portfolios']} portfolios "
            "(server CPU per answer):",
            "",
            f"| peer | CPU ms/answer at {small['portfolios']} | at {large['portfolios']} "
            "| CPU ms per extra portfolio | × floor's |",
            "|---|---|---|---|---|",
        ]
        per_row = {}
        for name in large["peers"]:
            low = _median(small["peers"][name]["period view"], "cpu_per_answer") * 1000
            high = _median(large["peers"][name]["period view"], "cpu_per_answer") * 1000
            per_row[name] = (high - low) / extra if extra else 0.0
        for name, value in per_row.items():
            low = _median(small["peers"][name]["period view"], "cpu_per_answer") * 1000
            high = _median(large["peers"][name]["period view"], "cpu_per_answer") * 1000
            ratio = value / per_row[FLOOR] if per_row.get(FLOOR) else float("nan")
            lines.append(f"| {name} | {low:.2f} | {high:.2f} | {value:.3f} | {ratio:.1f}× |")
        lines.append("")
    first = args.views[0]
    lines.append(
        f"Per run, answers/s of the {first} ({measured[-1]['portfolios']} portfolios a period): "
        + "; ".join(
            f"{name} " + ", ".join(f"{run['rps']:.0f}" for run in views[first])
            for name, views in measured[-1]["peers"].items()
            if first in views
        )
    )
    return "\n".join(lines) + "\n"


async def run(args, urls: list[str]) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="pfmp-readpath-") as folder:
        data_dir = Path(folder)
        (data_dir / "annexes").mkdir()
        cli = None
        if any(url.startswith("postgres://") for url in urls) and not args.without_postgraphile:
            started = time.perf_counter()
            cli = peer.install(Path(args.npm_folder) if args.npm_folder else data_dir / "postgraphile")
            print(f"PostGraphile {peer.VERSION} installed with npm in {time.perf_counter() - started:.0f} s")
        return [await measure_database(args, url, data_dir, cli) for url in urls]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        action="append",
        required=True,
        help="a generated database; twice for two sizes (same kind of database)",
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10, help="seconds of concurrent load per peer and view")
    parser.add_argument("--max-requests", type=int, default=20000, help="answers at most per measurement")
    parser.add_argument("--warmup", type=int, default=10, help="sequential requests before each measurement")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--npm-folder", default=None, help="install PostGraphile here (kept) instead of a temporary folder"
    )
    parser.add_argument("--without-postgraphile", action="store_true")
    parser.add_argument(
        "--view",
        dest="views",
        action="append",
        choices=ALL_VIEWS,
        help="a view to measure (repeatable; default: the period and learner views)",
    )
    parser.add_argument(
        "--peer",
        dest="peers",
        action="append",
        choices=[PROJECT, TUNED, REPEAT, REVALIDATE, FLOOR, POSTGRAPHILE, POSTGRAPHILE_RLS],
        help="measure only this peer (repeatable); default: all",
    )
    args = parser.parse_args()
    args.views = args.views or list(VIEWS)
    urls = [normalize_database_url(url) for url in args.database_url]
    kinds = {url.split("://")[0] for url in urls}
    if len(kinds) != 1:
        parser.error("give databases of one kind (all SQLite or all PostgreSQL)")
    db = "SQLite" if kinds == {"sqlite"} else "PostgreSQL"
    # Stopped from outside, still stop the servers it started (Server.stop runs as the tasks unwind).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("readpath: stopped"))
    measured = asyncio.run(run(args, urls))
    text = report(args, db, measured)
    print()
    print(text)
    out = ROOT / "bench" / "results" / f"{dt.date.today()}-readpath-{db.lower()}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
