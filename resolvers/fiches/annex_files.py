"""Annex uploads (R16): the streamed writer, checked as it goes; where files live is annex_store.py's.

A file part is written as it arrives (graph/multipart.py), in batches of
1 MiB, its size and type checked as it goes (annex_types.py), under a
generated name in the process's incoming place of the store, and claimed to
its stored place once its row is committed (annex_store.py); the client's name
is kept only as a label. A file refused, cut short or never claimed by a
resolver leaves nothing in the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import unicodedata
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Protocol, TypeVar

from graph.errors import Reason, UserInputError, problem
from resolvers.fiches.annex_store import AnnexStore, Incoming
from resolvers.fiches.annex_types import HEAD_SIZE, ContentCheck, Refused, office_zip_type

log = logging.getLogger("pfmp.annexes")

# Bytes written per hop to a worker thread (or per call to the object store's writer): the body arrives in pieces
# of 64 KiB or less, and one hop per piece costs more than the write itself (bench/upload_bench.py). Two batches at
# most are held per file.
BATCH = 1024 * 1024
MAX_FILENAME = 255


class _Answer(Protocol):
    errors: Any


P = TypeVar("P", bound=_Answer)


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    size: int
    content_type: str
    filename: str


def client_filename(raw: str | None) -> str:
    """The last component of the name the client sent (either slash), without control characters."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[:MAX_FILENAME] or "annexe"


def _too_large(limit: int):
    return problem("file", Reason.FILE_TOO_LARGE, megabytes=limit // (1024 * 1024), bytes=limit)


class LandedFile:
    """A file part of a multipart request, written as it arrives straight into this process's incoming place of
    the store (graph/multipart.py feeds it): its size and type are checked on the way, a refusal is kept for the
    resolver to report, and the resolver that stores it claims it; any other is discarded once the request ends."""

    def __init__(self, store: AnnexStore, filename: str | None, limit: int) -> None:
        self.incoming: Incoming = store.incoming()
        self.stored_name = self.incoming.name
        self.filename = filename
        self.limit = limit
        self.size = 0
        self.refusal: UserInputError | None = None
        self.claimed = False
        self.check = ContentCheck()
        # The bytes' SHA-256, batch by batch in a worker thread while the batch is written (hashlib lets go of the
        # GIL): an idempotency key's fingerprint names the file by it (resolvers/idempotency.py). Batches are
        # hashed in order: one write (and its hashing) in flight at most.
        self.content_digest = hashlib.sha256()
        self._head_checked = False
        self._buffer = bytearray()
        self._pending: asyncio.Future[None] | None = None

    def add(self, data: bytes) -> None:
        """Bytes of the part (on the event loop: only counted and kept; `flush` writes them)."""
        if self.refusal is not None:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.refuse(_too_large(self.limit))
            return
        self._buffer += data

    @property
    def batch_ready(self) -> bool:
        return len(self._buffer) >= BATCH or (not self._head_checked and len(self._buffer) >= HEAD_SIZE)

    async def flush(self) -> None:
        """Write what is kept, without waiting for it (one write in flight at most)."""
        if self.refusal is not None or not self._buffer:
            return
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending
            if self.refusal is not None:
                return
        batch, self._buffer = self._buffer, bytearray()
        feed = self._head_checked
        if not self._head_checked:
            self._head_checked = True
            try:
                self.check.start(bytes(batch))  # the first bytes name the format (filetype): cheap
            except Refused as exc:
                self.refuse(exc.problem())
                return
        self._pending = asyncio.ensure_future(self._write(batch, feed))

    async def _write(self, batch: bytearray, feed: bool) -> None:
        """Follow the content (text is checked to its last byte, in a worker thread), then write it all."""
        if feed and self.check.kind == "text":
            try:
                await asyncio.to_thread(self.check.feed, batch)
            except Refused as exc:
                self.refusal = exc.problem()
                return
        if self.refusal is None:
            await asyncio.gather(asyncio.to_thread(self.content_digest.update, batch), self.incoming.write(batch))

    async def complete(self) -> None:
        """At the end of its part: everything written and stored (or refused and removed)."""
        await self.flush()
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending
        if self.refusal is not None:
            self.discard()
            await self.incoming.settled()
            return
        await self.incoming.finish()

    def refuse(self, refusal: UserInputError) -> None:
        self.refusal = refusal
        self._buffer = bytearray()
        self.discard()

    def discard(self) -> None:
        """Remove what was written (synchronous on purpose: it must run even while the task is being cancelled)."""
        self.incoming.discard()


async def keep_if_committed(store: AnnexStore, stored_name: str, mutation: Awaitable[P], what: str) -> P:
    """Runs the mutation that names an uploaded file, then moves the file into place if it committed, or drops it
    if it answered errors or raised. A claim that fails after the commit is left to the start-up sweep (the row's
    download answers 404 until then)."""
    result = None
    try:
        result = await mutation
    finally:
        if result is None or result.errors:
            await store.drop_incoming(stored_name)
    if not result.errors:
        try:
            await store.claim(stored_name)
        except Exception:
            log.exception("could not claim the uploaded %s %s", what, stored_name)
    return result


async def store_upload(upload: LandedFile) -> StoredFile:
    """Claim a landed upload, already in this process's incoming place: its refusal if its size or type was
    refused, the file gone; otherwise its stored form, the type decided (the caller claims it after the commit,
    or drops it)."""
    upload.claimed = True
    incoming = upload.incoming
    try:
        if upload.refusal is not None:
            raise upload.refusal
        if upload.size == 0:
            raise problem("file", Reason.FILE_EMPTY)
        check = upload.check
        if check.kind == "zip":
            content_type = await asyncio.to_thread(_zip_type, incoming)
        else:
            content_type = check.finish()
    except Refused as exc:
        incoming.discard()
        await incoming.settled()
        raise exc.problem() from None
    except BaseException:
        incoming.discard()
        await incoming.settled()
        raise
    return StoredFile(upload.stored_name, upload.size, content_type, client_filename(upload.filename))


def _zip_type(incoming: Incoming) -> str:
    """In a worker thread: the office document's type, read from the upload as written."""
    with incoming.reader() as reader:
        return office_zip_type(reader)
