"""Probe of the refresh tokens (issue 16, part 4): exchanging one, with no bearer token, as its holder."""

from __future__ import annotations

from resolvers.demo import DEMO_PASSWORD
from tests.access.registry import _read, probe
from tests.conftest import Api

LOGIN = (
    "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { refreshToken errors { code } } }"
)
REFRESH = "mutation($r: String!) { tokenRefresh(input: {refreshToken: $r}) { token errors { code } } }"
ME = "{ me { id } }"


@probe("refresh_token.use")
async def _(api, role):
    if role is None:
        # no refresh token held: nothing is reached
        return await _read(api, ME, lambda d: d["me"])
    # the role's own refresh token, from its own sign-in, exchanged without a bearer token
    holder = Api(api.http)
    signed = (await holder.data(LOGIN, e=api.user.email, p=DEMO_PASSWORD))["login"]
    assert signed["errors"] == [], signed
    answer = (await holder.data(REFRESH, r=signed["refreshToken"]))["tokenRefresh"]
    if answer["token"] is None:
        return "refused"
    return await _read(Api(api.http, answer["token"]), ME, lambda d: d["me"])
