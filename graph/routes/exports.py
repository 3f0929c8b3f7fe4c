"""The DOCX exports over HTTP (R22–R24), and the allowance statement's CSV: `GET /exports/<export>/{global id}` with a bearer token.

| route | rule (permissions/table.py) | id of a |
|---|---|---|
| /exports/meeting-sheet/{id} | export.meeting_sheet | Portfolio |
| /exports/bilan/{id} | export.completed_bilan; while draft, bilan.draft.read | CompanyBilan |
| /exports/pre-convention/portfolio/{id} | export.pre_convention | Portfolio |
| /exports/pre-convention/period/{id} | export.pre_convention | Period |
| /exports/attestation/{id} | export.attestation | Portfolio |
| /exports/period-attestations/{id} | export.attestation | Period |
| /exports/allowance-statement/{id} | allowance.statement.read (not a learner's own row) | Period |
| /exports/allowance-statement-csv/{id} | allowance.statement.read (not a learner's own row) | Period |
| /exports/learner-synthesis/{id} | export.learner_synthesis | Learner |
| /exports/level-synthesis/{id} | export.level_synthesis | Level |

Checks in the order access.md implies, as the annex download does: no or a
bad token is 401; a row out of reach, unknown, or an id that is malformed or
names another type is 404 with one body whatever the cause (nobody learns a
row exists by being refused it); a row reached but not granted is 403. Only
then is the data gathered (resolvers/documents/data.py) and the document built
in a worker thread (python-docx is CPU-bound: the event loop keeps serving
meanwhile), at most `BUILDS_AT_ONCE` at a time per process so that a burst of
large exports cannot pile their documents up in memory. The bytes are then
streamed in chunks with their length, a file name and `no-store`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from exports import (
    build_allowance_csv,
    build_allowance_statement,
    build_attestation,
    build_learner_synthesis,
    build_level_synthesis,
    build_meeting_sheet,
    build_pre_convention,
)
from graph.context import audit_origin
from graph.errors import AppError, BadUserInput, Forbidden, PasswordChangeRequired
from graph.messages import negotiate
from graph.routes.downloads import download_viewer
from graph.types.common import decode_id
from models import audit
from models.audit import AuditKind
from permissions.table import allows
from permissions.viewer import Viewer
from resolvers.documents import allowance_data as allowance
from resolvers.documents import data
from resolvers.documents import synthesis_data as syntheses

log = logging.getLogger("pfmp.exports")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CSV = "text/csv; charset=utf-8"
CHUNK = 64 * 1024
# python-docx holds the GIL: two builds at once take as long as one after the other, so more only costs memory.
BUILDS_AT_ONCE = 2

Target = TypeVar("Target")


@dataclass(frozen=True)
class Export:
    """One export: its rule, the type of id it takes, how to find the row, gather its data and build it."""

    rule: str
    type_name: str
    find: Callable[[Viewer, int], Awaitable[data.Target | None]]
    gather: Callable[[Viewer, data.Target], Awaitable[Any]]
    build: Callable[[Any], bytes]
    # The file name's first word; the target's names follow it.
    filename: str
    # The rule for a target that is still a draft (a bilan), when it differs from `rule`.
    draft_rule: str | None = None
    media_type: str = DOCX
    extension: str = "docx"


EXPORTS: dict[str, Export] = {
    "meeting-sheet": Export(
        "export.meeting_sheet",
        "Portfolio",
        data.find_portfolio,
        data.meeting_sheet,
        build_meeting_sheet,
        "Préparer-la-rencontre",
    ),
    "bilan": Export(
        "export.completed_bilan",
        "CompanyBilan",
        data.find_bilan,
        data.bilan_document,
        build_meeting_sheet,
        "Bilan-entreprise",
        draft_rule="bilan.draft.read",
    ),
    "pre-convention/portfolio": Export(
        "export.pre_convention",
        "Portfolio",
        data.find_portfolio,
        data.portfolio_pre_convention,
        build_pre_convention,
        "Pré-convention",
    ),
    "pre-convention/period": Export(
        "export.pre_convention",
        "Period",
        data.find_period,
        data.period_pre_convention,
        build_pre_convention,
        "Pré-conventions",
    ),
    "attestation": Export(
        "export.attestation",
        "Portfolio",
        data.find_portfolio,
        data.portfolio_attestation,
        build_attestation,
        "Attestation-PFMP",
    ),
    "period-attestations": Export(
        "export.attestation",
        "Period",
        data.find_period,
        data.period_attestation,
        build_attestation,
        "Attestations-PFMP",
    ),
    "allowance-statement": Export(
        "allowance.statement.read",
        "Period",
        allowance.find_statement_period,
        allowance.statement_export,
        build_allowance_statement,
        "Allocation-PFMP",
    ),
    "allowance-statement-csv": Export(
        "allowance.statement.read",
        "Period",
        allowance.find_statement_period,
        allowance.statement_export,
        build_allowance_csv,
        "Allocation-PFMP",
        media_type=CSV,
        extension="csv",
    ),
    "learner-synthesis": Export(
        "export.learner_synthesis",
        "Learner",
        data.find_learner,
        syntheses.learner_synthesis,
        build_learner_synthesis,
        "Synthèse",
    ),
    "level-synthesis": Export(
        "export.level_synthesis",
        "Level",
        data.find_level,
        syntheses.level_synthesis,
        build_level_synthesis,
        "Synthèse-niveau",
    ),
}


def _file_part(text: str) -> str:
    """A name as a file name part: words joined by dashes, nothing a file system or a header would choke on."""
    text = re.sub(r'[\\/:*?"<>|\x00-\x1f;,]+', " ", unicodedata.normalize("NFC", text))
    return re.sub(r"\s+", "-", text.strip()).strip("-.") or "document"


def filename(first: str, names: tuple[str, ...], extension: str = "docx") -> str:
    """ "Préparer-la-rencontre_DUPIRE_Stage-de-découverte.docx"."""
    return "_".join(_file_part(part) for part in (first, *names)) + "." + extension


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII name for old clients and the exact one as RFC 5987 `filename*`."""
    ascii_name = unicodedata.normalize("NFKD", name.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae"))
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "", ascii_name.encode("ascii", "ignore").decode()) or "document.docx"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _refusal(status: int, body: dict, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"cache-control": "no-store", **(headers or {})})


