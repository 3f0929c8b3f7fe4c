"""Sign-ins from a throttled email or address are refused before the GraphQL layer.

Under a flood of wrong passwords the throttle (permissions/throttle.py) refuses nearly every attempt, and each
refusal used to be a whole GraphQL request (parse, validate, execute, serialise) on the event loop that also
serves everyone else. `SigninGate` wraps the /graphql view: for a POST whose JSON body is a `login` mutation,
it reads the same throttle state in the database (one indexed read, as `throttle.begin` does first) and, when
the email or the client address is blocked, answers itself what the view would have answered: the same status,
body (the client's own selection, aliases and field order of `login`), content type and `Retry-After`, after
the same delay (`Settings.signin_refusal_delay`).

What it answers is decided per document, once: a document it recognises (parsed and validated against the
schema with the schema's limits, one mutation whose only field is `login`, its selection plain fields without
fragments or directives, arguments given as variables or string literals) is kept in a small cache, so that a
flood sending the same document costs one JSON decode, one dictionary look-up and the database read. Anything
else, and every attempt not blocked now, goes on to the view with the body already read (never read twice),
where `throttle.begin` decides as before: the gate only ever refuses what the view would refuse.

Requests that are not JSON POSTs (GraphiQL, file uploads) pass untouched; a JSON body that does not contain the
bytes `login` is handed on after one substring search.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    parse,
    specified_rules,
    validate,
)
from starlette.requests import Request
from starlette.responses import Response
from strawberry.http.parse_content_type import parse_content_type

from graph.errors import FieldProblem, Reason
from graph.messages import negotiate
from graph.schema import LIMIT_RULES, MAX_TOKENS, schema
from graph.settings import Settings
from graph.text_guard import UNSTORABLE, unstorable_variable
from graph.well_formed import (
    GRAPHQL_RESPONSE,
    MAX_VARIABLE_DEPTH,
    encode_answer,
    nesting_depth,
    wants_graphql_response,
)
from permissions import throttle

log = logging.getLogger("pfmp.signin")

# Documents longer than this are never sign-ins worth recognising (a login document is about 150 characters).
LONGEST_DOCUMENT = 4000
PAYLOAD_FIELDS = {
    "token",
    "expiresAt",
    "refreshToken",
    "refreshExpiresAt",
    "user",
    "passwordChangeRequired",
    "retryAfter",
    "errors",
    "__typename",
}
ERROR_FIELDS = {"field", "code", "reason", "message", "__typename"}


@dataclass(frozen=True)
class LoginShape:
    """What a recognised `login` document asks for: the response keys and where its two arguments come from."""

    key: str
    # (response key, field name, the selection of `errors` when the field is `errors`)
    fields: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]
    # ("variable", name), ("variable", name, key) for the key of an `input` object given as a variable, or
    # ("value", the literal)
    email: tuple[str, ...]
    password: tuple[str, ...]

    def argument(self, which: tuple[str, ...], variables: dict[str, Any]) -> Any:
        kind, text, *inside = which
        if kind != "variable":
            return text
        value = variables.get(text)
        for key in inside:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    def answer(self, retry_after: int, language: str) -> dict[str, Any]:
        """`data` as the view answers a throttled `login`: the payload of LoginPayload(retry_after, errors)."""
        refusal = FieldProblem(None, Reason.SIGN_IN_THROTTLED, {"seconds": retry_after})
        error = {
            "field": None,
            "code": refusal.code.value,
            "reason": refusal.reason.value,
            "message": refusal.message(language),
            "__typename": "UserError",
        }
        values = {
            "token": None,
            "expiresAt": None,
            "refreshToken": None,
            "refreshExpiresAt": None,
            "user": None,
            "passwordChangeRequired": False,
            "retryAfter": retry_after,
            "__typename": "LoginPayload",
        }
        payload = {
            key: [{k: error[n] for k, n in sub}] if name == "errors" else values[name] for key, name, sub in self.fields
        }
        return {"data": {self.key: payload}}


def _plain_fields(selection: SelectionSetNode | None) -> list[FieldNode] | None:
    """The fields of a selection, or None when it holds fragments, directives or one response key twice."""
    if selection is None:
        return None
    fields = [s for s in selection.selections if isinstance(s, FieldNode) and not s.directives]
    keys = {(f.alias or f.name).value for f in fields}
    return fields if len(fields) == len(selection.selections) == len(keys) else None


def _argument(field: FieldNode, name: str) -> tuple[str, ...] | None:
    """Where the field `name` of `login`'s one argument, `input`, comes from (see LoginShape)."""
    for argument in field.arguments or ():
        if argument.name.value != "input":
            continue
        if isinstance(argument.value, VariableNode):
            return ("variable", argument.value.name.value, name)
        if isinstance(argument.value, ObjectValueNode):
            for given in argument.value.fields:
                if given.name.value == name:
                    if isinstance(given.value, VariableNode):
                        return ("variable", given.value.name.value)
                    if isinstance(given.value, StringValueNode):
                        return ("value", given.value.value)
    return None


