"""Subscriptions are served on the WebSocket only (docs/live-news.md): over HTTP they are a request error, never an
operation run as a query."""


async def test_a_subscription_over_http_is_refused_with_400(teacher):
    for accept in ("application/json", "multipart/mixed;subscriptionSpec=1.0, application/json"):
        response = await teacher.post("subscription { news { kind } }", headers={**teacher.headers, "accept": accept})
        assert response.status_code == 400, accept
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    # a query over HTTP still runs
    assert (await teacher.data("{ me { id } }"))["me"]["id"]
