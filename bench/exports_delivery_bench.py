"""Benchmark of the export routes (R22–R24) through the running server: time and the server's peak memory.

Fills a fresh database through the ORM (the demo data, then two Bac Pro MELEC
levels taught by the demo teacher: a 35-learner period, and 100 learners × 3
periods with completed bilans), starts the real server (`python -m graph.cli
serve`) on it, signs in as the demo teacher and downloads over HTTP:
- the pre-conventions of the 35-learner period;
- the level synthesis of the 100 learners × 3 periods.
Each download is repeated; the server's peak memory growth is VmHWM of
/proc/<pid>/status (reset through /proc/<pid>/clear_refs just before) against
VmRSS just before. Meanwhile a thread asks /healthz every 50 ms and reports
the slowest answer: the document is built off the event loop, so the server
keeps answering.

    /tmp/venv/bin/python bench/exports_delivery_bench.py [--repeat 3] [--database-url postgres://…]

Linux only (reads /proc). Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import docx
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.database import apply_migrations, orm  # noqa: E402
from graph.types.common import encode_id  # noqa: E402
from models.users import User  # noqa: E402
from resolvers.demo import load_demo_data  # noqa: E402
from resolvers.frameworks.importing import load_builtin_frameworks  # noqa: E402
from tests.exports.delivery import melec_level  # noqa: E402

TEACHER = ("professeur@demo.pfmp.test", "demo-pfmp-2026")
LOGIN = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token errors { code } } }"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def _reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


async def _fill(database_url: str) -> dict[str, str]:
    """The demo data and the two MELEC levels; answers the export paths."""
    await apply_migrations(database_url)
    async with orm(database_url):
        await load_builtin_frameworks()
        await load_demo_data()
        teacher = await User.get(email=TEACHER[0])
        seconde = await melec_level(teacher, 35, 1, name="Seconde MELEC")
        premiere = await melec_level(teacher, 100, 3, name="Première MELEC")
        return {
            "pre-conventions, 35 learners": f"/exports/pre-convention/period/{encode_id('Period', seconde.periods[0].id)}",
            "level synthesis, 100 learners x 3 periods": f"/exports/level-synthesis/{encode_id('Level', premiere.level.id)}",
        }


def _wait_ready(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz within 60 s")


class HealthProbe(threading.Thread):
    """Asks /healthz every 50 ms until stopped; keeps the slowest answer."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base, self.slowest, self.answers = base, 0.0, 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=120) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                assert client.get("/healthz").status_code == 200
                self.slowest = max(self.slowest, time.perf_counter() - started)
                self.answers += 1
                self.stop.wait(0.05)


def _download(client: httpx.Client, pid: int, path: str) -> dict:
    rss_before = _status_kb(pid, "VmRSS")
    reset = _reset_peak(pid)
    probe = HealthProbe(str(client.base_url))
    probe.start()
    started = time.perf_counter()
    with client.stream("GET", path) as response:
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.read()[:300]!r}")
        content = b"".join(response.iter_bytes())
    seconds = time.perf_counter() - started
    peak = _status_kb(pid, "VmHWM")
    probe.stop.set()
    probe.join()
    document = docx.Document(io.BytesIO(content))
    return {
        "seconds": seconds,
        "bytes": len(content),
        "peak_growth_mb": (peak - rss_before) / 1024,
        "rss_before_mb": rss_before / 1024,
        "peak_reset": reset,
        "sections": len(document.sections),
        "paragraphs": len(document.paragraphs),
        "tables": len(document.tables),
        "health_slowest_ms": probe.slowest * 1000,
        "health_answers": probe.answers,
    }


def run(workdir: Path, repeat: int, database_url: str | None) -> dict[str, list[dict]]:
    data_dir = workdir / "data"
    data_dir.mkdir()
    database_url = database_url or f"sqlite://{data_dir / 'bench.sqlite3'}"
    started = time.perf_counter()
    paths = asyncio.run(_fill(database_url))
    print(f"database filled in {time.perf_counter() - started:.1f} s ({database_url.split('://')[0]})")

    port = _free_port()
    env = {
        **os.environ,
        "PFMP_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "PFMP_TOKEN_SECRET": "bench-" + "s" * 40,
        "TMPDIR": str(workdir),
    }
    log = workdir / "server.log"
    with open(log, "wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "graph.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, server, log)
        with httpx.Client(base_url=base, timeout=600) as client:
            body = client.post("/graphql", json={"query": LOGIN, "variables": {"e": TEACHER[0], "p": TEACHER[1]}})
            client.headers["Authorization"] = f"Bearer {body.json()['data']['login']['token']}"
            return {name: [_download(client, server.pid, path) for _ in range(repeat)] for name, path in paths.items()}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        # the server's own split of each export: gathering the data (on the loop), building (in a thread)
        for line in log.read_text(errors="replace").splitlines():
            if "pfmp.exports" in line:
                print("  server:", line.split("pfmp.exports ", 1)[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pfmp-exports-bench-", dir=args.dir))
    try:
        results = run(workdir, args.repeat, args.database_url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for name, runs in results.items():
        last = runs[-1]
        times = [r["seconds"] for r in runs]
        print(
            f"{name}: {last['bytes'] / 1024:.0f} KiB, {last['sections']} section(s), {last['tables']} tables, "
            f"{last['paragraphs']} paragraphs"
        )
        print(f"  time over HTTP: best {min(times):.2f} s, median {statistics.median(times):.2f} s ({len(runs)} runs)")
        print(
            f"  server peak memory growth: max {max(r['peak_growth_mb'] for r in runs):.1f} MB "
            f"(RSS before {last['rss_before_mb']:.0f} MB, peak reset: {last['peak_reset']})"
        )
        print(
            f"  /healthz meanwhile: slowest {max(r['health_slowest_ms'] for r in runs):.0f} ms over "
            f"{sum(r['health_answers'] for r in runs)} answers"
        )


if __name__ == "__main__":
    main()
