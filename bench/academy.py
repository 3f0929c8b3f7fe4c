"""An academy's school day under load: 1, 2 and 4 server processes on one PostgreSQL holding 50 schools.

    /tmp/venv/bin/python bench/academy.py                      # a throwaway cluster, the 50 schools generated once
    /tmp/venv/bin/python bench/academy.py --schools 3 --duration 10            # a quick check
    /tmp/venv/bin/python bench/academy.py --database-url postgres://postgres@127.0.0.1:5432/academy

Without --database-url a PostgreSQL 15 cluster is started in a temporary folder (tests/postgres.py: as the
`postgres` user when run as root) and filled with bench/generate.py's academy (`--schools` of them, 50 by
default), then removed. With --database-url the database must hold a generated academy already.

The servers: N separate `pfmp serve` processes (one uvicorn worker each, each on its own port), and each client
keeps its connection to one of them (client k to process k mod N): the round-robin a load balancer in front of
N hosts does, which is what issue 15 is about (several hosts, one PostgreSQL). `pfmp serve --workers N` would
share one socket among the workers, and the kernel gives each new connection to whichever worker accepts first:
with a few dozen keep-alive connections opened at once nothing makes the spread even. The
processes share this machine's disk for the annexes (the local folder; an object store would put its own server
on the same two cores).

The mix (MIX: weights out of 100, drawn per request with a seeded generator), shaped like a school day, mostly
reads; each request goes to a school drawn among all of them, as the person of that school:
- teachers: the period view of their level (22), the visit screen of a draft bilan (13), a bilan save (12);
- learners: their own portfolios and fiches (15), a new fiche in their current period (12), a small file
  (2 KB of text) attached to one of their fiches through the multipart upload (6);
- tutors: the learners and portfolios they follow, with the fiches (20).
Reads 70 %, writes 30 %. Every answer is checked: HTTP status, no GraphQL error, no error in a mutation's
payload, and the expected content (bench/operations.py). Bilan saves: each client saves only its own share of
each school's drafts (bench/load.py's Saves), so no save meets a CONFLICT.

Per process count: a warm-up (not counted), then `--clients` concurrent clients for `--duration` seconds:
answers/s, p50/p95 per operation, errors, the CPU of the servers, of PostgreSQL and of this client (all on the
same cores), and the load average. A Markdown report goes to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import operations as ops  # noqa: E402
from bench.generate import generate  # noqa: E402
from bench.load import (  # noqa: E402
    OperationFailed,
    Requester,
    Saves,
    Server,
    _concurrent,
    _saves,
    bench_token,
    post_graphql,
)
from graph.database import orm  # noqa: E402
from graph.settings import normalize_database_url  # noqa: E402
from graph.types.common import encode_id  # noqa: E402
from models.bilans import CompanyBilan  # noqa: E402
from models.fiches import ActivityFiche  # noqa: E402
from models.periods import Period  # noqa: E402
from models.portfolios import Portfolio  # noqa: E402
from models.schools import School  # noqa: E402
from models.users import Role, User  # noqa: E402
from resolvers.periods.rules import is_locked  # noqa: E402
from tests.postgres import ThrowawayCluster  # noqa: E402

# (operation, weight out of 100): a school day, mostly reads.
MIX = (
    ("period view", 22),
    ("visit screen", 13),
    ("learner view", 15),
    ("tutor view", 20),
    ("fiche create", 12),
    ("annex upload", 6),
    ("bilan save", 12),
)
OPERATIONS = tuple(name for name, _ in MIX)
WHO = {
    "period view": "teacher",
    "visit screen": "teacher",
    "learner view": "learner (own)",
    "tutor view": "tutor",
    "fiche create": "learner",
    "annex upload": "learner",
    "bilan save": "teacher",
}


@dataclass
class Writer:
    """A learner who writes during the day: their current period's portfolio and one of its fiches."""

    token: str
    portfolio_id: int
    fiche_id: str


@dataclass
class SchoolDay:
    """The people of one school the mix acts as, and their targets."""

    targets: ops.Targets
    teacher_token: str
    learner_token: str
    tutor_tokens: list[str]
    writers: list[Writer]
    saves: Saves
    created: int = 0


