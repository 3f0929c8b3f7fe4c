"""The ORM floor served over HTTP: the bench's floor reads (bench/operations.py, Tortoise `.values()` and plain
rows dumped to JSON) behind the same uvicorn, Starlette and bearer-token check as the GraphQL server.

    uvicorn bench.floor_app:app   (environment as `pfmp serve`: DATABASE_URL, PFMP_TOKEN_SECRET, …)

POST /floor/period-view, /floor/learner-view, /floor/visit-screen and /floor/level-dashboard answer the rows of the bench's targets (found at start-up as
bench/load.py finds them) within the reach of the viewer the token names; no GraphQL, no field resolution.
"""

from __future__ import annotations

import contextlib
import dataclasses

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise

from bench import operations as ops
from graph.app import tune_garbage_collector
from graph.settings import load_settings, tortoise_config
from permissions.authentication import authenticate

ROUTES = {
    "period-view": "period view",
    "learner-view": "learner view",
    "visit-screen": "visit screen",
    "level-dashboard": "level dashboard",
}


def create_floor_app(settings) -> Starlette:
    state: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            state["targets"] = await ops.find_targets()
            tune_garbage_collector(settings.gc_tuning)
            yield

    async def floor(request: Request) -> Response:
        viewer, problem = await authenticate(settings, request.headers.get("authorization"))
        if viewer is None:
            return JSONResponse({"error": problem or "authentication required"}, status_code=401)
        name = ROUTES.get(request.path_params["name"])
        if name is None:
            return JSONResponse({"error": "no such floor"}, status_code=404)
        targets = dataclasses.replace(state["targets"], viewer=viewer)
        return Response(await ops.FLOORS[name](targets), media_type="application/json")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/floor/{name}", floor, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])],
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """uvicorn's factory (`--factory bench.floor_app:app_from_environment`): the settings `pfmp serve` reads."""
    return create_floor_app(load_settings())
