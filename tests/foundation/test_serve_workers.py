"""`pfmp serve --workers 2` answers as fast as one worker: its connections have TCP_NODELAY (graph/serving.py)."""

import statistics
import time

import httpx

from tests.conformance.server import ServerProcess


def test_two_workers_answer_without_waiting_for_the_delayed_ack(tmp_path):
    # given the server with two workers (it binds the socket that both share)
    server = ServerProcess(tmp_path / "data", args=("--workers", "2"))
    base = server.start()
    try:
        # when one client asks for the health check thirty times on one connection
        times = []
        with httpx.Client(base_url=base) as client:
            for _ in range(30):
                start = time.perf_counter()
                assert client.get("/healthz").status_code == 200
                times.append((time.perf_counter() - start) * 1000)
        # then the answers come at once: without TCP_NODELAY the body of each waits for the client's
        # delayed acknowledgement of its head, 40 ms or more on Linux, every time (2 ms with it)
        assert statistics.median(times) < 20, sorted(times)
    finally:
        server.stop()