async def prepare_schools(clients: int) -> list[SchoolDay]:
    """Per school: bench/operations.py's targets (the teacher who follows the first level), the learner of the
    learner view, the tutors who follow portfolios, and the learners who write: those of the first level's last
    period (no interim review locks it), except the two whose portfolios the learner view and the visit screen
    read, so that those reads stay as generated. Each school's drafts are shared among all the clients (each
    saves its own share)."""
    days = []
    for school in await School.all().order_by("id"):
        targets = await ops.find_targets(school.id)
        teacher = targets.viewer
        learner = await User.get(id=targets.learner_id)
        periods = await Period.filter(level_id=targets.level_id).order_by("start_date", "id")
        current = periods[-1]
        if await is_locked(current.id):
            raise SystemExit(f"academy: the last period of school {school.id} is locked: regenerate the academy")
        visited = await Portfolio.get(id=(await CompanyBilan.get(id=targets.visit_bilan_id)).portfolio_id)
        kept = {targets.learner_id, visited.learner_id}
        first_fiche: dict[tuple[int, int], int] = {}
        for portfolio_id, learner_id, fiche_id in (
            await ActivityFiche.filter(portfolio__period_id=current.id, deleted_at=None)
            .order_by("-id")
            .values_list("portfolio_id", "learner_id", "id")
        ):
            first_fiche[(portfolio_id, learner_id)] = fiche_id
        writers = [
            Writer(
                bench_token(learner_id, Role.LEARNER.value, school.id),
                portfolio_id,
                encode_id("ActivityFiche", fiche_id),
            )
            for (portfolio_id, learner_id), fiche_id in sorted(first_fiche.items())
            if learner_id not in kept
        ]
        if len(targets.drafts) - 1 < clients:
            raise SystemExit(f"academy: school {school.id} has fewer drafts than clients: give fewer clients")
        tutors = await User.filter(
            school_id=school.id, role=Role.TUTOR, trained_portfolios__id__isnull=False
        ).distinct()
        days.append(
            SchoolDay(
                targets=targets,
                teacher_token=bench_token(teacher.id, teacher.role.value, school.id),
                learner_token=bench_token(learner.id, Role.LEARNER.value, school.id),
                tutor_tokens=[bench_token(t.id, Role.TUTOR.value, school.id) for t in tutors],
                writers=writers,
                saves=await _saves(targets, clients),
            )
        )
    if not days:
        raise SystemExit("academy: the database holds no school: fill it with bench/generate.py first")
    return days


class Client:
    """One concurrent client: its connection to one server, its random draws, its share of the drafts."""

    def __init__(self, http: httpx.AsyncClient, schools: list[SchoolDay], share: int, seed: int):
        self.http, self.schools, self.share = http, schools, share
        self.rng = random.Random(f"{seed}:{share}")
        self.names = [name for name, _ in MIX]
        self.weights = [weight for _, weight in MIX]

    async def __call__(self) -> str:
        name = self.rng.choices(self.names, self.weights)[0]
        school = self.rng.choice(self.schools)
        try:
            await self.send(name, school)
        except Exception as exc:
            raise OperationFailed(name, exc) from exc
        return name

    async def send(self, name: str, school: SchoolDay) -> None:
        auth = lambda token: {"Authorization": f"Bearer {token}"}  # noqa: E731
        if name in ("period view", "visit screen"):
            await Requester(self.http, school.teacher_token, school.targets).send(name)
        elif name == "bilan save":
            await Requester(self.http, school.teacher_token, school.targets).send(
                "batch save", school.saves, self.share
            )
        elif name == "learner view":
            await Requester(self.http, school.learner_token, school.targets).send(name)
        elif name == "tutor view":
            data, _ = await post_graphql(
                self.http, auth(self.rng.choice(school.tutor_tokens)), json={"query": ops.TUTOR_VIEW}
            )
            ops.check_tutor_view(data)
        elif name == "fiche create":
            writer = self.rng.choice(school.writers)
            school.created += 1
            variables = ops.fiche_variables(writer.portfolio_id, school.created)
            data, _ = await post_graphql(
                self.http, auth(writer.token), json={"query": ops.FICHE_CREATE, "variables": variables}
            )
            ops.check_payload(data, "activityFicheCreate", "activityFiche")
        elif name == "annex upload":
            writer = self.rng.choice(school.writers)
            data, _ = await post_graphql(
                self.http, auth(writer.token), **ops.upload_fields(writer.fiche_id, self.rng.randrange(10**6))
            )
            annex = ops.check_payload(data, "annexUpload", "annex")
            assert annex["size"] == len(ops.ANNEX_CONTENT), annex
        else:
            raise ValueError(f"unknown operation {name!r}")


