"""GraphiQL works without internet (issue 13, part 4): the page loads its scripts and styles from this server only,
each the exact file recorded in graph/static/graphiql/README.md, and it renders in a real browser (Debian's
Chromium) that cannot reach any other host.

The browser test is skipped when Chromium is not installed, unless PFMP_REQUIRE_BROWSER=1 says the run must
include it (`.ci/run` installs Chromium and sets it).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from PIL import Image

from graph.app import create_app
from tests.conformance.server import live_server

ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "graph" / "static" / "graphiql" / "README.md"
BASE = "http://t"
CHROMIUM = shutil.which("chromium")
REQUIRE_BROWSER = os.environ.get("PFMP_REQUIRE_BROWSER") == "1"
ONE_YEAR = 365 * 24 * 3600
PLACEHOLDER = "Bearer <paste the token from the login mutation>"


def recorded_sha256() -> dict[str, str]:
    """The table of the folder's README: served name → sha256 of the npm tarball's file."""
    rows = re.findall(r"^\| `([^`]+)` \| `[^`]+` \| `[^`]+` \| `([0-9a-f]{64})` \|$", RECORD.read_text(), re.M)
    return dict(rows)


class References(HTMLParser):
    """Every URL the page makes a browser fetch: script src, link href, img src, and their integrity."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for attribute in ("src", "href"):
            if values.get(attribute):
                self.found.append((tag, values[attribute] or "", values.get("integrity")))


async def graphiql_page(http: httpx.AsyncClient) -> httpx.Response:
    response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    return response


async def test_every_file_the_page_loads_is_served_here_as_recorded(http):
    # given the GraphiQL page a browser gets
    page = await graphiql_page(http)
    parser = References()
    parser.feed(page.text)
    record = recorded_sha256()
    assert len(record) == 7  # react, react-dom, js-cookie, graphiql (js, css), the explorer plugin (js, css)
    # then every script and stylesheet is a path on this server, under /graphiql/static/
    kinds = {"script": "text/javascript", "link": "text/css"}
    served = set()
    for tag, url, integrity in parser.found:
        assert tag in kinds, (tag, url)
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/graphiql/static/"), url
        # when each is fetched from the app
        response = await http.get(urljoin(BASE, url))
        # then it is there, with its type, for a year (the version is in the path), and the recorded bytes
        assert response.status_code == 200, url
        assert response.headers["content-type"].split(";")[0] == kinds[tag], url
        assert response.headers["x-content-type-options"] == "nosniff"
        cache = [part.strip() for part in response.headers["cache-control"].split(",")]
        assert "immutable" in cache and "public" in cache
        assert int(next(p for p in cache if p.startswith("max-age=")).split("=")[1]) >= ONE_YEAR
        name = url.removeprefix("/graphiql/static/")
        assert hashlib.sha256(response.content).hexdigest() == record[name], name
        # and the page's subresource integrity matches what is served (a browser refuses the file otherwise)
        assert integrity == "sha384-" + base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        served.add(name)
    assert served == set(record)


def test_the_shipped_files_match_their_record():
    # files.json (the page's integrity) and the README's table agree with the bytes on disk, and each licence is there
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "graphiql_assets.py"), "check"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr


async def test_head_answers_the_headers_of_a_static_file(http):
    name, digest = next(iter(recorded_sha256().items()))
    full = await http.get(f"/graphiql/static/{name}")
    head = await http.head(f"/graphiql/static/{name}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == full.headers["content-length"] == str(len(full.content))
    assert head.headers["etag"] == full.headers["etag"]
    # a browser revalidating with the ETag gets a 304
    again = await http.get(f"/graphiql/static/{name}", headers={"if-none-match": full.headers["etag"]})
    assert again.status_code == 304 and hashlib.sha256(full.content).hexdigest() == digest


async def test_no_other_host_in_the_page_nor_in_its_policy(http):
    page = await graphiql_page(http)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.text, re.I), re.findall(r"\S*//\S+", page.text)
    assert "unpkg" not in page.text
    policy = page.headers["content-security-policy"]
    assert "://" not in policy and "*" not in policy and "unpkg" not in policy
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    for directive in ("script-src", "style-src", "font-src"):
        assert directives[directive].split()[0] == "'self'"
    # GraphiQL's fonts are data: URLs inside its CSS
    assert "data:" in directives["font-src"].split()


