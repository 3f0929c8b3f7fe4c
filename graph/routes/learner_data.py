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

from graph.context import audit_origin
from graph.routes.exports import admit, content_disposition
from models import audit
from models.audit import AuditKind
from resolvers.documents import learner_archive
from resolvers.fiches.annex_store import store_for

log = logging.getLogger("pfmp.exports")

RULE = "export.learner_data"


async def learner_data(request: Request) -> Response:
    admitted = await admit(
        request, "Learner", learner_archive.find_learner, lambda viewer, learner: (RULE, learner.id == viewer.id)
    )
    if isinstance(admitted, Response):
        return admitted
    viewer, learner = admitted
    settings = request.app.state.settings
    archive = await learner_archive.gather(viewer, learner, store_for(settings))
    log.info("learner data of learner %s: %d annex files", learner.id, len(archive.files))
    # Traced before the first byte of the archive leaves (access request, docs/stewardship.md part 3).
    await audit.record(
        AuditKind.LEARNER_DATA_ARCHIVE,
        "Learner",
        learner.id,
        "learner data archive",
        source=audit_origin(request, viewer, settings),
    )
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
