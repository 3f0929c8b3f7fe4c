"""`GET /annexes/{global id}` (R16) and `GET /bilans/{global id}/paper-scan` (issue 16, part 2): an annex's file, with the access rules of `node(id:)`: a row out of reach is a
404, like a row that does not exist; a row reached but not granted is a 403.

From the local folder, Starlette's FileResponse sends the file (Range, ETag, Last-Modified). From an object store
the file is streamed from the store as it is read, never held whole, with one byte range (`bytes=a-b`, `a-`, `-n`)
answered 206 and read as a ranged GET from the store; a header asking for several ranges is answered whole (200),
which HTTP allows. The store out of reach answers 503 with Retry-After."""

from __future__ import annotations

import email.utils
import logging
import re
import unicodedata
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse

from graph.context import audit_origin
from graph.errors import AppError, BadUserInput, Forbidden, PasswordChangeRequired
from graph.messages import negotiate
from graph.routes.downloads import download_viewer
from graph.settings import Settings
from graph.types.common import decode_id
from graph.unavailable import RETRY_AFTER, StoreUnavailable, unavailable_body
from models import audit
from models.audit import AuditKind
from models.bilans import CompanyBilan
from models.fiches import Annex, AnnexKind
from permissions import scopes
from permissions.scopes import may_read_bilan
from permissions.table import OWN_BY_REACH, allows
from permissions.viewer import Viewer
from resolvers.fiches.annex_store import AnnexStore, StoredInfo, store_for

log = logging.getLogger("pfmp.annexes")


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name as RFC 5987 `filename*`."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9 ._()+,;=@!#$&\'~-]", "_", ascii_name).strip() or "annexe"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(start, end exclusive) of a single satisfiable range, None to answer whole, "unsatisfiable" for a 416."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # several ranges, or another unit: answered whole
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if start >= size or (last and int(last) < start):
        return "unsatisfiable"
    return start, end


def _stream_from_store(request: Request, store: AnnexStore, name: str, info: StoredInfo, headers: dict) -> Response:
    wanted = byte_range(request.headers.get("range"), info.size)
    headers = {**headers, "accept-ranges": "bytes"}
    if info.etag:
        headers["etag"] = info.etag
    if info.modified is not None:
        headers["last-modified"] = email.utils.format_datetime(info.modified, usegmt=True)
    if wanted == "unsatisfiable":
        return Response(status_code=416, headers={**headers, "content-range": f"bytes */{info.size}"})
    start, end = wanted if isinstance(wanted, tuple) else (0, info.size)
    status = 206 if isinstance(wanted, tuple) else 200
    headers["content-length"] = str(end - start)
    if status == 206:
        headers["content-range"] = f"bytes {start}-{end - 1}/{info.size}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    return StreamingResponse(store.read(name, start, end), status_code=status, headers=headers)


def _refusal(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def download_annex(request: Request) -> Response:
    """GET /annexes/{id}: the file of an annex the viewer reaches, streamed, with Range support."""
    viewer = await download_viewer(request)
    settings: Settings = request.app.state.settings
    language = negotiate(request.headers.get("accept-language"))
    if not isinstance(viewer, Viewer):
        status, refusal, headers = viewer
        return _refusal(status, refusal.message(language), headers)
    if viewer.password_change_required:
        return _refusal(403, PasswordChangeRequired().message(language))
    missing = _refusal(404, AppError("ANNEX_FILE_NOT_FOUND", code="NOT_FOUND").message(language))
    try:
        _, pk = decode_id(request.path_params["id"], expected="Annex")
    except BadUserInput:
        return missing
    annex = await Annex.filter(scopes.annexes(viewer), id=pk, kind=AnnexKind.FILE).first()
    if annex is None:
        return missing
    if not allows("annex.read", viewer.role, owned=OWN_BY_REACH):
        return _refusal(403, Forbidden().message(language))
    return await _serve_stored(
        request,
        annex.stored_name or "",
        annex.original_filename or "annexe",
        annex.content_type,
        missing,
        f"annex {annex.id}",
        audit.entry(
            AuditKind.ANNEX_DOWNLOAD, "Annex", annex.id, "download", source=audit_origin(request, viewer, settings)
        ),
    )


async def download_bilan_scan(request: Request) -> Response:
    """GET /bilans/{id}/paper-scan: the scan of a bilan signed on paper (issue 16, part 2), in the same order of
    refusals as an annex: 401 without a valid token, 404 for a bilan out of reach (or without a scan), 403 for a
    bilan reached but not granted (`bilan.paper.read`; a learner's own bilan while it is a draft)."""
    viewer = await download_viewer(request)
    settings: Settings = request.app.state.settings
    language = negotiate(request.headers.get("accept-language"))
    if not isinstance(viewer, Viewer):
        status, refusal, headers = viewer
        return _refusal(status, refusal.message(language), headers)
    if viewer.password_change_required:
        return _refusal(403, PasswordChangeRequired().message(language))
    missing = _refusal(404, AppError("ANNEX_FILE_NOT_FOUND", code="NOT_FOUND").message(language))
    try:
        _, pk = decode_id(request.path_params["id"], expected="CompanyBilan")
    except BadUserInput:
        return missing
    bilan = await CompanyBilan.filter(scopes.bilans(viewer), id=pk).first()
    if bilan is None:
        return missing
    # The scan follows the bilan: whoever may not read the bilan in its state may not read its scan either.
    if not (may_read_bilan(bilan, viewer) and allows("bilan.paper.read", viewer.role, owned=OWN_BY_REACH)):
        return _refusal(403, Forbidden().message(language))
    if not bilan.scan_stored_name:
        return missing
    return await _serve_stored(
        request,
        bilan.scan_stored_name,
        bilan.scan_filename or "scan",
        bilan.scan_content_type,
        missing,
        f"the paper scan of bilan {bilan.id}",
        audit.entry(
            AuditKind.PAPER_SCAN_DOWNLOAD,
            "CompanyBilan",
            bilan.id,
            "paper scan download",
            source=audit_origin(request, viewer, settings),
        ),
    )


async def _serve_stored(
    request: Request,
    name: str,
    filename: str,
    content_type: str | None,
    missing: Response,
    what: str,
    trace: audit.AuditEntry | None,
) -> Response:
    """A stored file as a download once its row was granted: from the local folder as a file, from an object store
    streamed (both answer Range); 503 while the store is out of reach, `missing` when the row names no file. A GET
    that is answered with the file writes its audit entry (`trace`) first; a HEAD sends nothing and writes none."""
    store = store_for(request.app.state.settings)
    try:
        info = await store.stat(name)
    except StoreUnavailable:
        return JSONResponse(unavailable_body(store=True), status_code=503, headers={"retry-after": RETRY_AFTER})
    if info is None:
        log.error("%s has no file in the store", what)
        return missing
    headers = {
        "content-disposition": content_disposition(filename),
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": "private, no-cache",
    }
    media_type = content_type or "application/octet-stream"
    if request.method == "GET" and trace is not None:
        await audit.write([trace])
    path = store.local_path(name)
    if path is not None:
        return FileResponse(path, media_type=media_type, headers=headers)
    return _stream_from_store(request, store, name, info, {**headers, "content-type": media_type})
