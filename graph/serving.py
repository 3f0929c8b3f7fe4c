"""The HTTP protocol `pfmp serve` runs uvicorn with: uvicorn's own, with TCP_NODELAY on every connection.

With more than one worker, uvicorn binds the listening socket itself (`socket.socket(family)`, protocol 0) and
hands it to the workers. asyncio sets TCP_NODELAY only on sockets whose protocol says TCP, so the connections
those workers accept keep Nagle's algorithm: a response written in two parts (head, then body) waits for the
client's delayed acknowledgement, about 40 ms on Linux, at every request. Measured with bench/load.py: /healthz
answered in 2-3 ms with one worker and 48 ms with two.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
