"""The browser side of sign-in through an OpenID provider (permissions/oidc_flow.py; docs/identity.md):

- `GET /auth/oidc/{provider}/start?return_to=URL`: 302 to the provider's authorization endpoint, with the
  sign-in state in a signed cookie (10 minutes); `return_to` must be on a configured origin.
- `GET /auth/oidc/{provider}/callback?code&state` (the provider's redirect): 303 to `return_to` with
  `#access_token=…&token_type=Bearer&expires_at=…` in the fragment (never sent to a server, kept out of logs and
  Referer), or `#error=CODE` when the sign-in fails once the state is known; a 400 JSON answer before.
- `POST /auth/oidc/{provider}/backchannel-logout` (form `logout_token`, from the provider): 200, or 400
  `{"error": "invalid_request"}` (OpenID Connect Back-Channel Logout 1.0, section 2.8).
- `POST /auth/oidc/logout` with the server's token (Authorization: Bearer): revokes that sign-in's tokens and
  answers `{"endSessionUrl": …}`, where to send the person to sign out at the provider too (null when none).
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from graph.context import audit_origin
from graph.settings import OidcProvider, Settings
from models import audit
from permissions import oidc_flow
from permissions.authentication import authenticate

log = logging.getLogger("pfmp.oidc")

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def _refusal(code: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": code}, status_code=status, headers=NO_STORE)


def _provider(request: Request) -> OidcProvider | None:
    settings: Settings = request.app.state.settings
    name = request.path_params["provider"]
    return next((p for p in settings.oidc_providers if p.name == name and p.code_flow), None)


async def sign_in_start(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    provider = _provider(request)
    if provider is None:
        return _refusal("PROVIDER_UNKNOWN", 404)
    allowed = settings.signin_return_origins or settings.cors_origins
    return_to = request.query_params.get("return_to") or (allowed[0].rstrip("/") + "/" if allowed else "")
    if not oidc_flow.allowed_return(settings, return_to):
        return _refusal("RETURN_TO_REFUSED")
    try:
        started = await oidc_flow.start(settings, provider, return_to)
    except oidc_flow.FlowError as exc:
        return _refusal(exc.code, 503)
    response = RedirectResponse(started.url, status_code=302, headers=NO_STORE)
    response.set_cookie(
        started.cookie_name,
        started.cookie_value,
        max_age=oidc_flow.STATE_LIFETIME,
        path="/auth/oidc/",
        secure=settings.production,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back, not on cross-site subrequests
    )
    return response


def _back_to(return_to: str, values: dict[str, str | int]) -> RedirectResponse:
    return RedirectResponse(f"{return_to}#{urlencode(values)}", status_code=303, headers=NO_STORE)


async def sign_in_callback(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    provider = _provider(request)
    if provider is None:
        return _refusal("PROVIDER_UNKNOWN", 404)
    state_value = request.query_params.get("state", "")
    cookie_name = oidc_flow.COOKIE_PREFIX + state_value
    try:
        state = oidc_flow.read_state(settings, provider, state_value, request.cookies.get(cookie_name))
    except oidc_flow.FlowError as exc:
        return _refusal(exc.code)
    return_to = str(state["rt"])
    code = request.query_params.get("code")
    # A link or an account the provider's rules make here is traced with the browser's address and client.
    origin = audit.origin.set(audit_origin(request, None, settings))
    try:
        if request.query_params.get("error") or not code:
            raise oidc_flow.FlowError("SIGN_IN_REFUSED_BY_PROVIDER")
        signed = await oidc_flow.finish(settings, provider, state, code)
    except oidc_flow.FlowError as exc:
        log.info("sign-in through %s refused: %s", provider.name, exc.code)
        response = _back_to(return_to, {"error": exc.code})
    else:
        log.info("sign-in through %s: session %s", provider.name, signed.session_id)
        response = _back_to(
            return_to, {"access_token": signed.token, "token_type": "Bearer", "expires_at": signed.expires_at}
        )
    finally:
        audit.origin.reset(origin)
    response.delete_cookie(cookie_name, path="/auth/oidc/")  # one use
    return response


async def backchannel_logout(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    provider = _provider(request)
    if provider is None:
        return _refusal("invalid_request")
    form = await request.form()
    logout_token = form.get("logout_token")
    if not isinstance(logout_token, str) or not logout_token:
        return _refusal("invalid_request")
    try:
        revoked = await oidc_flow.backchannel_logout(settings, provider, logout_token)
    except oidc_flow.FlowError as exc:
        log.info("back-channel logout of %s refused: %s", provider.name, exc.code)
        return _refusal("invalid_request")
    log.info("back-channel logout of %s: %d session(s) revoked", provider.name, revoked)
    return Response(status_code=200, headers=NO_STORE)


async def sign_out(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    authorization = request.headers.get("authorization")
    viewer, problem = await authenticate(settings, authorization)
    if viewer is None:
        return _refusal(problem[0] if problem else "UNAUTHENTICATED", 401)
    if viewer.session_id is None:
        # a password or link sign-in, or a provider's own bearer token: no session of ours to end
        return _refusal("NOT_AN_OIDC_SIGN_IN")
    url = await oidc_flow.end_session(settings, viewer.session_id)
    return JSONResponse({"endSessionUrl": url}, headers=NO_STORE)


def oidc_routes() -> list[Route]:
    return [
        Route("/auth/oidc/logout", sign_out, methods=["POST"]),
        Route("/auth/oidc/{provider}/start", sign_in_start, methods=["GET"]),
        Route("/auth/oidc/{provider}/callback", sign_in_callback, methods=["GET"]),
        Route("/auth/oidc/{provider}/backchannel-logout", backchannel_logout, methods=["POST"]),
    ]
