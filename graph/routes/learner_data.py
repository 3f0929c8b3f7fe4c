"""`GET /exports/learner-data/{learner id}`: a learner's whole data as one ZIP (access request, GDPR art. 15).

The rule is `export.learner_data` (permissions/table.py): the school's
administrators, and the learner for themself. The checks are those of the
other exports (graph/routes/exports.py): 401 without a valid token; 404 for a
learner out of reach, unknown, or an id that is malformed or names another
type (one body whatever the cause); 403 for a learner reached by a role that
may not have the archive. The rows are gathered first (a fixed number of
statements), then the ZIP is written as it is sent (resolvers/documents/
learner_archive.py): no length is announced, the body is chunked.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from graph.errors import AppError, BadUserInput, Forbidden, PasswordChangeRequired, Unauthenticated
from graph.messages import negotiate
from graph.routes.exports import _refusal, content_disposition
from graph.types.common import decode_id
from permissions.authentication import authenticate
from permissions.table import allows
from resolvers.documents import learner_archive
from resolvers.fiches.annex_store import store_for

log = logging.getLogger("pfmp.exports")

RULE = "export.learner_data"


async def learner_data(request: Request) -> Response:
    settings = request.app.state.settings
    viewer, reason = await authenticate(settings, request.headers.get("authorization"))
    language = negotiate(request.headers.get("accept-language"))

    def said(refusal: AppError) -> dict:
        return {"code": refusal.code, "message": refusal.message(language)}

    if viewer is None:
        return _refusal(
            401,
            said(Unauthenticated(reason[0], **reason[1]) if reason else Unauthenticated()),
            {"www-authenticate": 'Bearer realm="pfmp"'},
        )
    if viewer.password_change_required:
        return _refusal(403, said(PasswordChangeRequired()))
    not_found = said(AppError("DOCUMENT_NOT_FOUND", code="NOT_FOUND"))
    try:
        _, pk = decode_id(request.path_params["id"], expected="Learner")
    except BadUserInput:
        return _refusal(404, not_found)
    learner = await learner_archive.find_learner(viewer, pk)
    if learner is None:
        return _refusal(404, not_found)
    if not allows(RULE, viewer.role, owned=learner.id == viewer.id):
        return _refusal(403, said(Forbidden()))
    archive = await learner_archive.gather(viewer, learner, store_for(settings))
    log.info("learner data of learner %s: %d annex files", learner.id, len(archive.files))
    return StreamingResponse(
        learner_archive.stream(archive),
        media_type="application/zip",
        headers={
            "content-disposition": content_disposition(archive.filename),
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


def learner_data_routes() -> list[Route]:
    return [Route("/exports/learner-data/{id}", learner_data, methods=["GET"])]
