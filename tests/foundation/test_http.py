"""The HTTP surface: health check, GraphiQL, CORS."""

import dataclasses

import httpx
from tortoise import connections

from graph.app import create_app


async def test_healthz_checks_the_database(http):
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "storage": "up"}


async def test_healthz_answers_503_when_the_database_is_gone(http, app):

    connection = connections.get("default")

    async def failing(*args, **kwargs):
        raise ConnectionError("database unreachable")

    original = connection.execute_query
    connection.execute_query = failing
    try:
        response = await http.get("/healthz")
    finally:
        connection.execute_query = original
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "storage": "up"}


async def test_graphiql_answers_a_browser_on_get(http):
    response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_graphiql_is_off_in_production(settings):

    production = create_app(dataclasses.replace(settings, environment="production", graphiql=False))
    async with production.router.lifespan_context(production):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=production), base_url="http://t") as client:
            response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 404 or "graphiql" not in response.text.lower()


async def test_cors_allows_the_configured_origin_only(http):
    allowed = await http.options(
        "/graphql",
        headers={
            "Origin": "https://front.example.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://front.example.test"
    refused = await http.options(
        "/graphql", headers={"Origin": "https://evil.example.test", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in refused.headers
