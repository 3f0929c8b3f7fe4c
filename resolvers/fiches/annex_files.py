"""Annex files on disk (R16): the streamed writer and removal (the download route is graph/routes/annexes.py).

A file part is written as it arrives (graph/multipart.py), in batches of 1 MiB
by a worker thread, its size and type checked as it goes (annex_types.py),
under a generated name in the process's incoming folder, and moved to
`settings.annex_dir` once its row is committed (annex_incoming.py); the
client's name is kept only as a label. A file refused, cut short or never
claimed by a resolver leaves nothing on disk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import aiofiles.os

from graph.errors import Reason, UserInputError, problem
from resolvers.fiches.annex_types import HEAD_SIZE, ContentCheck, Refused

log = logging.getLogger("pfmp.annexes")

# Bytes written per hop to a worker thread: the body arrives in pieces of 64 KiB or less, and one hop per piece
# costs more than the write itself (bench/upload_bench.py). Two batches at most are held per file.
BATCH = 1024 * 1024
STORED_NAME = re.compile(r"^[0-9a-f]{32}$")
MAX_FILENAME = 255


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    path: Path
    size: int
    content_type: str
    filename: str


def annex_path(annex_dir: Path, stored_name: str) -> Path:
    """Where a stored name lives: two-character folders keep any one folder small."""
    if not STORED_NAME.match(stored_name):
        raise ValueError("not a stored annex name")
    return annex_dir / stored_name[:2] / stored_name


def client_filename(raw: str | None) -> str:
    """The last component of the name the client sent (either slash), without control characters."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[:MAX_FILENAME] or "annexe"


def _too_large(limit: int):
    return problem("file", Reason.FILE_TOO_LARGE, megabytes=limit // (1024 * 1024), bytes=limit)


class LandedFile:
    """A file part of a multipart request, written as it arrives straight into this process's incoming folder
    (graph/multipart.py feeds it): its size and type are checked on the way, a refusal is kept for the resolver
    to report, and the resolver that stores it claims it; any other is discarded once the request ends."""

    def __init__(self, folder: Path, filename: str | None, limit: int) -> None:
        self.stored_name = secrets.token_hex(16)
        self.path = folder / self.stored_name
        self.filename = filename
        self.limit = limit
        self.size = 0
        self.refusal: UserInputError | None = None
        self.claimed = False
        self.check = ContentCheck()
        self._head_checked = False
        self._buffer = bytearray()
        self._pending: asyncio.Future[None] | None = None
        self._lock = threading.Lock()
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)

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
        """Write what is kept in a worker thread, without waiting for it (one write in flight at most)."""
        if self.refusal is not None or not self._buffer:
            return
        if self._pending is not None:
            await self._pending
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
        self._pending = asyncio.get_running_loop().run_in_executor(None, self._write, batch, feed)

    def _write(self, batch: bytearray, feed: bool) -> None:
        """In a worker thread: follow the content (text is checked to its last byte), then write it all."""
        if feed:
            try:
                self.check.feed(batch)
            except Refused as exc:
                self.refusal = exc.problem()
                return
        with self._lock:  # the descriptor stays open, and its number ours, while the batch is written
            if self._fd is None:
                return
            view = memoryview(batch)
            while view:
                view = view[os.write(self._fd, view) :]

    async def complete(self) -> None:
        """At the end of its part: everything written and the file closed (or refused and removed)."""
        await self.flush()
        if self._pending is not None:
            await self._pending
            self._pending = None
        if self.refusal is not None:
            self.discard()
            return
        self._close()

    def refuse(self, refusal: UserInputError) -> None:
        self.refusal = refusal
        self._buffer = bytearray()
        self.discard()

    def discard(self) -> None:
        """Remove the file (synchronous on purpose: it must run even while the task is being cancelled); a
        batch being written when the task was cancelled ends on the unlinked file, one queued is dropped."""
        _discard(self.path)
        self._close()

    def _close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


async def store_upload(upload: LandedFile) -> StoredFile:
    """Claim a landed upload, already in this process's incoming folder (see annex_incoming.py): its refusal
    if its size or type was refused, the file gone; otherwise its stored form, the type decided."""
    upload.claimed = True
    path = upload.path
    try:
        if upload.refusal is not None:
            raise upload.refusal
        if upload.size == 0:
            raise problem("file", Reason.FILE_EMPTY)
        check = upload.check
        content_type = await asyncio.to_thread(check.finish, path) if check.kind == "zip" else check.finish(path)
    except Refused as exc:
        _discard(path)
        raise exc.problem() from None
    except BaseException:
        _discard(path)
        raise
    return StoredFile(upload.stored_name, path, upload.size, content_type, client_filename(upload.filename))


def _discard(path: Path) -> None:
    """Synchronous on purpose: it must run even while the task is being cancelled."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        log.exception("could not remove the partial annex file %s", path.name)


async def remove_files(paths: list[Path]) -> None:
    for path in paths:
        try:
            await aiofiles.os.remove(path)
        except FileNotFoundError:
            pass
        except OSError:
            log.exception("could not remove the annex file %s", path.name)