@lru_cache(maxsize=64)
def login_shape(query: str, operation_name: str | None) -> LoginShape | None:
    """The shape of a valid document whose operation is `login` alone, or None (the view answers it)."""
    if len(query) > LONGEST_DOCUMENT or "login" not in query or UNSTORABLE.search(query):
        return None
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    if validate(schema._schema, document, [*specified_rules, *LIMIT_RULES]):
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.MUTATION or operations[0].directives:
        return None
    roots = _plain_fields(operations[0].selection_set)
    if not roots or len(roots) != 1 or roots[0].name.value != "login":
        return None
    login = roots[0]
    email, password, fields = (
        _argument(login, "email"),
        _argument(login, "password"),
        _plain_fields(login.selection_set),
    )
    if email is None or password is None or fields is None:
        return None
    shape = []
    for field in fields:
        name, key = field.name.value, (field.alias or field.name).value
        if name not in PAYLOAD_FIELDS:
            return None
        sub: tuple[tuple[str, str], ...] = ()
        if name == "errors":
            error_fields = _plain_fields(field.selection_set)
            if error_fields is None or any(f.name.value not in ERROR_FIELDS for f in error_fields):
                return None
            sub = tuple(((f.alias or f.name).value, f.name.value) for f in error_fields)
        shape.append((key, name, sub))
    return LoginShape((login.alias or login.name).value, tuple(shape), email, password)


def _sign_in(body: bytes) -> tuple[LoginShape, str] | None:
    """The recognised `login` of a request body and its email, when the view would run it as such."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(query := data.get("query"), str):
        return None
    variables, operation_name = data.get("variables"), data.get("operationName")
    variables = {} if variables is None else variables
    if not isinstance(variables, dict) or not (operation_name is None or isinstance(operation_name, str)):
        return None
    shape = login_shape(query, operation_name)
    if shape is None:
        return None
    email, password = shape.argument(shape.email, variables), shape.argument(shape.password, variables)
    if not isinstance(email, str) or not isinstance(password, str):
        return None
    # The view refuses these before the resolver runs: it answers them itself.
    if nesting_depth(variables, MAX_VARIABLE_DEPTH) > MAX_VARIABLE_DEPTH or unstorable_variable(variables, "v"):
        return None
    return shape, email


class Blocks:
    """The throttle blocks this process has read, by throttle key: when each ends and when it was read.

    The database stays the truth: an entry is used only until its block ends and for at most `RECHECK` seconds
    after it was read, then the rows are read again (a block lifted meanwhile, by a success or by hand, is seen
    within that time). Only blocks are kept, never "not blocked": an attempt that may be let through always reads.
    """

    RECHECK = 2.0
    LARGEST = 4096

    def __init__(self) -> None:
        self.entries: dict[str, tuple[dt.datetime, float]] = {}

    def until(self, key: str, now: float, moment: dt.datetime) -> dt.datetime | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        until, read_at = entry
        if until <= moment or not read_at <= now < read_at + self.RECHECK:
            del self.entries[key]
            return None
        return until

    def keep(self, found: dict[str, dt.datetime], now: float) -> None:
        if len(self.entries) + len(found) > self.LARGEST:
            self.entries.clear()  # a flood from thousands of addresses: they are read again, nothing else
        for key, until in found.items():
            self.entries[key] = (until, now)

    async def wait(self, settings: Settings, email: str, address: str) -> int | None:
        """Seconds to wait when the email or the address is blocked now (retryAfter), else None."""
        now = settings.clock()
        moment = throttle.moment_of(now)
        keys = [throttle.account_key(email), throttle.address_key(address)]
        found = {key: until for key in keys if (until := self.until(key, now, moment)) is not None}
        if not found:
            found = await throttle.blocked(keys, moment)
            self.keep(found, now)
        return throttle.wait_seconds(max(found.values()), moment) if found else None


class SigninGate:
    def __init__(self, app, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.blocks = Blocks()

    async def __call__(self, scope, receive, send) -> None:
        if not self.settings.signin_throttle or scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        headers = request.headers
        # A token changes nothing to `login`'s answer (a bad one is only remembered, never refused): not looked at.
        if parse_content_type(headers.get("content-type", ""))[0] != "application/json":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left: the view sees it as it would have
                await self.app(scope, _replay(b"".join(chunks), receive, message), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if b"login" in body and (found := _sign_in(body)) is not None:
            shape, email = found
            address = throttle.client_address(request, self.settings.trusted_proxies)
            retry_after = await self.blocks.wait(self.settings, email.strip().lower(), address)
            if retry_after is not None:
                log.debug("sign-in refused before the GraphQL layer (throttled for %d s)", retry_after)
                await asyncio.sleep(self.settings.signin_refusal_delay)
                accept = headers.get("accept", "")
                response = Response(
                    encode_answer(shape.answer(retry_after, negotiate(headers.get("accept-language")))),
                    media_type=GRAPHQL_RESPONSE if wants_graphql_response(accept) else "application/json",
                    headers={"retry-after": str(retry_after)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive, pending: dict | None = None):
    """A `receive` that hands the body already read to the view, then (or the message that stopped the reading)
    whatever the client sends next."""
    sent = False

    async def replay() -> dict:
        nonlocal sent, pending
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": pending is not None}
        if pending is not None:
            message, pending = pending, None
            return message
        return await receive()

    return replay
