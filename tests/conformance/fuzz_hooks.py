"""Schemathesis hooks for fuzzing the GraphQL API (loaded through SCHEMATHESIS_HOOKS; see fuzz.py).

- Strategies for the scalars schemathesis does not know (Upload, Decimal), and
  sharper ones for String and ID: random text alone never gets past the first
  lookup, so IDs are often real-looking ones (a Node type and a small key, or
  an out-of-range key), strings are often over a column's length, hold a NUL
  character or are page cursors.
- The token: the run signs in as PFMP_FUZZ_EMAIL (none: anonymous) and signs
  in again when a fuzzed mutation revoked its own token (userRevokeTokens on
  itself), so one lucky input does not leave the rest of the run anonymous.
- The one check every answer must pass (`clean_answer`): whatever the input
  and whoever asks, no 5xx, no masked defect ("Unexpected error.",
  INTERNAL_SERVER_ERROR), no stack trace, SQL or path in the body.

Top-level UNAUTHENTICATED and FORBIDDEN errors are the error model's first
channel (access.md, "Errors"), not server errors: schemathesis' own GraphQL
server-error check counts every error with a `path` and no client code as a
server failure, so fuzz.py leaves that check out and this one judges instead.
"""

from __future__ import annotations

import base64
import json
import os
import threading

import httpx
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

NODE_TYPES = [
    "ActivityFiche",
    "Administrator",
    "Annex",
    "ApprenticeshipMaster",
    "Classroom",
    "CompanyBilan",
    "Competence",
    "Criterion",
    "Framework",
    "FrameworkActivity",
    "InterimReview",
    "Learner",
    "Level",
    "LiaisonFiche",
    "Period",
    "PeriodTemplate",
    "Portfolio",
    "School",
    "Task",
    "Teacher",
    "Tutor",
]


def _global_id(type_name: str, key: int | str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


_ids = st.one_of(
    st.builds(_global_id, st.sampled_from(NODE_TYPES), st.integers(1, 40)),
    st.builds(_global_id, st.sampled_from(NODE_TYPES), st.sampled_from([0, -1, 2**31, 2**63, 2**70, "1e3", " 1", "١"])),
    st.text(max_size=20),
)
_cursors = st.builds(
    lambda n: base64.b64encode(f"arrayconnection:{n}".encode()).decode(),
    st.one_of(st.integers(-3, 200), st.integers(-(2**70), 2**70)),
)
_long = st.builds(lambda char, size: char * size, st.sampled_from(["a", "é", " ", "0", "@"]), st.integers(51, 4000))
_strings = st.one_of(
    st.text(max_size=40),
    _long,
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "0",
            "null",
            "' OR 1=1 --",
            "../../etc/passwd",
            "http://x",
            "https://example.org/a b",
            "2026-02-30",
            "a@b.fr",
            "CAP-ELEC",
        ]
    ),
    st.emails(),
    _cursors,
)

schemathesis.graphql.scalar("ID", _ids.map(nodes.String))
schemathesis.graphql.scalar("String", _strings.map(nodes.String))
# An inline Upload literal is never a file part: the server must refuse it cleanly, whatever it holds.
schemathesis.graphql.scalar("Upload", st.one_of(st.text(max_size=20), st.just("0")).map(nodes.String))
schemathesis.graphql.scalar(
    "Decimal",
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
        st.text(max_size=12),
    ).map(nodes.String),
)

LEAKS = ("Unexpected error", "Traceback", "SELECT ", "sqlite", "asyncpg", "/work/", "site-packages")
DEFECT_CODES = {"INTERNAL_SERVER_ERROR"}


def defects(status: int, body: bytes) -> list[str]:
    """What is wrong with one answer of the server (empty when the answer is clean)."""
    found = []
    if status >= 500:
        found.append(f"status {status}")
    text = body.decode("utf-8", "replace")
    found += [f"the body contains {word!r}" for word in LEAKS if word in text]
    try:
        payload = json.loads(text)
    except ValueError:
        return found
    errors = payload.get("errors") if isinstance(payload, dict) else None
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
        if not code:
            found.append(f"an error without extensions.code: {error!r:.200}")
        elif code in DEFECT_CODES:
            found.append(f"an error with code {code}")
    return found


@schemathesis.check
def clean_answer(ctx, response, case):
    """No 5xx, no masked defect, no stack trace, SQL or path in the answer."""
    problems = defects(response.status_code, response.content)
    if problems:
        raise AssertionError("; ".join(problems) + "\n" + response.content.decode("utf-8", "replace")[:1500])


class _Session:
    """The run's bearer token, fetched with the login mutation and fetched again once revoked."""

    LOGIN = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }"

    def __init__(self) -> None:
        self.url = os.environ.get("PFMP_FUZZ_URL", "")
        self.email = os.environ.get("PFMP_FUZZ_EMAIL", "")
        self.password = os.environ.get("PFMP_FUZZ_PASSWORD", "")
        self.token: str | None = None
        self.lock = threading.Lock()

    def header(self) -> str | None:
        if not self.email:
            return None
        with self.lock:
            if self.token is None:
                answer = httpx.post(
                    self.url, json={"query": self.LOGIN, "variables": {"e": self.email, "p": self.password}}, timeout=30
                )
                self.token = answer.json()["data"]["login"]["token"]
            return f"Bearer {self.token}" if self.token else None

    def forget(self) -> None:
        with self.lock:
            self.token = None


SESSION = _Session()


@schemathesis.hook
def before_call(context, case, kwargs):
    header = SESSION.header()
    if header:
        case.headers = {**(case.headers or {}), "Authorization": header}


@schemathesis.hook
def after_call(context, case, response):
    if SESSION.email and b"was revoked" in response.content:
        SESSION.forget()
