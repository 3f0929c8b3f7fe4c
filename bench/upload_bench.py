"""Benchmark of annex uploads (R16): a large file through the running server, memory and throughput.

Starts `pfmp serve --demo` as a subprocess on a fresh SQLite database with the
upload limit raised, signs in as the demo learner, uploads one file through the
GraphQL multipart request spec with httpx streaming the body from disk, then
downloads it back. Reports the server's peak memory growth during each transfer
(VmHWM of /proc/<pid>/status, reset just before through /proc/<pid>/clear_refs,
against VmRSS just before) and, in the same run, the upload's throughput against
`shutil.copyfileobj` of the same file on the same disk and against a bare app:
the same request, from the same client, to an ASGI app on the same uvicorn set-up
(graph.serving's protocol) that only reads the body and drops it, what uvicorn and
the client cost without us (on a busy machine it is no strict floor: a server
slower to read gets the body in larger reads). The server's CPU time during the
upload (every thread) is the figure least moved by other work on the machine.

    python bench/upload_bench.py --size-mb 200 [--runs 3]

Linux only (reads /proc); resetting the peak needs to own the server process.
Not a test: it prints figures and fails only when the memory budget is exceeded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.storage import ACCESS_KEY, BUCKET, SECRET_KEY, SeaweedServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LEARNER = ("angelique.dupire@demo.pfmp.test", "demo-pfmp-2026")
CHUNK = 1024 * 1024
MEMORY_BUDGET_MB = 50

UPLOAD = (
    "mutation($input: AnnexUploadInput!) { annexUpload(input: $input) "
    "{ annex { size contentType downloadUrl } errors { code message } } }"
)


# An ASGI app that reads a request's body and drops it: what uvicorn and the client cost, without us.
SINK_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(size).encode()})
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of the process, every thread included (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _settle() -> None:
    """Each timed write starts with no dirty page of an earlier step waiting to reach the disk. (copyfileobj still
    ranges from 0.4 to 4.4 GB/s from one run to the next here: mostly the page cache's memory speed, sometimes
    the disk's.)"""
    os.sync()


def _make_file(path: Path, size: int) -> None:
    """A PDF header then random bytes: accepted by its first bytes, incompressible, never cached by a filesystem."""
    with open(path, "wb") as out:
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        left = size - out.tell()
        while left > 0:
            block = os.urandom(min(CHUNK, left))
            out.write(block)
            left -= len(block)


def _multipart(path: Path, fiche_id: str) -> tuple[str, int, object]:
    """(content type, length, body iterator) of a GraphQL multipart request reading the file as it goes."""
    boundary = uuid.uuid4().hex
    operations = json.dumps({"query": UPLOAD, "variables": {"input": {"ficheId": fiche_id, "file": None}}})
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.input.file"]}}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="{path.name}"\r\n'
        f"Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():
        yield head
        with open(path, "rb") as source:
            while block := source.read(CHUNK):
                yield block
        yield tail

    return f"multipart/form-data; boundary={boundary}", len(head) + path.stat().st_size + len(tail), body()


def _bare_app(source: Path, workdir: Path) -> float:
    """Seconds to post the same multipart body to the sink app served like ours (uvicorn, our protocol class)."""
    (workdir / "bench_sink.py").write_text(SINK_APP)
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import uvicorn; uvicorn.run('bench_sink:app', port=%d, log_level='warning', "
            "http='graph.serving:NoDelayHTTPProtocol')" % port,
        ],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)])},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the sink server did not start") from None
                time.sleep(0.1)
        content_type, length, body = _multipart(source, "0")
        _settle()
        started = time.perf_counter()
        response = httpx.post(
            f"http://127.0.0.1:{port}/",
            content=body,
            headers={"Content-Type": content_type, "Content-Length": str(length)},
            timeout=600,
        )
        seconds = time.perf_counter() - started
        if int(response.text) != length:
            raise SystemExit(f"the sink read {response.text} bytes of {length}")
        return seconds
    finally:
        server.terminate()
        server.wait(timeout=20)


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


def _graphql(client: httpx.Client, query: str, **variables) -> dict:
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    if body.get("errors"):
        raise SystemExit(f"GraphQL error: {body['errors']}")
    return body["data"]


