"""Annex files on disk (R16): the streamed writer and removal (the download route is graph/routes/annexes.py).

A file is copied from the spooled upload in 256 KiB chunks with aiofiles, its
size and type checked as it goes (annex_types.py), under a generated name in
the process's incoming folder, and moved to `settings.annex_dir` once its row
is committed (annex_incoming.py); the client's name is kept only as a label.
A copy that fails for any reason leaves nothing on disk.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import aiofiles
import aiofiles.os

from graph.errors import ErrorCode, problem
from resolvers.fiches.annex_types import HEAD_SIZE, ContentCheck, Refused

log = logging.getLogger("pfmp.annexes")

# Each chunk costs two thread hops (the spooled file, then aiofiles): on a 200 MB upload 256 KiB copies in
# about half the time 64 KiB takes, for 0.5 MB more at the peak (bench/upload_bench.py).
CHUNK = 256 * 1024
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
    return problem(
        "file",
        ErrorCode.TOO_LARGE,
        f"The file is larger than the limit of {limit // (1024 * 1024)} MB ({limit} bytes).",
    )


async def store_upload(upload, folder: Path, limit: int) -> StoredFile:
    """Copy an upload in chunks into `folder` (this process's incoming folder, see annex_incoming.py), checking
    size and type; UserInputError (nothing left) when refused."""
    if upload.size is not None and upload.size > limit:
        raise _too_large(limit)
    stored_name = secrets.token_hex(16)
    path = folder / stored_name
    check = ContentCheck()
    size = 0
    try:
        async with aiofiles.open(path, "xb") as out:
            head = b""
            while len(head) < HEAD_SIZE:
                chunk = await upload.read(CHUNK)
                if not chunk:
                    break
                head += chunk
            size = len(head)
            if size == 0:
                raise problem("file", ErrorCode.INVALID, "The file is empty.")
            if size > limit:
                raise _too_large(limit)
            check.start(head)
            await out.write(head)
            del head
            while chunk := await upload.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                check.feed(chunk)
                await out.write(chunk)
        content_type = await asyncio.to_thread(check.finish, path) if check.kind == "zip" else check.finish(path)
    except Refused as exc:
        _discard(path)
        raise problem("file", ErrorCode.INVALID, str(exc)) from None
    except BaseException:
        _discard(path)
        raise
    return StoredFile(stored_name, path, size, content_type, client_filename(upload.filename))


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
