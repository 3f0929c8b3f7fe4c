"""Requests that are not well-formed GraphQL over HTTP answer 4xx with a JSON body and a code, never a 500.

Strawberry's view answers most malformed requests with a plain-text 400; a body that is JSON but not an object
(`null`, `1`, `"x"`) reached `.get()` on it and answered 500, and JSON or variables nested thousands deep raised
RecursionError (500 again). Here:
- every refusal of the view is `{"errors": [{"message", "extensions": {"code"}}]}` (`http_error_response`);
- a POST JSON body must start as an object (or a list, which the view refuses as a batch);
- JSON nested deeper than the interpreter can decode, and variables nested deeper than `MAX_VARIABLE_DEPTH`,
  are refused with BAD_REQUEST;
- a multipart body (file upload) is refused before it is read when the token is missing or bad (401) or when the
  role may upload nothing (403): its file parts would otherwise be written to disk up to the upload limit first
  (graph/multipart.py).
"""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException
from starlette.responses import JSONResponse

from graph.errors import Forbidden, Unauthenticated
from permissions.table import granted
from permissions.viewer import Viewer

# Codes of the refusals that happen before GraphQL sees the request, by HTTP status.
CODE_FOR_STATUS = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
# No input of this schema nests deeper than a handful of levels; this is far beyond any honest request.
MAX_VARIABLE_DEPTH = 32
# The rules whose operations take a file (multipart requests); a role granted none of them has nothing to upload.
UPLOAD_RULES = ("annex.write", "bilan.paper.write")

GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8"


def encode_answer(data: object) -> str:
    """A GraphQL answer as JSON text, as the view sends it (graph/app.py) and the sign-in gate mimics it byte for
    byte (graph/signin_gate.py). orjson: the answers of a list or a visit screen are tens to hundreds of kilobytes,
    which the standard library's encoder spends about a millisecond per hundred kilobytes on (UTF-8 out, rather
    than \\u escapes). Text, not bytes: the WebSocket transport sends bytes as binary frames, which GraphQL clients
    refuse."""
    return orjson.dumps(data).decode()


NOT_AN_OBJECT = "The request body must be a JSON object with a `query` string."
TOO_DEEP = f"The variables are nested too deeply (at most {MAX_VARIABLE_DEPTH} levels)."
JSON_TOO_DEEP = "The request body's JSON is nested too deeply."


def http_error_response(exc: HTTPException) -> JSONResponse:
    code = CODE_FOR_STATUS.get(exc.status_code, "BAD_REQUEST")
    headers = {"www-authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(
        {"errors": [{"message": exc.reason, "extensions": {"code": code}}]},
        status_code=exc.status_code,
        headers=headers,
    )


def wants_graphql_response(accept: str) -> bool:
    """Whether the client prefers `application/graphql-response+json` to `application/json` (listed first)."""
    new = accept.find("application/graphql-response+json")
    if new < 0:
        return False
    legacy = accept.find("application/json")
    return legacy < 0 or new < legacy


def refuse_json_that_is_not_an_object(body: bytes) -> None:
    """A JSON body that cannot be a GraphQL request: checked on its first character, without decoding it twice."""
    start = body.lstrip()[:1]
    if start not in (b"{", b"["):
        try:
            body.decode()
        except UnicodeDecodeError:
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        raise HTTPException(400, NOT_AN_OBJECT)


def nesting_depth(value: Any, limit: int) -> int:
    """The depth of nested objects and lists in `value`, counting no further than `limit + 1` (iterative: a
    recursive walk is what fails on a hostile document)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, dict):
            children = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        pending.extend((child, depth) for child in children)
    return deepest


def refuse_deep_variables(variables: dict | None) -> None:
    if variables and nesting_depth(variables, MAX_VARIABLE_DEPTH) > MAX_VARIABLE_DEPTH:
        raise HTTPException(400, TOO_DEEP)


def gate_multipart(viewer: Viewer | None, problem: tuple[str, dict[str, str]] | None, language: str) -> None:
    """Before a multipart body is read: only a signed-in role that may upload something gets it read."""
    if viewer is None:
        refusal = Unauthenticated(problem[0], **problem[1]) if problem else Unauthenticated("UPLOAD_SIGN_IN_REQUIRED")
        raise HTTPException(401, refusal.message(language))
    if not any(granted(rule, viewer.role) for rule in UPLOAD_RULES):
        raise HTTPException(403, Forbidden("UPLOAD_FORBIDDEN").message(language))


class CodedRefusalMiddleware:
    """Starlette's own refusals of a /graphql request (413 of the body cap) are plain text: answered as JSON
    with a code here, like every other refusal."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        held: dict | None = None
        reason = bytearray()

        async def coded_send(message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] >= 400:
                content_type = dict(message.get("headers") or []).get(b"content-type", b"")
                if content_type.startswith(b"text/plain"):
                    held = message
                    return
            elif message["type"] == "http.response.body" and held is not None:
                reason.extend(message.get("body", b""))
                if message.get("more_body"):
                    return
                response = http_error_response(HTTPException(held["status"], reason.decode(errors="replace")))
                held = None
                await response(scope, receive, send)
                return
            await send(message)

        await self.app(scope, receive, coded_send)
