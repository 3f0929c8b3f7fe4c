"""Fetching a small document from an identity provider (JWKS, CAS validation), off the event loop.

urllib blocks, so every fetch runs in a worker thread (`asyncio.to_thread`)
and is bounded twice: the socket timeout, and an overall deadline on the
awaiting side, so a provider that trickles bytes cannot hold a request.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

MAX_BYTES = 1024 * 1024
ACCEPTED_TYPES = "application/json, application/xml, text/xml"


class RemoteError(Exception):
    """The provider did not answer usefully; the message is safe to show."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a provider's answer must come from the configured address
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _fetch(url: str, timeout: float, limit: int) -> bytes:
    # urllib capitalizes header names itself (and HTTP's are case-insensitive)
    request = urllib.request.Request(url, headers={"Accept": ACCEPTED_TYPES})  # pragma: no mutate
    try:
        with _opener.open(request, timeout=timeout) as response:
            body = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise RemoteError(f"answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        # a timeout while connecting comes wrapped in URLError, one while reading bare (socket.timeout and
        # ssl's timeouts are TimeoutError since Python 3.10)
        if isinstance(getattr(exc, "reason", exc), TimeoutError):
            raise RemoteError("did not answer in time") from None
        raise RemoteError("cannot be reached") from None
    if len(body) > limit:
        raise RemoteError("answered more data than expected")
    return body


async def fetch(url: str, *, timeout: float, limit: int = MAX_BYTES) -> bytes:
    """The body of a GET on `url`; RemoteError when the provider fails or is slower than `timeout` seconds."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(_fetch, url, timeout, limit), timeout + 0.5)
    except TimeoutError:
        raise RemoteError("did not answer in time") from None