def _ticks(pid: int) -> int:
    """CPU ticks (user + system) a process has used, 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


async def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server's process on this machine (its data folder's postmaster.pid), None elsewhere."""
    try:
        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            folder = await conn.fetchval("SELECT setting FROM pg_settings WHERE name = 'data_directory'")
        finally:
            await conn.close()
        return int(Path(folder, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, asyncpg.PostgresError):
        return None


class CpuMeter:
    """CPU seconds of the servers (each process and its children) and of PostgreSQL (its backends) over a run."""

    def __init__(self, servers: list[Server], postmaster: int | None):
        self.servers, self.postmaster = servers, postmaster

    def _server_pids(self) -> list[int]:
        pids = [s.process.pid for s in self.servers]
        return pids + [child for pid in pids for child in _children(pid)]

    def _sample(self) -> tuple[dict[int, int], dict[int, int]]:
        servers = {pid: _ticks(pid) for pid in self._server_pids()}
        database = {}
        if self.postmaster:
            database = {pid: _ticks(pid) for pid in [self.postmaster, *_children(self.postmaster)]}
        return servers, database

    def start(self) -> None:
        self.before = self._sample()

    def stop(self, elapsed: float) -> dict[str, float]:
        after, hz = self._sample(), os.sysconf("SC_CLK_TCK")
        used = lambda now, then: sum(t - then.get(pid, 0) for pid, t in now.items()) / hz / elapsed  # noqa: E731
        return {"server_cpu": used(after[0], self.before[0]), "database_cpu": used(after[1], self.before[1])}


async def _run(
    servers: list[Server], schools: list[SchoolDay], clients: int, duration: float, max_requests: int, seed: int
) -> dict:
    """The mix for `duration` seconds, client k on its own connection to server k mod N."""
    per_server = max(1, -(-clients // len(servers)))
    limits = httpx.Limits(max_connections=per_server, max_keepalive_connections=per_server)
    https = [httpx.AsyncClient(base_url=s.base, limits=limits, timeout=120) for s in servers]
    try:
        make = lambda share: Client(https[share % len(servers)], schools, share, seed)  # noqa: E731
        return await _concurrent(make, clients, duration, max_requests)
    finally:
        for http in https:
            await http.aclose()


async def run_mix(
    url: str,
    data_dir: Path,
    processes: int,
    clients: int,
    duration: float,
    warmup: float = 5,
    max_requests: int = 10**9,
    seed: int = 2026,
    postmaster: int | None = None,
) -> dict:
    """Start `processes` servers, run the mix (a warm-up, then the measured run), stop them; the measures."""
    async with orm(url):
        schools = await prepare_schools(clients)
    servers: list[Server] = []
    try:
        for n in range(processes):
            # One after the other: each migrates (nothing to do) and sweeps at start.
            servers.append(Server(url, 1, data_dir, name=f"server-{processes}-{n + 1}"))
            await servers[-1].wait()
        if warmup:
            await _run(servers, schools, clients, warmup, max_requests, seed)
        # Fresh connections for the measure: at the end of the warm-up, the connections of the clients done
        # first wait for the slowest answer, and uvicorn closes a keep-alive connection idle for 5 s; reusing
        # one just as it closes fails (an httpx ReadError), which a load balancer would retry, not a client.
        meter = CpuMeter(servers, postmaster)
        load_before = os.getloadavg()
        meter.start()
        result = await _run(servers, schools, clients, duration, max_requests, seed)
        result.update(meter.stop(result["elapsed"]))
        result["load"] = (load_before, os.getloadavg())
    finally:
        for server in servers:
            server.stop()
    result.update(processes=processes, clients=clients, schools=len(schools))
    return result


def report(args, results: list[dict], command: str) -> str:
    first = results[0]
    base = first["rps"]
    lines = [
        f"### Academy school day, PostgreSQL, {first['schools']} schools — {dt.date.today()}",
        "",
        f"`{command}`",
        "",
        f"{args.clients} concurrent clients, {args.duration:.0f} s measured per process count after a "
        f"{args.warmup:.0f} s warm-up; N separate `pfmp serve` processes (one worker each), client k keeps its "
        f"connection to process k mod N. Python {sys.version.split()[0]}, {os.cpu_count()} cores shared by the "
        "servers, PostgreSQL, this client and the machine's other users. The response cache is off "
        "(each answer is worked out).",
        "",
        "| processes | answers/s | scaling | answers | errors | servers CPU | PostgreSQL CPU | client CPU | "
        "CPU ms per answer: servers / PostgreSQL / client | load average (before → after) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        (before, _, _), (after, _, _) = r["load"]
        per = lambda share: share * 1000 / max(r["rps"], 1e-9)  # noqa: E731, B023
        lines.append(
            f"| {r['processes']} | {r['rps']:.1f} | {r['rps'] / base:.2f}× | {r['answers']} | {r['errors']} | "
            f"{r['server_cpu'] * 100:.0f} % | {r['database_cpu'] * 100:.0f} % | {r['client_cpu'] * 100:.0f} % | "
            f"{per(r['server_cpu']):.0f} / {per(r['database_cpu']):.0f} / {per(r['client_cpu']):.0f} | "
            f"{before:.1f} → {after:.1f} |"
        )
    lines += [
        "",
        "CPU: percent of one core over the measured run (200 % is the whole machine); per answer, the CPU time "
        "each part spent for one answer of the mix, which the machine's other work changes far less than the "
        "times.",
        "",
        "p50 / p95 ms per operation (share of the answers):",
        "",
        "| operation | who | weight | " + " | ".join(f"{r['processes']} process(es)" for r in results) + " |",
        "|---|---|---|" + "---|" * len(results),
    ]
    for name, weight in MIX:
        cells = []
        for r in results:
            op = r["operations"].get(name, {"answers": 0, "errors": 0, "p50": 0.0, "p95": 0.0})
            cell = f"{op['p50']:.0f} / {op['p95']:.0f} ({op['answers'] / max(1, r['answers']) * 100:.0f} %)"
            cells.append(cell + (f", {op['errors']} errors" if op["errors"] else ""))
        lines.append(f"| {name} | {WHO[name]} | {weight} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


async def _generated_cluster(schools: int, folder: Path):
    """A throwaway cluster holding a freshly generated academy: (cluster, url)."""
    cluster = ThrowawayCluster()
    server = cluster.start()
    conn = await asyncpg.connect(server.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("CREATE DATABASE academy")
    finally:
        await conn.close()
    url = server.rsplit("/", 1)[0] + "/academy"
    print(f"generating {schools} school(s) on {url} …")
    await generate(url, "academy", schools=schools)
    return cluster, url


async def main_async(args) -> list[dict]:
    cluster = None
    with tempfile.TemporaryDirectory(prefix="pfmp-academy-") as folder:
        data_dir = Path(folder)
        try:
            if args.database_url:
                url = normalize_database_url(args.database_url)
            else:
                cluster, url = await _generated_cluster(args.schools, data_dir)
            if url.startswith("sqlite://"):
                raise SystemExit("academy: the academy lives on PostgreSQL")
            postmaster = await postmaster_pid(url)
            results = []
            for processes in args.processes:
                result = await run_mix(
                    url,
                    data_dir,
                    processes,
                    args.clients,
                    args.duration,
                    warmup=args.warmup,
                    seed=args.seed,
                    postmaster=postmaster,
                )
                results.append(result)
                line = ", ".join(f"{name} {op['p50']:.0f}/{op['p95']:.0f}" for name, op in result["operations"].items())
                print(
                    f"{processes} process(es): {result['rps']:.1f} answers/s, {result['errors']} errors, "
                    f"servers {result['server_cpu'] * 100:.0f} %, PostgreSQL {result['database_cpu'] * 100:.0f} %, "
                    f"client {result['client_cpu'] * 100:.0f} %, load {result['load'][1][0]:.1f}; {line}"
                )
        finally:
            if cluster is not None:
                cluster.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL holding a generated academy (default: start one)")
    parser.add_argument("--schools", type=int, default=50, help="schools to generate without --database-url")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=45, help="measured seconds per process count")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before each measure")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("academy: stopped"))
    results = asyncio.run(main_async(args))
    command = "python bench/academy.py " + " ".join(sys.argv[1:])
    text = report(args, results, command)
    print()
    print(text)
    out = ROOT / "bench" / "results" / f"{dt.date.today()}-academy{results[0]['schools']}-mix.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
