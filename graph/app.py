"""The ASGI app: /graphql (POST, and GraphiQL on GET when enabled), /healthz, and the routes of graph/routes/:
/annexes/{id} (annex downloads), /bilans/{id}/paper-scan (the scan of a bilan signed on paper), /exports/… (DOCX
documents, docs/exports.md) and, with GraphiQL, /graphiql/static/… (its scripts and styles, served here: no CDN).

WebSocket on /graphql: GraphQL subscriptions over graphql-transport-ws (live news, docs/live-news.md); the bearer
token comes in `connection_init`'s payload, and a connection without a valid one is closed with 4403.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import logging
from typing import Any, cast

from cross_web import HTTPException
from cross_web.request import AsyncHTTPRequestAdapter, StarletteRequestAdapter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.file_uploads.utils import replace_placeholders_with_files
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType
from tortoise import connections
from tortoise.contrib.starlette import RegisterTortoise

from graph.context import Context, audit_origin
from graph.exposure import without_suggestions
from graph.headers import SecurityHeadersMiddleware
from graph.loaders import Loaders
from graph.messages import negotiate
from graph.multipart import receive_multipart
from graph.persisted_queries import PersistedQueries, PersistedQueryNotFound, not_found_response
from graph.response_cache import Lookup, ResponseCache, look_up, raw_request, store
from graph.routes.annexes import download_annex, download_bilan_scan
from graph.routes.cas import cas_routes
from graph.routes.exports import export_routes
from graph.routes.graphiql import graphiql_file, page
from graph.routes.learner_data import learner_data_routes
from graph.routes.oidc import oidc_routes
from graph.schema import schema
from graph.settings import Settings, tortoise_config
from graph.signin_gate import SigninGate
from graph.unavailable import DatabaseUnavailableMiddleware, StoreUnavailable
from graph.well_formed import (
    GRAPHQL_RESPONSE,
    JSON_TOO_DEEP,
    CodedRefusalMiddleware,
    encode_answer,
    gate_multipart,
    http_error_response,
    refuse_deep_variables,
    refuse_json_that_is_not_an_object,
    wants_graphql_response,
)
from models import audit, live, stamps
from permissions import oidc, refresh
from permissions.authentication import authenticate
from resolvers import idempotency
from resolvers.fiches.annex_files import LandedFile
from resolvers.fiches.annex_store import store_for

log = logging.getLogger("pfmp.app")

# Generation-0 threshold of a tuned server (CPython's default: 700). A GraphQL answer allocates tens of thousands
# of short-lived containers; at 700 the collector runs many times per request and walks the same survivors
# (bench/readpath.py measures the difference).
GC_THRESHOLD = (50_000, 20, 20)


def tune_garbage_collector(enabled: bool) -> None:
    """Once started: move what start-up built (modules, the schema, the ORM's models) out of the collector's
    sight with gc.freeze(), and collect the young generation less often. Off: CPython's defaults stay."""
    if not enabled:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


class PortfolioGraphQL(GraphQL[Context, None]):
    def __init__(self, settings: Settings):
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            multipart_uploads_enabled=True,
            allowed_origins=settings.cors_origins,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=dt.timedelta(seconds=10),
        )
        self.settings = settings
        self.persisted = PersistedQueries(settings.persisted_queries)
        self.cache = (
            ResponseCache(settings.response_cache_bytes, settings.token_secret, schema_digest())
            if settings.response_cache_bytes
            else None
        )

    def encode_json(self, data: object) -> str:
        return encode_answer(data)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # The view's own refusals are plain text: every one answers JSON with a code here (graph/well_formed.py).
        request = Request(scope=scope, receive=receive)
        # Which school's data stamp a mutation of this request bumps: set by get_context, dropped after the request.
        writer = stamps.writer_school.set(None)
        # Who asks and from where, for the audit entries of this request: from where now, who once get_context has
        # authenticated the request. An account a provider's bearer token links or creates while it is
        # authenticated (permissions/provisioning.py) is traced with the request's address and client.
        origin = audit.origin.set(audit_origin(request, None, self.settings))
        try:
            lookup = await self.look_up(request) if self.cache is not None else None
            if lookup is not None and lookup.response is not None:
                response = lookup.response
            else:
                response = await self.run(request)
                # The personal fields the request read (graph/execution.py), traced in one statement before the
                # answer leaves: an answer whose trace cannot be written is not sent (503, graph/unavailable.py).
                reads = getattr(request.state, "audit_reads", None)
                if reads is not None:
                    await audit.write(reads.entries())
                if lookup is not None and self.cache is not None:
                    store(self.cache, request, lookup, response)
        except HTTPException as exc:
            response = http_error_response(exc)
        except PersistedQueryNotFound:
            response = not_found_response()
        finally:
            stamps.writer_school.reset(writer)
            audit.origin.reset(origin)
            # The file parts no resolver stored (refused, cut short, unused): nothing of them stays.
            for file in getattr(request.state, "landed", ()):
                if not file.claimed:
                    file.discard()
        # ...and the removals an object store does in the background are over before the answer leaves.
        for file in getattr(request.state, "landed", ()):
            await file.incoming.settled()
        if wants_graphql_response(request.headers.get("accept", "")):
            # GraphQL over HTTP: in this media type, a request error (no data at all) is a 400.
            response.headers["content-type"] = GRAPHQL_RESPONSE
            if getattr(request.state, "request_error", False) and response.status_code == 200:
                response.status_code = 400
        await response(scope, receive, send)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """The token of a WebSocket connection is `Authorization: Bearer …` in `connection_init`'s payload: without
        a valid one (or with a temporary password) the connection is refused (4403) before any subscription."""
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        viewer, problem = await authenticate(self.settings, header if isinstance(header, str) else None)
        if viewer is None or viewer.password_change_required:
            raise ConnectionRejectionError()
        context.viewer, context.auth_problem = viewer, problem
        context.loaders = Loaders(viewer)
        return UNSET

    async def execute_single(self, request, request_adapter, sub_response, context, root_value, request_data):
        # Strawberry's own, but subscriptions are served on the WebSocket only: over HTTP (which would run one as a
        # query, and fail) they are refused as an operation type the method does not allow (400, BAD_REQUEST).
        allowed = OperationType.from_http(request_adapter.method) - {OperationType.SUBSCRIPTION}
        if not self.allow_queries_via_get and request_adapter.method == "GET":
            allowed = allowed - {OperationType.QUERY}
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(400, "Subscriptions are served over graphql-transport-ws only.") from exc
            raise HTTPException(400, exc.as_http_error_reason(request_adapter.method)) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request") from exc

    def should_render_graphql_ide(self, request) -> bool:
        # A GET carrying only a persisted query's hash (Apollo's clients accept */*) is a request, not a browser
        # asking for GraphiQL.
        return super().should_render_graphql_ide(request) and request.query_params.get("extensions") is None

    async def render_graphql_ide(self, request) -> Response:
        # Our own page: GraphiQL's files from this server (graph/routes/graphiql.py), not from unpkg.com.
        return HTMLResponse(page())

    async def look_up(self, request: Request) -> Lookup | None:
        """The response cache's key of a signed-in viewer's GET or JSON POST, and its answer when it has one
        (graph/response_cache.py); None for a request it does not keep (anonymous, upload, anything else)."""
        assert self.cache is not None
        body = None
        if request.method == "POST":
            if parse_content_type(request.headers.get("content-type", ""))[0] != "application/json":
                return None
            body = await request.body()
            # One operation, not a list of them.
            if not body.lstrip().startswith(b"{"):
                return None
        raw = raw_request(request, body)
        if raw is None:
            return None
        viewer, problem = await authenticate(self.settings, request.headers.get("authorization"))
        request.state.auth = (viewer, problem)
        if viewer is None:
            return None
        return await look_up(self.cache, request, viewer, raw)

    def parse_json(self, data):
        try:
            return super().parse_json(data)
        except RecursionError:
            raise HTTPException(400, JSON_TOO_DEEP) from None

    async def parse_http_body(self, request):
        if request.method == "POST" and "application/json" in parse_content_type(request.content_type or "")[0]:
            refuse_json_that_is_not_an_object(await request.get_body())
        data = await super().parse_http_body(request)
        for one in data if isinstance(data, list) else [data]:
            refuse_deep_variables(one.variables)
            # A persisted query's hash alone becomes the document it names; a hash with its query is checked, and
            # kept once the query validated (process_result).
            one.query, digest = self.persisted.resolve(one.query, one.extensions)
            if digest is not None and isinstance(request, StarletteRequestAdapter):
                request._request.state.persist = (digest, one.query)
        return data

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, Any]:
        # The file parts land in this process's incoming place of the store as the body arrives (graph/multipart.py),
        # and reach the resolvers as LandedFile (the Upload scalar passes them through).
        assert isinstance(request, StarletteRequestAdapter)
        starlette_request: Request = request._request
        landed: list[LandedFile] = []
        starlette_request.state.landed = landed
        store = store_for(self.settings)
        fields, files = await receive_multipart(starlette_request, store, self.settings.upload_limit, landed)
        operations = self.parse_json(fields.get("operations", "{}"))
        files_map = self.parse_json(fields.get("map", "{}"))
        if not isinstance(operations, dict) or not isinstance(files_map, dict):
            raise HTTPException(400, "The multipart fields 'operations' and 'map' must be JSON objects.")
        try:
            return replace_placeholders_with_files(operations, files_map, files)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise HTTPException(400, "File(s) missing in form data") from None

    async def process_result(self, request, result):
        # Parse errors leave the operation before extensions see the result, so
        # the codes ErrorPolicy gives are completed here, where every result passes.
        response = await super().process_result(request, result)
        if isinstance(request, Request):
            request.state.clean_result = not result.errors and result.data is not None
        # cast: Strawberry types them as objects; they are formatted errors, dicts.
        for error in cast("list[dict[str, Any]]", response.get("errors") or []):
            if not self.settings.introspection:
                error["message"] = without_suggestions(error["message"])
            extensions = error.setdefault("extensions", {})
            if "code" not in extensions:
                syntax = error.get("message", "").startswith("Syntax Error")
                extensions["code"] = "GRAPHQL_PARSE_FAILED" if syntax else "GRAPHQL_VALIDATION_FAILED"
        errors = cast("list[dict[str, Any]]", response.get("errors") or [])
        persist = getattr(request.state, "persist", None) if isinstance(request, Request) else None
        if persist is not None and not (errors and result.data is None and all("path" not in e for e in errors)):
            # Parsed and validated (it ran): from now on its hash alone names it.
            self.persisted.keep(*persist)
        if (
            errors
            and result.data is None
            and all("path" not in e for e in errors)
            and isinstance(request, Request)
            and wants_graphql_response(request.headers.get("accept", ""))
        ):
            # Parse, validation, coercion and cost refusals: the operation never ran, so there is no data entry.
            response.pop("data", None)
            request.state.request_error = True
        return response

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        # Already asked by the response cache's look-up, when it ran for this request.
        known = getattr(request.state, "auth", None) if isinstance(request, Request) else None
        viewer, problem = (
            known if known is not None else await authenticate(self.settings, request.headers.get("authorization"))
        )
        stamps.writer_school.set(viewer.school_id if viewer is not None else None)
        collector = None
        if isinstance(request, Request):
            source = audit_origin(request, viewer, self.settings)
            audit.origin.set(source)
            collector = request.state.audit_reads = audit.Collector(source)
        language = negotiate(request.headers.get("accept-language"))
        # The view asks for the context before it reads the body: a file upload nobody may send is refused unread.
        if (
            isinstance(request, Request)
            and request.method == "POST"
            and parse_content_type(request.headers.get("content-type", ""))[0] == "multipart/form-data"
        ):
            gate_multipart(viewer, problem, language)
        return Context(
            request=request if isinstance(request, Request) else None,
            response=response if isinstance(response, Response) else None,
            settings=self.settings,
            viewer=viewer,
            auth_problem=problem,
            language=language,
            audit=collector,
        )