def _builds(request: Request) -> asyncio.Semaphore:
    """The app's build slots, made on first use inside the running loop (tests run one loop per app)."""
    state = request.app.state
    semaphore = getattr(state, "export_builds", None)
    if semaphore is None:
        semaphore = state.export_builds = asyncio.Semaphore(BUILDS_AT_ONCE)
    return semaphore


async def _chunks(content: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(content), CHUNK):
        yield content[start : start + CHUNK]


async def admit(
    request: Request,
    type_name: str,
    find: Callable[[Viewer, int], Awaitable[Target | None]],
    rule_for: Callable[[Viewer, Target], tuple[str, bool | None]],
) -> tuple[Viewer, Target] | Response:
    """The checks every download of a document makes, in the request's language: 401 without a valid token, 403
    on a temporary password, 404 for an id that is malformed, of another type, unknown or out of reach (one body
    whatever the cause), 403 when `rule_for` (the rule and whether the row is the viewer's own) refuses. Answers
    the viewer and the row found, or the refusal to send."""
    viewer = await download_viewer(request)
    language = negotiate(request.headers.get("accept-language"))

    def said(refusal: AppError) -> dict:
        return {"code": refusal.code, "message": refusal.message(language)}

    if not isinstance(viewer, Viewer):
        status, refusal, headers = viewer
        return _refusal(status, said(refusal), headers)
    if viewer.password_change_required:
        return _refusal(403, said(PasswordChangeRequired()))
    not_found = said(AppError("DOCUMENT_NOT_FOUND", code="NOT_FOUND"))
    try:
        _, pk = decode_id(request.path_params["id"], expected=type_name)
    except BadUserInput:
        return _refusal(404, not_found)
    target = await find(viewer, pk)
    if target is None:
        return _refusal(404, not_found)
    rule, owned = rule_for(viewer, target)
    if not allows(rule, viewer.role, owned=owned):
        return _refusal(403, said(Forbidden()))
    return viewer, target


async def _answer(request: Request, key: str) -> Response:
    export = EXPORTS[key]

    def rule_for(viewer: Viewer, target: data.Target) -> tuple[str, bool | None]:
        rule = export.draft_rule if target.draft and export.draft_rule else export.rule
        return rule, target.owned

    admitted = await admit(request, export.type_name, export.find, rule_for)
    if isinstance(admitted, Response):
        return admitted
    viewer, target = admitted
    started = time.perf_counter()
    content = await export.gather(viewer, target)
    gathered = time.perf_counter()
    async with _builds(request):
        document = await asyncio.to_thread(export.build, content)
    # Traced once built, before a byte leaves: an export that failed to build was not given.
    await audit.record(
        AuditKind.EXPORT_DOWNLOAD,
        export.type_name,
        target.pk,
        key,
        source=audit_origin(request, viewer, request.app.state.settings),
    )
    log.info(
        "export %s of %s %s: %d bytes, data %.2f s, build %.2f s",
        key,
        export.type_name,
        target.pk,
        len(document),
        gathered - started,
        time.perf_counter() - gathered,
    )
    return StreamingResponse(
        _chunks(document),
        media_type=export.media_type,
        headers={
            "content-disposition": content_disposition(filename(export.filename, target.names, export.extension)),
            "content-length": str(len(document)),
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


def _endpoint(key: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await _answer(request, key)

    endpoint.__name__ = "export_" + key.replace("-", "_").replace("/", "_")
    return endpoint


def export_routes() -> list[Route]:
    """The routes graph/app.py lists, one per export."""
    return [Route(f"/exports/{key}/{{id}}", _endpoint(key), methods=["GET"]) for key in EXPORTS]
