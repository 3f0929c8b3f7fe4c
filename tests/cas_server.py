"""A real CAS 3.0 server for the sign-in tests: django-cas-server (PyPI), run by Django's own server in a
subprocess on a loopback port, with its SQLite database, its accounts and its service pattern in a temporary
folder, and stopped at the end of the session.

A person signs in the way a browser does: `GET /cas/login?service=…` answers the form (with its login ticket
`lt` and Django's CSRF token), the POST of the form answers a redirect to the service with a service ticket,
which our server validates (`/cas/serviceValidate` or `/cas/p3/serviceValidate`). Accounts carry their email,
first and last name, and the names of their groups (`groups`, several values) as CAS attributes, released to the
service.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.postgres import _free_port

SETTINGS = """
SECRET_KEY = "cas-test-" + "k" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "cas_server",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "cas_urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                 "django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "cas.sqlite3"}}
USE_TZ = True
STATIC_URL = "/static/"
CAS_AUTH_CLASS = "cas_server.auth.DjangoAuthUser"
CAS_SHOW_POWERED = False
CAS_SLO_TIMEOUT = 5
"""

URLS = """
from django.urls import include, path
urlpatterns = [path("cas/", include(("cas_server.urls", "cas_server"), namespace="cas_server"))]
"""

SETUP = """
from django.contrib.auth.models import Group, User
from cas_server.models import ReplaceAttributName, ServicePattern
for username, password, email, first, last, groups in {accounts!r}:
    user = User.objects.create_user(username, email=email, password=password, first_name=first, last_name=last)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
pattern = ServicePattern.objects.create(
    pos=1, name="pfmp", pattern={pattern!r}, single_log_out=True, single_log_out_callback={callback!r}
)
ReplaceAttributName.objects.create(name="*", service_pattern=pattern)
"""

FIELD = re.compile(r'<input[^>]*name="(?P<name>lt|csrfmiddlewaretoken)"[^>]*value="(?P<value>[^"]*)"')


@dataclass(frozen=True)
class CasAccount:
    username: str
    password: str
    email: str
    first_name: str
    last_name: str
    # Released as the multi-valued attribute `groups`: where a test puts an ENT's profile, UAI and class.
    groups: tuple[str, ...] = ()


class CasServer:
    def __init__(self, accounts: list[CasAccount], service_pattern: str, slo_callback: str = "") -> None:
        self.accounts, self.service_pattern, self.slo_callback = accounts, service_pattern, slo_callback
        self.folder = Path(tempfile.mkdtemp(prefix="pfmp-cas-"))
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}/cas"
        self.process: subprocess.Popen | None = None
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PFMP_")},
            "DJANGO_SETTINGS_MODULE": "cas_settings",
            "PYTHONPATH": str(self.folder),
        }

    def _django(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "django", *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"django {args[0]} failed: {done.stderr[-2000:]}")

    def start(self) -> CasServer:
        (self.folder / "cas_settings.py").write_text(SETTINGS)
        (self.folder / "cas_urls.py").write_text(URLS)
        self._django("migrate", "--noinput")
        accounts = [(a.username, a.password, a.email, a.first_name, a.last_name, a.groups) for a in self.accounts]
        setup = SETUP.format(accounts=accounts, pattern=self.service_pattern, callback=self.slo_callback)
        self._django("shell", "-c", textwrap.dedent(setup))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/login", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("django-cas-server stopped at start")
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("django-cas-server did not answer within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)

    async def sign_in(self, browser: httpx.AsyncClient, username: str, password: str, service: str) -> str:
        """What a browser does at the CAS login page: the service ticket the redirect to `service` carries."""
        form = await browser.get(f"{self.base}/login", params={"service": service})
        form.raise_for_status()
        fields = {m["name"]: m["value"] for m in FIELD.finditer(form.text)}
        answer = await browser.post(
            f"{self.base}/login",
            data={**fields, "username": username, "password": password, "service": service},
            headers={"Referer": f"{self.base}/login"},
        )
        if answer.status_code != 302:
            raise AssertionError(f"the CAS server did not redirect to the service: {answer.status_code}")
        # The redirect goes to the service with the ticket added to its query (which it may percent-encode anew).
        location = urlsplit(answer.headers["location"])
        assert location._replace(query="") == urlsplit(service)._replace(query=""), location
        return parse_qs(location.query)["ticket"][0]

    async def sign_out(self, browser: httpx.AsyncClient) -> None:
        """The person signs out at the CAS server (which then sends its single-logout requests)."""
        (await browser.get(f"{self.base}/logout")).raise_for_status()