async def test_the_page_prefills_the_sign_in_helpers(http):
    page = await graphiql_page(http)
    assert "login(" in page.text and "mutation Login" in page.text
    assert "<paste the token from the login mutation>" in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/graphiql/static/../app.py",
        "/graphiql/static/%2e%2e/%2e%2e/graph/app.py",
        "/graphiql/static/..%2fheaders.py",
        "/graphiql/static/files.json",
        "/graphiql/static/page.html",
        "/graphiql/static/README.md",
        "/graphiql/static/graphiql@3.8.3/LICENSE",
        "/graphiql/static/graphiql@3.8.2/graphiql.min.js",
        "/graphiql/static/graphiql@3.8.3/graphiql.js",
        "/graphiql/static//etc/passwd",
        "/graphiql/static/",
    ],
)
async def test_nothing_else_is_served_under_the_static_path(http, path):
    response = await http.get(path)
    assert response.status_code == 404
    assert "javascript" not in response.headers.get("content-type", "")


async def test_the_static_files_are_off_with_graphiql(settings):
    name = next(iter(recorded_sha256()))
    production = create_app(dataclasses.replace(settings, environment="production", graphiql=False))
    async with production.router.lifespan_context(production):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=production), base_url=BASE) as client:
            response = await client.get(f"/graphiql/static/{name}")
    assert response.status_code == 404


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    assert CHROMIUM
    return subprocess.run(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--window-size=1280,800",
            "--virtual-time-budget=10000",
            # no other host is reachable: a file asked of a CDN would fail to load
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.skipif(not CHROMIUM and not REQUIRE_BROWSER, reason="chromium not installed (PFMP_REQUIRE_BROWSER=1)")
def test_graphiql_renders_in_chromium_without_internet(tmp_path):
    assert CHROMIUM, "PFMP_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing"
    with live_server(tmp_path / "server") as base:
        # when Chromium, which reaches no host but this server, opens GraphiQL
        dom = chromium("--dump-dom", f"{base}/graphql", profile=tmp_path / "profile-dom")
        screenshot = tmp_path / "graphiql.png"
        shot = chromium(f"--screenshot={screenshot}", f"{base}/graphql", profile=tmp_path / "profile-shot")
        log = (tmp_path / "server" / "server.log").read_text()
    # then React rendered GraphiQL's editors (the page's own markup is a bare "Loading..." div)
    assert dom.returncode == 0, dom.stderr[-3000:]
    for rendered in ("graphiql-editors", "graphiql-sessions", "graphiql-query-editor"):
        assert rendered in dom.stdout, dom.stdout[-3000:]
    assert "Loading..." not in dom.stdout
    # with the sign-in helpers: the login mutation in the editor, the header to fill in the headers editor
    assert "Login" in dom.stdout and "login" in dom.stdout
    assert PLACEHOLDER.replace("<", "&lt;").replace(">", "&gt;") in dom.stdout
    # and nothing was refused (policy, integrity) or failed to load
    console = [line for line in dom.stderr.splitlines() + shot.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    # and it fetched the schema from this server (GraphiQL's introspection query)
    assert re.search(r'"POST /graphql HTTP/1\.1" 200', log), log[-3000:]
    assert not re.search(r'"GET /graphiql/static/\S+ HTTP/1\.1" [45]\d\d', log)
    # and the screenshot shows it: 1280×800, not blank, with GraphiQL's pink run button (its stylesheet applied)
    assert shot.returncode == 0, shot.stderr[-3000:]
    with Image.open(screenshot) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1280, 800)
        colours = rgb.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 50
        pink = sum(count for count, (r, g, b) in colours if abs(r - 214) < 20 and g < 40 and abs(b - 144) < 30)
        assert pink > 500, pink
    if os.environ.get("PFMP_GRAPHIQL_SCREENSHOT"):
        shutil.copyfile(screenshot, os.environ["PFMP_GRAPHIQL_SCREENSHOT"])