def schema_digest() -> str:
    """The schema's SDL, hashed: part of every response-cache key and ETag."""
    return hashlib.sha256(schema.as_str().encode()).hexdigest()


async def healthz(request: Request) -> JSONResponse:
    """The database and the annex store, each up or down; 503 when either is down."""
    answer = {"status": "ok", "database": "up", "storage": "up"}
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:  # any failure of the database is "unavailable", whatever its type
        log.exception("health check failed")
        answer["database"] = "down"
    try:
        await store_for(request.app.state.settings).check()
    except StoreUnavailable:
        answer["storage"] = "down"
    if "down" in answer.values():
        return JSONResponse({**answer, "status": "unavailable"}, status_code=503)
    return JSONResponse(answer)


def create_app(settings: Settings) -> Starlette:
    graphql = PortfolioGraphQL(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            store = store_for(settings)
            # Uploads a crashed process left half done are finished or removed, and files whose annex was deleted
            # removed, before serving (annex_store.py). `pfmp serve` checked the store before starting; a store out
            # of reach now only postpones the sweep to the next start.
            try:
                await store.sweep(settings.storage_sweep_age)
            except StoreUnavailable:
                log.warning("the annex store is out of reach: its sweep waits for the next start")
            # Idempotency keys past their 24 hours and refresh tokens long expired go (each request also deletes the
            # expired keys of its user before claiming one: resolvers/idempotency.py).
            moment = dt.datetime.fromtimestamp(settings.clock(), tz=dt.UTC)
            await idempotency.sweep(moment)
            await refresh.sweep(moment)
            # On PostgreSQL, live events reach every process through LISTEN/NOTIFY (models/live.py).
            listener = None if settings.is_sqlite else live.PostgresListener(settings.database_url)
            if listener is not None:
                await listener.start()
            # Each OpenID provider's discovery document, read before serving; one out of reach is a log line.
            await oidc.discover_all(settings.oidc_providers)
            tune_garbage_collector(settings.gc_tuning)
            try:
                yield
            finally:
                if listener is not None:
                    await listener.stop()
                store.release()

    # The body cap is Starlette's, placed inside ours (its `max_body_size=` sits outside every user middleware):
    # its 413 then gets the JSON shape and the headers of every other answer.
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(CodedRefusalMiddleware),
        Middleware(RequestBodyLimitMiddleware, max_body_size=settings.request_body_limit),
        Middleware(DatabaseUnavailableMiddleware),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                # Idempotency-Key: a browser client retrying writes (resolvers/idempotency.py).
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                # A browser's script reads the file name of a download or a document (and how long a throttled
                # client waits) only when CORS exposes the header.
                expose_headers=["Content-Disposition", "Retry-After"],
                max_age=600,
            )
        )
    app = Starlette(
        routes=[
            # Throttled sign-ins are refused before the GraphQL layer (graph/signin_gate.py).
            Route("/graphql", SigninGate(graphql, settings), methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/annexes/{id}", download_annex, methods=["GET", "HEAD"]),
            Route("/bilans/{id}/paper-scan", download_bilan_scan, methods=["GET", "HEAD"]),
            *export_routes(),
            *learner_data_routes(),
            *oidc_routes(),
            *cas_routes(),
            *(
                [Route("/graphiql/static/{name:path}", graphiql_file, methods=["GET", "HEAD"])]
                if settings.graphiql
                else []
            ),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app
