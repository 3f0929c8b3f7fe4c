"""Response headers a security review expects.

- Every answer: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`.
- `/graphql`: answers to POST are never stored by a cache (`Cache-Control: no-store`: they hold personal data and
  depend on the token); answers to GET may be kept by the browser but revalidated (`private, no-cache`).
- HTML pages (GraphiQL): a Content-Security-Policy that allows the page's own inline scripts by their hash and
  scripts, styles and fonts from this server only (GraphiQL's files are served here, graph/routes/graphiql.py; its
  fonts are `data:` URLs in its CSS), no framing (`frame-ancestors 'none'`, and `X-Frame-Options: DENY` for older
  browsers).
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders

INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def content_security_policy(html: bytes) -> str:
    hashes = " ".join(
        "'sha256-%s'" % base64.b64encode(hashlib.sha256(script).digest()).decode()
        for script in INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {hashes}".strip(),
            # React sets style attributes: inline styles are allowed, inline scripts only by hash.
            "style-src 'self' 'unsafe-inline'",
            "font-src 'self' data:",
            "img-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        graphql = scope["path"] == "/graphql"
        method = scope["method"]
        held: dict | None = None
        html = bytearray()

        async def send_with_headers(message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "no-referrer")
                if graphql and method == "POST":
                    headers["cache-control"] = "no-store"
                elif graphql and "cache-control" not in headers:
                    headers["cache-control"] = "private, no-cache"
                if headers.get("content-type", "").startswith("text/html"):
                    held = message  # the policy names the inline scripts' hashes: wait for the body
                    return
            elif message["type"] == "http.response.body" and held is not None:
                html.extend(message.get("body", b""))
                if message.get("more_body"):
                    return
                headers = MutableHeaders(scope=held)
                headers["content-security-policy"] = content_security_policy(bytes(html))
                headers["x-frame-options"] = "DENY"
                await send(held)
                held = None
                message = {"type": "http.response.body", "body": bytes(html)}
            await send(message)

        await self.app(scope, receive, send_with_headers)