def run(size_mb: int, workdir: Path, storage_env: dict[str, str] | None = None) -> dict:
    size = size_mb * 1024 * 1024
    data_dir = workdir / "data"
    source = workdir / "source.pdf"
    _make_file(source, size)

    # the plain copy on the same disk, the reference for throughput
    _settle()
    started = time.perf_counter()
    with open(source, "rb") as src, open(workdir / "copy.pdf", "wb") as dst:
        shutil.copyfileobj(src, dst)
    copy_seconds = time.perf_counter() - started
    (workdir / "copy.pdf").unlink()
    bare_seconds = _bare_app(source, workdir)

    port = _free_port()
    env = {
        **os.environ,
        "PFMP_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite://{data_dir / 'bench.sqlite3'}",
        "PFMP_UPLOAD_LIMIT": str(size + 16 * 1024 * 1024),
        "PFMP_TOKEN_SECRET": "bench-" + "s" * 40,
        "TMPDIR": str(workdir),
        **(storage_env or {}),
    }
    pfmp = Path(sys.executable).parent / "pfmp"
    command = [str(pfmp)] if pfmp.exists() else [sys.executable, "-c", "from graph.cli import main; main()"]
    log = workdir / "server.log"
    with open(log, "wb") as log_file:
        server = subprocess.Popen(
            [*command, "serve", "--demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, server, log)
        with httpx.Client(base_url=base, timeout=600) as client:
            token = _graphql(
                client,
                "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token errors { code } } }",
                e=LEARNER[0],
                p=LEARNER[1],
            )["login"]["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            fiches = _graphql(
                client, "{ me { ... on Learner { portfolios { activityFiches { nodes { id title } } } } } }"
            )
            fiche_id = fiches["me"]["portfolios"][0]["activityFiches"]["nodes"][0]["id"]

            # upload
            content_type, length, body = _multipart(source, fiche_id)
            rss_before = _status_kb(server.pid, "VmRSS")
            reset = _reset_peak(server.pid)
            cpu_before = _cpu_seconds(server.pid)
            _settle()
            started = time.perf_counter()
            response = client.post(
                "/graphql", content=body, headers={"Content-Type": content_type, "Content-Length": str(length)}
            )
            upload_seconds = time.perf_counter() - started
            upload_cpu = _cpu_seconds(server.pid) - cpu_before
            upload_peak = _status_kb(server.pid, "VmHWM")
            payload = response.json()["data"]["annexUpload"]
            if payload["errors"] or payload["annex"]["size"] != size:
                raise SystemExit(f"upload refused: {payload}")

            # download, checking the bytes
            rss_before_download = _status_kb(server.pid, "VmRSS")
            _reset_peak(server.pid)
            digest = hashlib.sha256()
            started = time.perf_counter()
            with client.stream("GET", payload["annex"]["downloadUrl"]) as stream:
                for block in stream.iter_bytes(CHUNK):
                    digest.update(block)
            download_seconds = time.perf_counter() - started
            download_peak = _status_kb(server.pid, "VmHWM")
        expected = hashlib.sha256(source.read_bytes()).hexdigest()
        return {
            "size_mb": size_mb,
            "peak_reset": reset,
            "rss_before_upload_mb": rss_before / 1024,
            "upload_peak_growth_mb": (upload_peak - rss_before) / 1024,
            "download_peak_growth_mb": (download_peak - rss_before_download) / 1024,
            "upload_mb_s": size_mb / upload_seconds,
            "download_mb_s": size_mb / download_seconds,
            "plain_copy_mb_s": size_mb / copy_seconds,
            "upload_seconds": upload_seconds,
            "upload_cpu_seconds": upload_cpu,
            "plain_copy_seconds": copy_seconds,
            "bare_mb_s": size_mb / bare_seconds,
            "bytes_identical": digest.hexdigest() == expected,
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=1, help="runs, each with its own server; medians at the end")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    parser.add_argument(
        "--s3", action="store_true", help="annexes in a SeaweedFS server started for the run (tests/storage.py)"
    )
    args = parser.parse_args()
    results = []
    seaweed = SeaweedServer().start() if args.s3 else None
    try:
        for run_number in range(args.runs):
            storage_env = None
            if seaweed is not None:
                storage_env = {
                    "PFMP_STORAGE_URL": f"s3://{BUCKET}/bench{run_number}?endpoint={seaweed.endpoint}",
                    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                }
            workdir = Path(tempfile.mkdtemp(prefix="pfmp-bench-", dir=args.dir))
            try:
                result = run(args.size_mb, workdir, storage_env)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            results.append(result)
            _report(result)
    finally:
        if seaweed is not None:
            seaweed.stop()
    if args.runs > 1:
        ratios = sorted(r["upload_mb_s"] / r["plain_copy_mb_s"] for r in results)
        bares = sorted(r["upload_mb_s"] / r["bare_mb_s"] for r in results)
        print(
            f"median of {args.runs}: upload {statistics.median(r['upload_mb_s'] for r in results):.0f} MB/s, "
            f"copyfileobj {statistics.median(r['plain_copy_mb_s'] for r in results):.0f} MB/s, "
            f"bare app {statistics.median(r['bare_mb_s'] for r in results):.0f} MB/s, "
            f"server CPU {statistics.median(r['upload_cpu_seconds'] for r in results):.2f} s; "
            f"upload/copyfileobj {statistics.median(ratios):.0%}, upload/bare app {statistics.median(bares):.0%}"
        )
    failed = [
        r
        for r in results
        if not r["bytes_identical"]
        or r["upload_peak_growth_mb"] >= MEMORY_BUDGET_MB
        or r["download_peak_growth_mb"] >= MEMORY_BUDGET_MB
    ]
    if failed:
        raise SystemExit(1)


def _report(result: dict) -> None:
    print(f"file: {result['size_mb']} MB (peak reset through clear_refs: {result['peak_reset']})")
    print(f"server RSS before upload: {result['rss_before_upload_mb']:.1f} MB")
    print(
        f"upload:   peak memory growth {result['upload_peak_growth_mb']:.1f} MB, "
        f"{result['upload_mb_s']:.0f} MB/s ({result['upload_seconds']:.2f} s), "
        f"server CPU {result['upload_cpu_seconds']:.2f} s"
    )
    print(
        f"download: peak memory growth {result['download_peak_growth_mb']:.1f} MB, "
        f"{result['download_mb_s']:.0f} MB/s, bytes identical: {result['bytes_identical']}"
    )
    print(
        f"side by side: copyfileobj {result['plain_copy_mb_s']:.0f} MB/s, bare app (uvicorn + client, body "
        f"dropped) {result['bare_mb_s']:.0f} MB/s, upload {result['upload_mb_s']:.0f} MB/s: "
        f"{result['upload_mb_s'] / result['plain_copy_mb_s']:.0%} of copyfileobj, "
        f"{result['upload_mb_s'] / result['bare_mb_s']:.0%} of the bare app"
    )
    within = result["upload_peak_growth_mb"] < MEMORY_BUDGET_MB and result["download_peak_growth_mb"] < MEMORY_BUDGET_MB
    print(f"memory budget {MEMORY_BUDGET_MB} MB: {'kept' if within else 'EXCEEDED'}")


if __name__ == "__main__":
    main()
