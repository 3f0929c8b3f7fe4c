"""Fetching from an identity provider (permissions/remote.py) against a real HTTP server on the loopback: what is
sent, what is refused, and the reason each refusal gives (it goes to the server's log and, for CAS, to the
client's error)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from permissions.remote import MAX_BYTES, RemoteError, fetch

LIMIT = 1000


class _Provider(BaseHTTPRequestHandler):
    seen_accept: list[str] = []
    # seconds from a silent request's arrival to the client closing its connection
    silent_closed_after: list[float] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        _Provider.seen_accept.append(self.headers.get("Accept", ""))
        if self.path.startswith("/bytes/"):
            body = b"x" * int(self.path.removeprefix("/bytes/"))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/error":
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/elsewhere":
            self.send_response(302)
            self.send_header("Location", "/bytes/10")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            time.sleep(3)
            self.wfile.write(b"x" * 10)
        elif self.path == "/endless":
            # no length, 4 KiB every 10 ms until the client hangs up (or 10 s pass: a reader without a limit
            # must not keep the test session alive)
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"x" * 4096)
                    self.wfile.flush()
                    time.sleep(0.01)
            except OSError:
                pass
        elif self.path == "/silent":
            # nothing answered; wait (at most 5 s) for the client to give up and close its connection
            arrived = time.monotonic()
            self.connection.settimeout(5)
            try:
                self.connection.recv(1)
            except OSError:
                pass
            _Provider.silent_closed_after.append(time.monotonic() - arrived)
        elif self.path == "/trickle":
            # a byte every 0.1 s: no read waits long enough for the socket's timeout, the whole takes 4 s
            self.send_response(200)
            self.send_header("Content-Length", "40")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_a_document_up_to_the_limit_is_read_whole_and_asked_as_json_or_xml(provider):
    _Provider.seen_accept.clear()
    assert await fetch(f"{provider}/bytes/{LIMIT}", timeout=5, limit=LIMIT) == b"x" * LIMIT
    assert _Provider.seen_accept == ["application/json, application/xml, text/xml"]


async def test_one_byte_over_the_limit_is_refused(provider):
    with pytest.raises(RemoteError) as refused:
        await fetch(f"{provider}/bytes/{LIMIT + 1}", timeout=5, limit=LIMIT)
    assert str(refused.value) == "answered more data than expected"


async def test_the_default_limit_is_a_mebibyte(provider):
    assert MAX_BYTES == 1024 * 1024
    assert len(await fetch(f"{provider}/bytes/{MAX_BYTES}", timeout=5)) == MAX_BYTES
    with pytest.raises(RemoteError, match="more data than expected"):
        await fetch(f"{provider}/bytes/{MAX_BYTES + 1}", timeout=5)


async def test_an_http_error_says_its_status(provider):
    with pytest.raises(RemoteError) as refused:
        await fetch(f"{provider}/error", timeout=5)
    assert str(refused.value) == "answered HTTP 503"


async def test_a_redirect_is_not_followed(provider):
    # the answer must come from the configured address
    with pytest.raises(RemoteError) as refused:
        await fetch(f"{provider}/elsewhere", timeout=5)
    assert str(refused.value) == "answered HTTP 302"


async def test_a_provider_slower_than_the_timeout_did_not_answer_in_time(provider):
    with pytest.raises(RemoteError) as refused:
        await fetch(f"{provider}/slow", timeout=0.3)
    assert str(refused.value) == "did not answer in time"


async def test_a_provider_that_never_stops_answering_is_cut_after_the_limit(provider):
    # the body is read up to one byte past the limit, not to its end (there is none) nor to the deadline
    started = time.monotonic()
    with pytest.raises(RemoteError) as refused:
        await fetch(f"{provider}/endless", timeout=5, limit=LIMIT)
    assert str(refused.value) == "answered more data than expected"
    assert time.monotonic() - started < 3


async def test_a_silent_provider_s_connection_is_closed_at_the_socket_timeout(provider):
    # the caller is answered at the deadline; the worker thread's socket gives up at the timeout, so no thread
    # stays blocked on a provider that never answers
    _Provider.silent_closed_after.clear()
    with pytest.raises(RemoteError) as refused:
        await fetch(f"{provider}/silent", timeout=0.3)
    assert str(refused.value) == "did not answer in time"
    for _ in range(50):
        if _Provider.silent_closed_after:
            break
        await asyncio.sleep(0.1)
    assert _Provider.silent_closed_after and _Provider.silent_closed_after[0] < 2


async def test_a_provider_that_trickles_its_answer_is_cut_at_the_overall_deadline(provider):
    # each byte comes in time for the socket, so only the deadline on the awaiting side (timeout + 0.5 s) stops it
    started = time.monotonic()
    with pytest.raises(RemoteError) as refused:
        await fetch(f"{provider}/trickle", timeout=0.5)
    assert str(refused.value) == "did not answer in time"
    assert time.monotonic() - started < 1.8  # the deadline is 1.0 s


async def test_a_provider_nobody_listens_for_cannot_be_reached():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    port = server.server_address[1]
    server.server_close()  # the port is free again: the connection is refused
    with pytest.raises(RemoteError) as refused:
        await fetch(f"http://127.0.0.1:{port}/bytes/1", timeout=5)
    assert str(refused.value) == "cannot be reached"
