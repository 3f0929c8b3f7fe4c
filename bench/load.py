"""Latency, throughput and SQL statements of the front ends' main operations on a generated database.

    /tmp/venv/bin/python bench/load.py --database-url sqlite:///tmp/school.sqlite3 --workers 1
    /tmp/venv/bin/python bench/load.py --database-url postgres://postgres@127.0.0.1:5432/pfmp --workers 2

Per operation (bench/operations.py):
- statements: the SQL statements one request sends, counted in-process on the ASGI app (a handler on the
  "tortoise.db_client" logger, as tests/conftest.py's SqlCounter), over no network;
- floor: the same rows read in-process through the ORM with the equivalent queries, `--requests` times
  one after the other (reads only);
- one client: `--requests` requests one after the other to the real server (`python -m graph.cli serve`,
  `--workers` uvicorn workers, loopback), p50/p95 latency;
- 32 clients: `--clients` concurrent clients for `--duration` seconds (or `--max-requests` answers),
  answers per second, and the client's own CPU time (it shares the machine's cores with the server).
The whole is run `--repeat` times; the tables give the median of the runs. The batch save writes: each client
saves its own drafts, so no save meets a CONFLICT. A Markdown report goes to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import operations as ops  # noqa: E402
from graph.app import create_app  # noqa: E402
from graph.database import apply_migrations  # noqa: E402
from graph.settings import Settings, normalize_database_url  # noqa: E402
from models.bilans import CompanyBilan  # noqa: E402
from models.schools import School  # noqa: E402
from permissions.tokens import issue_token  # noqa: E402
from tests.conftest import SqlCounter  # noqa: E402
from tests.postgres import _free_port  # noqa: E402

TOKEN_SECRET = "bench-secret-" + "b" * 40
NAMES = ("period view", "learner view", "visit screen", "batch save", "level dashboard")


def _settings(data_dir: Path, url: str) -> Settings:
    return Settings(
        environment="development",
        data_dir=data_dir,
        database_url=url,
        annex_dir=data_dir / "annexes",
        token_secret=TOKEN_SECRET,
        token_lifetime=6 * 3600,
        token_issuer="pfmp",
        upload_limit=1024 * 1024,
        request_body_limit=2 * 1024 * 1024,
        cors_origins=(),
        graphiql=False,
    )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


class Saves:
    """Draft bilans and their versions; each client draws from its own share, so saves never conflict."""

    def __init__(self, targets: ops.Targets, versions: dict[int, int], shares: int):
        self.targets, self.versions = targets, versions
        self.rotation = {pk: 0 for pk in versions}
        ids = sorted(versions)
        self.shares = [ids[n::shares] for n in range(shares)]
        self.turn = [0] * shares

    def next(self, share: int) -> tuple[int, dict]:
        own = self.shares[share]
        pk = own[self.turn[share] % len(own)]
        self.turn[share] += 1
        self.rotation[pk] += 1
        # The version moves at each save that changes something, so the levels differ from the last save's,
        # from one run to the next too: every counted save writes.
        rotation = self.versions[pk] + self.rotation[pk]
        return pk, ops.save_variables(self.targets, pk, self.versions[pk], rotation)

    def saved(self, pk: int, data: dict) -> None:
        payload = data["bilanUpdate"]
        assert not payload["errors"], payload["errors"]
        self.versions[pk] = payload["bilan"]["version"]


async def _saves(targets: ops.Targets, shares: int) -> Saves:
    # The visit screen's bilan is left out: its result log stays as generated from run to run.
    rows = await CompanyBilan.filter(id__in=targets.drafts[1:]).values_list("id", "version")
    return Saves(targets, dict(rows), shares)


class Requester:
    """Sends one operation and checks its answer: no error, and the expected content."""

    def __init__(self, client: httpx.AsyncClient, token: str, targets: ops.Targets):
        self.client, self.headers, self.targets = client, {"Authorization": f"Bearer {token}"}, targets
        self.size = 0

    async def send(self, name: str, saves: Saves | None = None, share: int = 0) -> None:
        if name == "batch save":
            pk, variables = saves.next(share)
            document = ops.SAVE
        else:
            pk, variables, document = None, ops.read_variables(name, self.targets), ops.READS[name]
        data, self.size = await post_graphql(
            self.client, self.headers, json={"query": document, "variables": variables}
        )
        if pk is not None:
            saves.saved(pk, data)
        else:
            ops.check_read(name, self.targets, data)


async def post_graphql(client: httpx.AsyncClient, headers: dict, **body) -> tuple[dict, int]:
    """POST /graphql (`json=` or the multipart `data=`/`files=`): the answer's data and size, raising on an HTTP
    error status or on any GraphQL error in the answer."""
    response = await client.post("/graphql", headers=headers, **body)
    response.raise_for_status()
    answer = response.json()
    if answer.get("errors"):
        raise AssertionError(answer["errors"][0])
    return answer["data"], len(response.content)


def bench_token(user_id: int, role: str, school_id: int) -> str:
    """A token signed with the benches' secret (the servers they start share it); generated users are at
    token version 1."""
    return issue_token(
        secret=TOKEN_SECRET,
        issuer="pfmp",
        lifetime=6 * 3600,
        user_id=user_id,
        role=role,
        school_id=school_id,
        token_version=1,
    )[0]


async def _sequential(call, count: int, budget: float) -> list[float]:
    """Latencies (ms) of `count` calls one after the other, stopping early once `budget` seconds are spent."""
    for _ in range(3):
        await call()
    times, deadline = [], time.perf_counter() + budget
    for _ in range(count):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
        if time.perf_counter() > deadline:
            break
    return times


class OperationFailed(Exception):
    """A call of a mix failed: `operation` names what it was sending."""

    def __init__(self, operation: str, cause: BaseException):
        super().__init__(f"{operation}: {type(cause).__name__}: {cause}")
        self.operation = operation


async def _concurrent(make_call, clients: int, duration: float, max_requests: int) -> dict:
    """`clients` concurrent callers for `duration` seconds. A call that answers the name of the operation it sent
    (a mix), or raises OperationFailed naming it, is also counted per operation under "operations"."""
    done, errors, latencies = 0, 0, []
    per_operation: dict[str, list[float]] = {}
    errors_of: dict[str, int] = {}
    deadline = time.perf_counter() + duration
    cpu = time.process_time()

    async def client(share: int) -> None:
        nonlocal done, errors
        call = make_call(share)
        while time.perf_counter() < deadline and done + errors < max_requests:
            start = time.perf_counter()
            try:
                name = await call()
                done += 1
                latency = (time.perf_counter() - start) * 1000
                latencies.append(latency)
                if isinstance(name, str):
                    per_operation.setdefault(name, []).append(latency)
            except Exception as exc:  # counted and shown: a failure under load is a result
                errors += 1
                operation = getattr(exc, "operation", None)
                if operation is not None:
                    errors_of[operation] = errors_of.get(operation, 0) + 1
                if errors == 1 or (operation is not None and errors_of[operation] == 1):
                    print(f"    first error under load: {type(exc).__name__}: {str(exc)[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "rps": done / elapsed,
        "errors": errors,
        "answers": done,
        "elapsed": elapsed,
        "p50": _percentile(latencies, 0.5) if latencies else 0.0,
        "p95": _percentile(latencies, 0.95) if latencies else 0.0,
        "client_cpu": (time.process_time() - cpu) / elapsed,
        "operations": {
            name: {
                "answers": len(per_operation.get(name, [])),
                "errors": errors_of.get(name, 0),
                "p50": _percentile(per_operation[name], 0.5) if per_operation.get(name) else 0.0,
                "p95": _percentile(per_operation[name], 0.95) if per_operation.get(name) else 0.0,
            }
            for name in sorted(set(per_operation) | set(errors_of))
        },
    }


async def count_statements(app, token: str, targets: ops.Targets) -> dict[str, int]:
    """SQL statements per operation, in-process (the second request of each, after a warm-up)."""
    logger = logging.getLogger("tortoise.db_client")
    counter, previous = SqlCounter(), logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    counts = {}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            requester, saves = Requester(client, token, targets), await _saves(targets, 1)
            for name in NAMES:
                await requester.send(name, saves)
                counter.reset()
                await requester.send(name, saves)
                counts[name] = counter.count
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)
    return counts


class Server:
    """`python -m graph.cli serve` on a free loopback port, stopped by its own process id. Another server
    (bench/readpath.py's peers) is `command(port)`, ready once a GET of `ready` (a path) answers one of
    `ready_status`."""

    def __init__(
        self,
        url: str,
        workers: int,
        data_dir: Path,
        extra_env: dict[str, str] | None = None,
        command=None,
        name: str = "server",
        ready: str = "/healthz",
        ready_status: tuple[int, ...] = (200,),
    ):
        self.port, self.workers, self.ready, self.ready_status = _free_port(), workers, ready, ready_status
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PFMP_DATA_DIR": str(data_dir),
            "PFMP_TOKEN_SECRET": TOKEN_SECRET,
            "PFMP_ENV": "development",
            "PFMP_GRAPHIQL": "0",
            # The benches measure the work of an answer: the response cache stays off unless a peer turns it on.
            "PFMP_RESPONSE_CACHE_MB": "0",
            "PYTHONPATH": str(ROOT),
            **(extra_env or {}),
        }
        self.log = open(data_dir / f"{name}.log", "wb")
        line = (
            command(self.port)
            if command
            else [sys.executable, "-m", "graph.cli", "serve", "--port", str(self.port), "--workers", str(workers)]
        )
        self.process = subprocess.Popen(line, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"

    async def wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server stopped (exit {self.process.returncode}), see {self.log.name}")
                try:
                    if (await client.get(f"{self.base}{self.ready}")).status_code in self.ready_status:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError("the server did not answer /healthz in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


async def measure(args, url: str, data_dir: Path) -> dict:
    # As the server does at start, so that the in-process counts and floor see the same schema.
    await apply_migrations(url)
    settings = _settings(data_dir, url)
    app = create_app(settings)
    runs: list[dict] = []
    async with app.router.lifespan_context(app):
        if not await School.exists():
            raise SystemExit("load: the database holds no school: fill it with bench/generate.py first")
        targets = await ops.find_targets()
        token = bench_token(targets.viewer.id, targets.viewer.role.value, targets.viewer.school_id)
        schools = await School.all().count()
        counts = await count_statements(app, token, targets)
        print(f"statements: {counts}")
        if args.counts_only:
            return {"targets": targets, "schools": schools, "counts": counts, "runs": []}
        server = Server(url, args.workers, data_dir)
        try:
            await server.wait()
            limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
            async with httpx.AsyncClient(base_url=server.base, limits=limits, timeout=120) as client:
                for run in range(args.repeat):
                    runs.append(await _one_run(args, client, token, targets, run))
        finally:
            server.stop()
    return {"targets": targets, "schools": schools, "counts": counts, "runs": runs}


async def _one_run(args, client, token, targets, run: int) -> dict:
    results = {}
    for name in args.operations:
        load = os.getloadavg()[0]
        floor = None
        if name in ops.FLOORS:
            floor = await _sequential(lambda: ops.FLOORS[name](targets), args.requests, args.budget)
        requester = Requester(client, token, targets)
        saves = await _saves(targets, args.clients) if name == "batch save" else None
        one = await _sequential(lambda: requester.send(name, saves), args.requests, args.budget)

        def make_call(share: int):
            own = Requester(client, token, targets)
            return lambda: own.send(name, saves, share)

        many = await _concurrent(make_call, args.clients, args.duration, args.max_requests)
        results[name] = {"load": load, "size": requester.size, "one": one, "floor": floor, "many": many}
        line = f"run {run + 1} {name:16} one client p50 {_percentile(one, 0.5):7.1f} ms"
        if floor:
            line += f", floor p50 {_percentile(floor, 0.5):6.1f} ms"
        print(f"{line}, {args.clients} clients {many['rps']:6.1f}/s ({many['errors']} errors), load {load:.1f}")
    return results


def _median(runs: list[dict], name: str, pick) -> float:
    return statistics.median(pick(run[name]) for run in runs)


def report(args, db: str, result: dict) -> str:
    runs, targets = result["runs"], result["targets"]
    lines = [
        f"### {db}, {result['schools']} school(s), {args.workers} worker(s) — {dt.date.today()}",
        "",
        f"Median of {len(runs)} run(s); {args.requests} sequential requests per operation (one client), "
        f"{args.clients} concurrent clients for {args.duration:.0f} s. Teacher {targets.teacher_name} "
        f"(4 classrooms); the period view lists {targets.period_portfolios} portfolios.",
        "",
        "| operation | SQL statements | one client p50 / p95 ms | ORM floor p50 / p95 ms | ratio (p50) "
        f"| {args.clients} clients answers/s | p50 / p95 under load ms | client CPU | answer KiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in args.operations:
        one_p50 = _median(runs, name, lambda r: _percentile(r["one"], 0.5))
        one_p95 = _median(runs, name, lambda r: _percentile(r["one"], 0.95))
        floor, ratio = "—", "—"
        if runs[0][name]["floor"]:
            f50 = _median(runs, name, lambda r: _percentile(r["floor"], 0.5))
            f95 = _median(runs, name, lambda r: _percentile(r["floor"], 0.95))
            floor, ratio = f"{f50:.1f} / {f95:.1f}", f"{one_p50 / f50:.1f}×"
        many = lambda key: _median(runs, name, lambda r: r["many"][key])  # noqa: E731
        errors = sum(r[name]["many"]["errors"] for r in runs)
        lines.append(
            f"| {name} | {result['counts'][name]} | {one_p50:.1f} / {one_p95:.1f} | {floor} | {ratio} | "
            f"{many('rps'):.1f}{f' ({errors} errors)' if errors else ''} | "
            f"{many('p50'):.0f} / {many('p95'):.0f} | {many('client_cpu') * 100:.0f} % | "
            f"{runs[-1][name]['size'] / 1024:.1f} |"
        )
    lines += [
        "",
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, client and server on the same machine. "
        "Per run: one client p50 ms / answers per second (sequential requests made, load average at the "
        "start):",
        "",
    ]
    for name in args.operations:
        cells = [
            f"{_percentile(r[name]['one'], 0.5):.1f} / {r[name]['many']['rps']:.1f} "
            f"({len(r[name]['one'])} sequential, load {r[name]['load']:.1f})"
            for r in runs
        ]
        lines.append(f"- {name}: " + "; ".join(cells))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--requests", type=int, default=200, help="sequential requests per operation")
    parser.add_argument("--budget", type=float, default=60, help="at most this many seconds of sequential requests")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=15, help="seconds of concurrent load per operation")
    parser.add_argument("--max-requests", type=int, default=20000, help="answers at most, under concurrent load")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--operations", nargs="+", choices=NAMES, default=list(NAMES), metavar="NAME")
    parser.add_argument("--counts-only", action="store_true", help="count the statements, measure nothing")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url)
    db = "SQLite" if url.startswith("sqlite://") else "PostgreSQL"
    # Stopped from outside, still stop the server it started (Server.stop runs as the tasks unwind).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("load: stopped"))
    with tempfile.TemporaryDirectory(prefix="pfmp-bench-") as folder:
        data_dir = Path(folder)
        (data_dir / "annexes").mkdir()
        result = asyncio.run(measure(args, url, data_dir))
    if args.counts_only:
        return
    text = report(args, db, result)
    print()
    print(text)
    scale = "school" if result["schools"] == 1 else f"academy{result['schools']}"
    out = ROOT / "bench" / "results" / f"{dt.date.today()}-{db.lower()}-{scale}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
