"""No password or token reaches the log of a real `pfmp serve` process: neither a failed query's text nor the
query string of a GET request (uvicorn's access log)."""

import httpx

from tests.conformance.server import ServerProcess

SECRET = "Inline-S3cret-pw-42"
TOKEN_LOOKALIKE = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"


def test_the_server_log_holds_no_password_nor_token(tmp_path, database_url):
    server = ServerProcess(tmp_path, args=(), extra_env={"DATABASE_URL": database_url})
    base = server.start()
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            # a failed login with its password inline: a validation error, then a syntax error
            client.post(
                "/graphql",
                json={"query": 'mutation { login(input: {email: "a@b.test", password: "%s"}) { nope } }' % SECRET},
            )
            client.post(
                "/graphql", json={"query": 'mutation { login(input: {email: "a@b.test", password: "%s"}) {' % SECRET}
            )
            # the same over GET, where the query string is the request's path in the access log
            client.get(
                "/graphql",
                params={
                    "query": '{ me { id } } # password: "%s"' % SECRET,
                    "extensions": '{"token": "%s"}' % TOKEN_LOOKALIKE,
                },
                headers={"accept": "application/json", "authorization": f"Bearer {TOKEN_LOOKALIKE}"},
            )
            # a bad token is refused, and only the reason is logged
            client.post(
                "/graphql", json={"query": "{ me { id } }"}, headers={"authorization": f"Bearer {TOKEN_LOOKALIKE}"}
            )
    finally:
        server.stop()
    log = server.log()
    assert "POST /graphql" in log and "GET /graphql" in log, log  # the requests were logged …
    assert "graphql error" in log  # … and so were the failures
    assert SECRET not in log
    assert TOKEN_LOOKALIKE not in log and "c2VjcmV0LXRva2Vu" not in log
