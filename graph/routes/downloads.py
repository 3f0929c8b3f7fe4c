"""Who asks for a download (annexes, paper scans, documents, a learner's data): a bearer token, or a signed URL
(permissions/signed_urls.py) for the browsers' and phones' plain links. The refusals of the routes' error model
(access.md, "Errors"): no or a bad token is 401; a signed URL that is altered, expired, of another path or
another user, or whose user signed out everywhere since, is 403."""

from __future__ import annotations

from starlette.requests import Request

from graph.errors import AppError, Unauthenticated
from permissions.authentication import authenticate_download
from permissions.viewer import Viewer

Refusal = tuple[int, AppError, dict[str, str] | None]


async def download_viewer(request: Request) -> Viewer | Refusal:
    """The viewer of a download request, or (status, error, headers) to refuse it with."""
    viewer, reason, signed = await authenticate_download(
        request.app.state.settings, request.url.path, request.query_params, request.headers.get("authorization")
    )
    if viewer is not None:
        return viewer
    if signed:
        return 403, AppError(reason[0] if reason else "DOWNLOAD_URL_INVALID", code="FORBIDDEN"), None
    return (
        401,
        Unauthenticated(reason[0], **reason[1]) if reason else Unauthenticated(),
        {"www-authenticate": 'Bearer realm="pfmp"'},
    )
