"""A flood of anonymous sign-ins with wrong passwords: does the server still answer the others?

    .venv/bin/python bench/flood.py --database-url sqlite:///tmp/school.sqlite3
    .venv/bin/python bench/flood.py --database-url postgres://postgres@127.0.0.1:5432/pfmp --workers 1

On a database filled by bench/generate.py, the real server (`pfmp serve`, bench/load.py's Server) is started
twice: with the sign-in throttle off (PFMP_SIGNIN_THROTTLE=0: every attempt goes through argon2, which measures
the hashing path itself) and on (the default). Each time, two probes in turn send one request after the
other: `GET /healthz`, then a signed-in teacher's period view (bench/operations.py, 120 portfolios); first
without flood (the unloaded figures), then while `--clients` anonymous clients (8, then 32) send `login` with wrong passwords
as fast as the answers come, half to real accounts of the school and half to unknown emails. The flooding
clients run in a process of their own, so the probes' timings are not held up by the flood's client work.
A Markdown report goes to stdout and bench/results/.

Targets (issue 11): /healthz p95 under 50 ms, the period view p95 within 1.5x of its unloaded p95.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import operations as ops  # noqa: E402
from bench.load import TOKEN_SECRET, Server, _percentile, _settings  # noqa: E402
from graph.app import create_app  # noqa: E402
from graph.database import apply_migrations  # noqa: E402
from graph.settings import normalize_database_url  # noqa: E402
from models.signin import SigninThrottle  # noqa: E402
from models.users import User  # noqa: E402
from permissions.tokens import issue_token  # noqa: E402

LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token retryAfter errors { code } } }"""


# ---- the flooding process ---------------------------------------------------------------------------------


async def hammer(base: str, clients: int, duration: float, emails: list[str]) -> dict:
    codes: dict[str, int] = {}
    latencies: list[float] = []
    deadline = time.perf_counter() + duration
    cpu = time.process_time()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def one(n: int) -> None:
            chooser = random.Random(n)
            while time.perf_counter() < deadline:
                variables = {"email": chooser.choice(emails), "password": f"wrong-{chooser.random()}"}
                start = time.perf_counter()
                try:
                    response = await client.post("/graphql", json={"query": LOGIN, "variables": variables})
                    errors = response.json()["data"]["login"]["errors"]
                    code = errors[0]["code"] if errors else "SIGNED_IN"
                except Exception as exc:  # counted: a failure under load is a result
                    code = type(exc).__name__
                codes[code] = codes.get(code, 0) + 1
                latencies.append((time.perf_counter() - start) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "codes": codes,
        "rate": sum(codes.values()) / elapsed,
        "p50": _percentile(latencies, 0.5) if latencies else 0,
        "cpu": (time.process_time() - cpu) / elapsed,
    }


# ---- the measuring process --------------------------------------------------------------------------------


async def probe(client: httpx.AsyncClient, token: str, targets: ops.Targets, duration: float) -> dict:
    """/healthz for `duration` seconds, then the period view for as long, each one request after the other.

    One after the other, not together: a period view holds the event loop for tens of milliseconds at a time
    (62 KiB of answer), which would show in /healthz whatever the flood does."""
    headers = {"Authorization": f"Bearer {token}"}
    document, variables = ops.READS["period view"], ops.read_variables("period view", targets)

    async def loop(call) -> list[float]:
        times, deadline = [], time.perf_counter() + duration
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await call()
            times.append((time.perf_counter() - start) * 1000)
        return times

    async def healthz() -> None:
        (await client.get("/healthz")).raise_for_status()

    async def period_view() -> None:
        response = await client.post("/graphql", json={"query": document, "variables": variables}, headers=headers)
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise AssertionError(body["errors"][0])
        ops.check_read("period view", targets, body["data"])

    return {"healthz": await loop(healthz), "view": await loop(period_view)}


def _figures(times: list[float]) -> dict:
    return {"n": len(times), "p50": _percentile(times, 0.5), "p95": _percentile(times, 0.95)}


async def scenario(base: str, token: str, targets: ops.Targets, clients: int, args, emails_file: Path) -> dict:
    flood = None
    if clients:
        flood = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--hammer",
                base,
                "--clients",
                str(clients),
                "--duration",
                str(2 * args.duration + args.warmup + 1),
                "--emails",
                str(emails_file),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        await asyncio.sleep(args.warmup)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            result = await probe(client, token, targets, args.duration)
    finally:
        flood_result = None
        if flood is not None:
            out, _ = flood.communicate(timeout=2 * args.duration + 120)
            flood_result = json.loads(out.decode().strip().splitlines()[-1])
    return {
        "clients": clients,
        "healthz": _figures(result["healthz"]),
        "view": _figures(result["view"]),
        "flood": flood_result,
    }


