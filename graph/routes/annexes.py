"""`GET /annexes/{global id}` (R16): an annex's file, with the access rules of `node(id:)`: a row out of reach is a
404, like a row that does not exist; a row reached but not granted is a 403."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import unicodedata
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from graph.errors import AppError, BadUserInput, Forbidden, PasswordChangeRequired, Unauthenticated
from graph.messages import negotiate
from graph.types.common import decode_id
from models.fiches import Annex, AnnexKind
from permissions import scopes
from permissions.authentication import authenticate
from permissions.table import OWN_BY_REACH, allows
from resolvers.fiches.annex_files import annex_path

log = logging.getLogger("pfmp.annexes")


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name as RFC 5987 `filename*`."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9 ._()+,;=@!#$&\'~-]", "_", ascii_name).strip() or "annexe"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _refusal(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def download_annex(request: Request) -> Response:
    """GET /annexes/{id}: the file of an annex the viewer reaches, streamed, with Range support."""
    settings = request.app.state.settings
    viewer, reason = await authenticate(settings, request.headers.get("authorization"))
    language = negotiate(request.headers.get("accept-language"))
    if viewer is None:
        return _refusal(
            401,
            (Unauthenticated(reason[0], **reason[1]) if reason else Unauthenticated()).message(language),
            {"WWW-Authenticate": 'Bearer realm="pfmp"'},
        )
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
