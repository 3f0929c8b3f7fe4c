"""Automatic persisted queries, the protocol Apollo clients speak (issue 16, part 4): a client sends
`extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}` instead of the document, on GET or POST.

- A hash this process does not know, without a query: the answer Apollo Server gives, 200 with one error whose
  message is `PersistedQueryNotFound` and whose `extensions.code` is `PERSISTED_QUERY_NOT_FOUND`; the client then
  sends the query with its hash.
- A hash with its query: the SHA-256 of the query must be the hash (else 400, nothing kept); the query runs as any
  other, and once it parsed and validated (its answer is not a request error) the hash names it from then on.
- A hash alone that is known: the query it names runs exactly as if its text had been sent: the same parser and
  validation caches, depth, alias and cost limits, GET only for queries, the same response cache.

The store is per process and bounded (least recently used first out): a client whose hash another process or a
restart does not know gets PersistedQueryNotFound and sends the query again, which is what the protocol expects.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from typing import Any

from cross_web import HTTPException
from starlette.responses import JSONResponse

VERSION = 1
NOT_FOUND = "PersistedQueryNotFound"
NOT_FOUND_CODE = "PERSISTED_QUERY_NOT_FOUND"
_HASH = re.compile(r"^[0-9a-f]{64}$")


class PersistedQueryNotFound(Exception):
    """A hash alone that this process does not know: answered by `not_found_response`."""


def not_found_response() -> JSONResponse:
    # As Apollo Server answers it: 200 (the clients look at the error's code), never kept by a cache.
    return JSONResponse(
        {"errors": [{"message": NOT_FOUND, "extensions": {"code": NOT_FOUND_CODE}}]},
        headers={"cache-control": "private, no-cache, must-revalidate"},
    )


class PersistedQueries:
    """The documents this process knows by their SHA-256, at most `largest` of them (the least recently used
    leaves first), and at most `longest` characters each (a longer one runs, it is just not kept)."""

    def __init__(self, largest: int, longest: int = 100_000) -> None:
        self.largest = largest
        self.longest = longest
        self.documents: OrderedDict[str, str] = OrderedDict()

    def get(self, digest: str) -> str | None:
        query = self.documents.get(digest)
        if query is not None:
            self.documents.move_to_end(digest)
        return query

    def keep(self, digest: str, query: str) -> None:
        if self.largest <= 0 or len(query) > self.longest:
            return
        self.documents[digest] = query
        self.documents.move_to_end(digest)
        while len(self.documents) > self.largest:
            self.documents.popitem(last=False)

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> tuple[str | None, str | None]:
        """(the query to run, the hash to keep it under once it validated, or None). Raises HTTPException 400 for a
        malformed extension or a hash that is not the query's, PersistedQueryNotFound for an unknown hash alone."""
        if not extensions or "persistedQuery" not in extensions:
            return query, None
        persisted = extensions["persistedQuery"]
        if not isinstance(persisted, dict) or persisted.get("version") != VERSION:
            raise HTTPException(400, "Unsupported persisted query version: only version 1 is served.")
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not _HASH.match(digest):
            raise HTTPException(400, "The persisted query's sha256Hash must be 64 lowercase hexadecimal digits.")
        if query is None:
            known = self.get(digest)
            if known is None:
                raise PersistedQueryNotFound()
            return known, None
        if hashlib.sha256(query.encode()).hexdigest() != digest:
            raise HTTPException(400, "The persisted query's sha256Hash is not the SHA-256 of the query sent.")
        return query, digest
