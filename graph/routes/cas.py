"""CAS single logout (permissions/cas.py; docs/identity.md): `POST /auth/cas/logout` with the form field
`logoutRequest` (a SAML `LogoutRequest` naming the service ticket), as the CAS server sends it when the person signs
out there. Answers 200 whatever the request names (the CAS server does not read the answer, and a caller learns
nothing of which tickets were known); 404 when CAS is not configured; 413 past the size a logout request has.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from graph.settings import Settings
from permissions import cas

log = logging.getLogger("pfmp.cas")


async def single_logout(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not settings.cas_server_url:
        return PlainTextResponse("CAS is not configured", status_code=404)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > 2 * cas.MAX_LOGOUT_REQUEST:
        return PlainTextResponse("too large", status_code=413)
    async with request.form(max_files=0, max_fields=8, max_part_size=2 * cas.MAX_LOGOUT_REQUEST) as form:
        body = form.get("logoutRequest")
    revoked = await cas.single_logout(settings, body if isinstance(body, str) else "")
    if revoked:
        log.info("CAS single logout: %d session(s) revoked", revoked)
    return PlainTextResponse("", status_code=200)


def cas_routes() -> list[Route]:
    return [Route("/auth/cas/logout", single_logout, methods=["POST"])]
