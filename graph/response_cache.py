"""Answers to repeated GraphQL reads, without ever a stale one: a per-process cache and ETags (docs/readpath.md,
"Response cache").

A GraphQL request by a signed-in viewer, sent by GET or as a JSON POST (never a multipart upload), gets a key: an
HMAC, with the token secret, of the request as sent (the query string, or the body), the viewer's id, role, school,
token version, temporary-password state and trainer link (a token of a link reaches less than the trainer), the two data version stamps that can change its answer (the global one
and the viewer's school's, read from the database in one statement at the start of the request: models/stamps.py),
the day (reads of "the current school year" depend on it), and the schema. Every write of a row a read can show
bumps one of those stamps in its own transaction, so a committed write, through any process, changes the key of the
next read through any process.

- Stored: the body of a 200 answer to a query (the extension below marks it, so never a mutation's nor a
  subscription's) without any error, unless something of the request marked it `uncacheable` (a value that changes
  per request: there is none today; annex download URLs are plain paths). The cache is a per-process LRU bounded in
  bytes (PFMP_RESPONSE_CACHE_MB); a hit is answered without running the query: one statement for the token, one for
  the stamps.
- GET answers that could be stored carry `ETag` (the key); a GET whose `If-None-Match` names the current key answers
  304 without running anything, in any process (the key does not depend on the process).
- `X-Cache: hit` (served from this process's memory), `miss` (run, and stored when it could be), `revalidated`
  (304) on every request that was looked up.

Viewers never share an answer: the key holds who asks, not only what their reach is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graph.settings import Settings
from models import stamps
from permissions import signed_urls
from permissions.viewer import Viewer

# Bookkeeping of one entry (its key, the dict's slot) counted with its body.
ENTRY_OVERHEAD = 200


class ResponseCache:
    """Answer bodies by key, least recently used evicted first, at most `max_bytes` in all."""

    def __init__(self, max_bytes: int, secret: str, version: str) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[str, bytes] = OrderedDict()
        self._secret = secret.encode()
        # What the key holds besides the request: the schema (so a new release tags its answers anew).
        self._version = version.encode()

    def key(self, raw: bytes, method: str, viewer: Viewer, global_stamp: int, school_stamp: int) -> str:
        material = b"\x00".join(
            [
                self._version,
                method.encode(),
                raw,
                (
                    f"{viewer.id}|{viewer.role.value}|{viewer.school_id}|{viewer.token_version}|"
                    f"{int(viewer.password_change_required)}|{viewer.link_id}|{global_stamp}|{school_stamp}|{dt.date.today()}"
                ).encode(),
            ]
        )
        return hmac.new(self._secret, material, hashlib.sha256).hexdigest()

    def get(self, key: str) -> bytes | None:
        body = self.entries.get(key)
        if body is not None:
            self.entries.move_to_end(key)
        return body

    def put(self, key: str, body: bytes) -> None:
        cost = len(body) + ENTRY_OVERHEAD
        if cost > self.max_bytes or key in self.entries:
            return
        while self.size + cost > self.max_bytes:
            _, evicted = self.entries.popitem(last=False)
            self.size -= len(evicted) + ENTRY_OVERHEAD
        self.entries[key] = body
        self.size += cost


@dataclass
class Lookup:
    key: str
    etag: str
    method: str
    # Set when the request is answered without running: from memory, or 304.
    response: Response | None = None


def raw_request(request: Request, body: bytes | None) -> bytes | None:
    """What the key is made of: a GET's query string, a JSON POST's body; None for anything else."""
    if request.method == "GET":
        return request.url.query.encode() or None
    if body is not None:
        return body
    return None


async def look_up(cache: ResponseCache, request: Request, viewer: Viewer, raw: bytes) -> Lookup:
    global_stamp, school_stamp = await stamps.read(viewer.school_id)
    key = cache.key(raw, request.method, viewer, global_stamp, school_stamp)
    lookup = Lookup(key=key, etag=f'"{key[:40]}"', method=request.method)
    if request.method == "GET" and lookup.etag in _etags(request.headers.get("if-none-match", "")):
        lookup.response = Response(status_code=304, headers={"etag": lookup.etag, "x-cache": "revalidated"})
        return lookup
    body = cache.get(key)
    if body is not None:
        headers = {"x-cache": "hit"}
        if request.method == "GET":
            headers["etag"] = lookup.etag
        lookup.response = Response(body, media_type="application/json", headers=headers)
    return lookup


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def store(cache: ResponseCache, request: Request, lookup: Lookup, response: Response) -> None:
    """Keep a clean answer to a query, tag it; mark every looked-up answer with X-Cache."""
    response.headers["x-cache"] = "miss"
    state = request.state
    if not (
        response.status_code == 200
        and getattr(state, "query_operation", False)
        and getattr(state, "clean_result", False)
        and not getattr(state, "uncacheable", False)
    ):
        return
    cache.put(lookup.key, bytes(response.body))
    if lookup.method == "GET":
        response.headers["etag"] = lookup.etag


def mark_uncacheable(request: Request | None) -> None:
    """For a field whose value changes per request (a signed URL with an expiry, a clock): its answer is not kept."""
    if request is not None:
        request.state.uncacheable = True


def signed_download(request: Request | None, settings: Settings, viewer: Viewer | None, path: str) -> str | None:
    """A signed URL of the download `path` for the viewer (permissions/signed_urls.py), null for nobody; the answer
    that holds it, valid for minutes only, is never kept."""
    if viewer is None:
        return None
    mark_uncacheable(request)
    return signed_urls.sign(settings, path, viewer)[0]


class CacheableQuery(SchemaExtension):
    """Marks a request whose operation ran as a query: only those answers may be stored."""

    def on_execute(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        request = getattr(context, "request", None)
        if isinstance(request, Request) and self.execution_context.operation_type is OperationType.QUERY:
            request.state.query_operation = True
