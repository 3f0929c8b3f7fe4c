"""`signedDownloadUrl(path:)`: a short-lived signed URL of any download the server offers (an annex, a paper scan,
a DOCX or CSV document, a learner's data), for a link that works without an Authorization header
(permissions/signed_urls.py). Nothing is read to sign it: the URL is bound to the viewer, and at use the route
checks the viewer's reach and rights as it does for a bearer token, so it never grants more than the viewer has."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

import strawberry

from graph.context import Info
from graph.errors import BadUserInput
from graph.response_cache import mark_uncacheable
from permissions import signed_urls

# The download routes (graph/routes/): /annexes/{id}, /bilans/{id}/paper-scan, /exports/<export>/{id}.
_ID = r"[A-Za-z0-9+=]{1,64}"
DOWNLOAD_PATH = re.compile(
    rf"^/(?:annexes/{_ID}|bilans/{_ID}/paper-scan|exports/[a-z-]{{1,40}}(?:/[a-z-]{{1,40}})?/{_ID})$"
)


@strawberry.type(description="A download URL that works without an Authorization header, for a few minutes.")
class SignedDownloadUrl:
    url: str = strawberry.field(
        description="The path with its expiry, user and signature in the query string: GET it as it is."
    )
    expires_at: dt.datetime = strawberry.field(description="When it stops working.")


@strawberry.type
class DownloadQuery:
    @strawberry.field(
        description="A signed URL of a download path the server answers (an annex's downloadUrl, a paper scan's, "
        "a document's link such as Portfolio.meetingSheetUrl), bound to the signed-in user and their token "
        "version (signOutEverywhere stops it), working PFMP_SIGNED_URL_LIFETIME seconds (300 by default). At use "
        "the route checks the user's access as for a bearer token: the URL never grants more than the user has "
        "then. Any signed-in user; a path that is not a download answers BAD_USER_INPUT."
    )
    def signed_download_url(
        self,
        info: Info,
        path: Annotated[
            str, strawberry.argument(description="The download path to sign, as a `downloadUrl` field answers it.")
        ],
    ) -> SignedDownloadUrl:
        viewer = info.context.require_viewer()
        if not DOWNLOAD_PATH.match(path):
            raise BadUserInput("DOWNLOAD_PATH_UNKNOWN", field="path")
        mark_uncacheable(info.context.request)
        url, expires = signed_urls.sign(info.context.settings, path, viewer)
        return SignedDownloadUrl(url=url, expires_at=dt.datetime.fromtimestamp(expires, tz=dt.UTC))
