"""A real `pfmp serve` process on a free loopback port, for tests that need a live server.

The server's output goes to a log file in its data folder, never to a pipe:
nobody reads a pipe while a test runs, and once its buffer is full (a few
hundred access-log lines) the server blocks on its next log write.
"""

from __future__ import annotations

import contextlib
import os
import signal
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


class ServerProcess:
    """One `pfmp serve` process that a test can start, kill (SIGKILL) and start again on the same data."""

    def __init__(
        self,
        data_dir: Path,
        *,
        extra_env: dict | None = None,
        args: tuple[str, ...] = ("--demo",),
        port: int | None = None,
    ):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.args = args
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PFMP_", "DATABASE_URL"))}
        env.update({"PFMP_DATA_DIR": str(data_dir)}, **(extra_env or {}))
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> str:
        """Start the process and wait until /healthz answers 200; the base URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "graph.cli", "serve", "--port", str(self.port), *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self.base
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"server did not start in {timeout:.0f} s: {self.log()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no cleanup, like a crash or the OOM killer."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def freeze(self) -> None:
        """SIGSTOP: the process stops where it is, to be killed there."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGSTOP)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except OSError:
            return ""


@contextlib.contextmanager
def live_server(data_dir: Path, *, extra_env: dict | None = None, args: tuple[str, ...] = ("--demo",)):
    """Yields the base URL of a server started with the demo data (a fresh SQLite database unless
    `extra_env` names a DATABASE_URL)."""
    server = ServerProcess(data_dir, extra_env=extra_env, args=args)
    try:
        yield server.start()
    finally:
        server.stop()
