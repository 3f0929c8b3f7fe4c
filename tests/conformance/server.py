"""A real `pfmp serve` process on a free loopback port, for tests that need a live server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def live_server(data_dir: Path, *, extra_env: dict | None = None, args: tuple[str, ...] = ("--demo",)):
    """Yields the base URL of a server started with the demo data on a fresh SQLite database."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PFMP_", "DATABASE_URL"))}
    env.update({"PFMP_DATA_DIR": str(data_dir)}, **(extra_env or {}))
    server = subprocess.Popen([sys.executable, "-m", "graph.cli", "serve", "--port", str(port), *args],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"server exited: {server.stdout.read()}")
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 60 s")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
