"""The ASGI app: /graphql (POST, and GraphiQL on GET when enabled), /healthz,
/annexes/{id} (annex downloads) and /exports/… (DOCX documents, docs/exports.md).

No WebSocket route yet: the schema has no subscription to serve over it.
"""

from __future__ import annotations

import contextlib
import logging

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from tortoise import connections
from tortoise.contrib.starlette import RegisterTortoise

from graph.context import Context
from graph.schema import schema
from graph.settings import Settings, tortoise_config
from graph.unavailable import DatabaseUnavailableMiddleware
from models.users import User
from permissions import oidc
from permissions.tokens import InvalidToken, decode_token
from permissions.viewer import Viewer
from resolvers.annex_files import download_annex
from resolvers.annex_incoming import recover_incoming, release_incoming
from resolvers.export_routes import export_routes

log = logging.getLogger("pfmp.app")

REVOKED = "The access token was revoked or the account is inactive."


async def authenticate(settings: Settings, authorization: str | None) -> tuple[Viewer | None, str | None]:
    """(viewer, None) for a valid bearer token; (None, reason) for a bad one; (None, None) for none."""
    if not authorization:
        return None, None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, "The Authorization header must be 'Bearer <token>'."
    try:
        # Tokens of the configured OpenID Connect providers (docs/identity.md); else the server's own.
        provider = oidc.select_provider(settings, token.strip())
        if provider is not None:
            return await oidc.authenticate(provider, token.strip()), None
        claims = decode_token(token.strip(), secret=settings.token_secret, issuer=settings.token_issuer)
    except InvalidToken as exc:
        return None, str(exc)
    row = await User.filter(id=claims["sub"]).values("id", "role", "school_id", "token_version", "is_active",
                                                     "password_change_required")
    if not row:
        return None, REVOKED
    user = row[0]
    if not user["is_active"] or user["token_version"] != claims["ver"]:
        return None, REVOKED
    return Viewer(id=user["id"], role=user["role"], school_id=user["school_id"],
                  password_change_required=user["password_change_required"]), None


class PortfolioGraphQL(GraphQL):
    def __init__(self, settings: Settings):
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            multipart_uploads_enabled=True,
            allowed_origins=settings.cors_origins,
        )
        self.settings = settings

    async def process_result(self, request, result):
        # Parse errors leave the operation before extensions see the result, so
        # the codes ErrorPolicy gives are completed here, where every result passes.
        response = await super().process_result(request, result)
        for error in response.get("errors") or []:
            extensions = error.setdefault("extensions", {})
            if "code" not in extensions:
                syntax = error.get("message", "").startswith("Syntax Error")
                extensions["code"] = "GRAPHQL_PARSE_FAILED" if syntax else "GRAPHQL_VALIDATION_FAILED"
        return response

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        viewer, problem = await authenticate(self.settings, request.headers.get("authorization"))
        return Context(
            request=request if isinstance(request, Request) else None,
            response=response if isinstance(response, Response) else None,
            settings=self.settings,
            viewer=viewer,
            auth_problem=problem,
        )


async def healthz(request: Request) -> JSONResponse:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:  # any failure of the database is "unavailable", whatever its type
        log.exception("health check failed")
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})


def create_app(settings: Settings) -> Starlette:
    graphql = PortfolioGraphQL(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            # Uploads a crashed process left half done are finished or removed before serving (annex_incoming.py).
            await recover_incoming(settings.annex_dir)
            try:
                yield
            finally:
                release_incoming(settings.annex_dir)

    middleware = [Middleware(DatabaseUnavailableMiddleware)]
    if settings.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        ))
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/annexes/{id}", download_annex, methods=["GET", "HEAD"]),
            *export_routes(),
        ],
        middleware=middleware,
        lifespan=lifespan,
        max_body_size=settings.request_body_limit,
    )
    app.state.settings = settings
    return app
