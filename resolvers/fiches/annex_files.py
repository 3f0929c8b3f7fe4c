"""Annex files on disk (R16): the streamed writer, removal, and the download route.

A file is copied from the spooled upload in 256 KiB chunks with aiofiles, its
size and type checked as it goes (annex_types.py), under a generated name in
the process's incoming folder, and moved to `settings.annex_dir` once its row
is committed (annex_incoming.py); the client's name is kept only as a label.
A copy that fails for any reason leaves nothing on disk. Downloads answer through
`GET /annexes/{global id}` with the access rules of `node(id:)`: a row out of
reach is a 404, like a row that does not exist.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import quote

import aiofiles
import aiofiles.os
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from graph.errors import BadUserInput, ErrorCode, PasswordChangeRequired, problem
from graph.types.common import decode_id
from models.fiches import Annex, AnnexKind
from permissions.table import allows
from resolvers.fiches.annex_types import HEAD_SIZE, ContentCheck, Refused
from resolvers.fiches.rules import visible_annexes

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


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name as RFC 5987 `filename*`."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9 ._()+,;=@!#$&\'~-]", "_", ascii_name).strip() or "annexe"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _refusal(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def download_annex(request: Request) -> Response:
    """GET /annexes/{id}: the file of an annex the viewer reaches, streamed, with Range support."""
    from graph.app import authenticate

    settings = request.app.state.settings
    viewer, reason = await authenticate(settings, request.headers.get("authorization"))
    if viewer is None:
        return _refusal(
            401,
            reason or "Sign in first: send an access token as 'Authorization: Bearer <token>'.",
            {"WWW-Authenticate": 'Bearer realm="pfmp"'},
        )
    if viewer.password_change_required:
        return _refusal(403, PasswordChangeRequired().args[0])
    missing = _refusal(404, "No annex file with this id.")
    try:
        _, pk = decode_id(request.path_params["id"], expected="Annex")
    except BadUserInput:
        return missing
    annex = await Annex.filter(visible_annexes(viewer), id=pk, kind=AnnexKind.FILE).first()
    if annex is None:
        return missing
    if not allows("annex.read", viewer.role):
        return _refusal(403, "You are not allowed to do this.")
    try:
        path = annex_path(settings.annex_dir, annex.stored_name or "")
        stat = await asyncio.to_thread(os.stat, path)
    except (ValueError, OSError):
        log.error("annex %s has no file on disk", annex.id)
        return missing
    return FileResponse(
        path,
        media_type=annex.content_type or "application/octet-stream",
        stat_result=stat,
        headers={
            "content-disposition": content_disposition(annex.original_filename or "annexe"),
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
            "cache-control": "private, no-cache",
        },
    )
