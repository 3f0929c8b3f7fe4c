"""GraphiQL without a CDN: the page (`page.html`, derived from Strawberry's) and the files it loads, served from
graph/static/graphiql/ (their origin, versions and digests: its README.md and files.json).

`GET /graphiql/static/<package>@<version>/<path>` answers only the files of files.json (a fixed name → file map,
nothing of the request's path reaches the file system), with the long-lived caching a versioned path allows, and a
304 to a browser that revalidates with the file's ETag.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

STATIC = Path(__file__).resolve().parents[1] / "static" / "graphiql"
PREFIX = "/graphiql/static/"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
IMMUTABLE = "public, max-age=31536000, immutable"
PLACEHOLDER = re.compile(r"\{\{(src|integrity):([^}]+)\}\}")


@dataclass(frozen=True)
class Asset:
    key: str
    path: Path
    content_type: str
    integrity: str
    # from the recorded sha256: the same on every host and process (Starlette's own is from the file's mtime)
    etag: str


@functools.cache
def assets() -> dict[str, Asset]:
    """Served name (`graphiql@3.8.3/graphiql.min.js`, the page's key `graphiql/graphiql.min.js`) → file."""
    found = {}
    for package in json.loads((STATIC / "files.json").read_text())["packages"]:
        spec = f"{package['name']}@{package['version']}"
        for file in package["files"]:
            path = STATIC / spec / file["path"]
            key = f"{package['name']}/{file['path']}"
            found[f"{spec}/{file['path']}"] = Asset(
                key, path, CONTENT_TYPES[path.suffix], file["sha384"], f'"{file["sha256"][:32]}"'
            )
    return found


@functools.cache
def page() -> str:
    """The GraphiQL page, each `{{src:<package>/<path>}}` and `{{integrity:<package>/<path>}}` replaced by the
    file's local URL and its recorded sha384."""
    by_key = {asset.key: (PREFIX + name, asset.integrity) for name, asset in assets().items()}

    def fill(match: re.Match[str]) -> str:
        src, integrity = by_key[match.group(2)]
        return src if match.group(1) == "src" else integrity

    return PLACEHOLDER.sub(fill, (STATIC / "page.html").read_text(encoding="utf-8"))


async def graphiql_file(request: Request) -> Response:
    asset = assets().get(request.path_params["name"])
    if asset is None:
        return JSONResponse({"error": "Not found."}, status_code=404)
    headers = {"cache-control": IMMUTABLE, "etag": asset.etag}
    if asset.etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    return FileResponse(asset.path, media_type=asset.content_type, headers=headers)