async def measure(args, url: str, data_dir: Path) -> list[dict]:
    await apply_migrations(url)
    app = create_app(_settings(data_dir, url))
    rows = []
    async with app.router.lifespan_context(app):
        targets = await ops.find_targets()
        token = issue_token(
            secret=TOKEN_SECRET,
            issuer="pfmp",
            lifetime=6 * 3600,
            user_id=targets.viewer.id,
            role=targets.viewer.role.value,
            school_id=targets.viewer.school_id,
            token_version=1,
        )[0]
        real = (
            await User.filter(school_id=targets.viewer.school_id)
            .order_by("id")
            .limit(200)
            .values_list("email", flat=True)
        )
        emails = [*real, *(f"nobody{n}@bench.pfmp.test" for n in range(len(real)))]
        emails_file = data_dir / "emails.json"
        emails_file.write_text(json.dumps(emails))
        for throttle in args.throttle:
            # Each pass starts from no throttle state (a previous run's locks would still hold).
            await SigninThrottle.all().delete()
            server = Server(url, args.workers, data_dir, {"PFMP_SIGNIN_THROTTLE": "1" if throttle == "on" else "0"})
            try:
                await server.wait()
                for clients in (0, *args.clients):
                    row = await scenario(server.base, token, targets, clients, args, emails_file)
                    row["throttle"] = throttle
                    rows.append(row)
                    flood = row["flood"] or {}
                    print(
                        f"throttle {throttle}, {clients:2} flooding clients: healthz p50/p95 "
                        f"{row['healthz']['p50']:.1f}/{row['healthz']['p95']:.1f} ms, period view p50/p95 "
                        f"{row['view']['p50']:.0f}/{row['view']['p95']:.0f} ms"
                        + (f"; flood {flood['rate']:.0f} logins/s {flood['codes']}" if flood else ""),
                        flush=True,
                    )
            finally:
                server.stop()
        await SigninThrottle.all().delete()
    return rows


def report(args, db: str, rows: list[dict]) -> str:
    lines = [
        f"### {db}, {args.workers} worker(s) — {dt.date.today()}",
        "",
        f"Probes in turn, one request after the other for {args.duration:.0f} s each (after "
        f"{args.warmup:.0f} s of flood); the flood's own process sends `login` with wrong passwords as fast as answers come.",
        "",
        "| throttle | flooding clients | /healthz p50 / p95 ms | period view p50 / p95 ms | period view p95 vs "
        "unloaded | logins answered/s | answers | flood client CPU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    unloaded = {}
    for row in rows:
        if row["clients"] == 0:
            unloaded[row["throttle"]] = row["view"]["p95"]
        flood = row["flood"]
        ratio = row["view"]["p95"] / unloaded[row["throttle"]]
        codes = ", ".join(f"{k} {v}" for k, v in sorted(flood["codes"].items())) if flood else "—"
        lines.append(
            f"| {row['throttle']} | {row['clients'] or 'none'} | {row['healthz']['p50']:.1f} / "
            f"{row['healthz']['p95']:.1f} | {row['view']['p50']:.0f} / {row['view']['p95']:.0f} | {ratio:.2f}× | "
            f"{flood['rate']:.1f} | {codes} | {flood['cpu'] * 100:.0f} % |"
            if flood
            else f"| {row['throttle']} | none | {row['healthz']['p50']:.1f} / {row['healthz']['p95']:.1f} | "
            f"{row['view']['p50']:.0f} / {row['view']['p95']:.0f} | 1× | — | — | — |"
        )
    lines += [
        "",
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, flood, probes and server on the "
        "same machine. Targets: /healthz p95 < 50 ms, period view p95 ≤ 1.5× unloaded.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--duration", type=float, default=15, help="seconds each probe runs")
    parser.add_argument(
        "--throttle", nargs="+", choices=("off", "on"), default=["off", "on"], help="which passes to run"
    )
    parser.add_argument("--warmup", type=float, default=2, help="seconds of flood before the probes start")
    parser.add_argument("--hammer", help=argparse.SUPPRESS)
    parser.add_argument("--emails", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hammer:
        emails = json.loads(Path(args.emails).read_text())
        print(json.dumps(asyncio.run(hammer(args.hammer, args.clients[0], args.duration, emails))))
        return
    if not args.database_url:
        parser.error("--database-url is required")
    url = normalize_database_url(args.database_url)
    db = "SQLite" if url.startswith("sqlite://") else "PostgreSQL"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("flood: stopped"))
    with tempfile.TemporaryDirectory(prefix="pfmp-flood-") as folder:
        data_dir = Path(folder)
        (data_dir / "annexes").mkdir()
        rows = asyncio.run(measure(args, url, data_dir))
    text = report(args, db, rows)
    print()
    print(text)
    out = ROOT / "bench" / "results" / f"{dt.date.today()}-{db.lower()}-flood.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
