"""Fuzz the whole GraphQL schema with schemathesis, once per role and once without a token.

    python -m tests.conformance.fuzz [--examples N] [--seconds S] [--role R] [--base-url URL]
    (bench/fuzz.sh runs it)

For each role it starts a live `pfmp serve --demo` on a fresh SQLite database
in a temporary folder (with DATABASE_URL=postgres://… in the environment: on a
fresh database pfmp_fuzz_<role> of that PostgreSQL server instead), and runs `schemathesis run` against
/graphql signed in as the role's demo account, bounded by N examples an
operation and S seconds a role. Strategies, sign-in and the check are in
fuzz_hooks.py. Exit status 0 when every run is clean; otherwise the findings
are printed and the servers' logs (with the tracebacks) are kept.
Needs the `fuzz` extra: pip install -e '.[fuzz]'.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from resolvers.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.conformance.server import ROOT, ServerProcess

ROLES = [role.value.lower() for role, *_ in DEMO_ACCOUNTS] + ["anonymous"]
EMAILS = {role.value.lower(): email for role, email, *_ in DEMO_ACCOUNTS}
# not_a_server_error also counts every UNAUTHENTICATED/FORBIDDEN error as a server error, and
# positive_data_acceptance every BAD_USER_INPUT to a random ID: both are the error model working
# (access.md); fuzz_hooks.clean_answer checks status codes and error bodies instead.
EXCLUDED_CHECKS = "not_a_server_error,positive_data_acceptance"


@dataclass
class RoleRun:
    role: str
    returncode: int
    output: str
    server_log: str = ""

    @property
    def server_defects(self) -> list[str]:
        """The server's own record of defects (masked errors, exceptions out of the app), whatever the checks saw."""
        return [
            line
            for line in self.server_log.splitlines()
            if "pfmp.errors unexpected error" in line or "Exception in ASGI application" in line
        ]

    @property
    def clean(self) -> bool:
        return self.returncode == 0 and not self.server_defects


def fuzz_role(
    base: str, role: str, *, examples: int, seconds: int, report_dir: Path, seed: int | None = None
) -> RoleRun:
    """One schemathesis run over the whole schema, signed in as the role's demo account (fuzz_hooks)."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{base}/graphql",
        "--max-examples",
        str(examples),
        "--max-time",
        str(seconds),
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--request-timeout",
        "20",
        "--no-color",
        "--report",
        "ndjson",
        "--report-dir",
        str(report_dir / role),
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
    ]
    if seed is not None:
        command += ["--seed", str(seed)]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.conformance.fuzz_hooks",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PFMP_FUZZ_URL": f"{base}/graphql",
        "PFMP_FUZZ_EMAIL": EMAILS.get(role, ""),
        "PFMP_FUZZ_PASSWORD": DEMO_PASSWORD,
    }
    # Run from the report folder: schemathesis leaves a .schemathesis cache in its working directory.
    (report_dir / role).mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        command, cwd=report_dir / role, env=env, capture_output=True, text=True, timeout=seconds + 300
    )
    return RoleRun(role, result.returncode, result.stdout + result.stderr)


def fresh_postgres_database(server_url: str, name: str) -> str:
    """An empty database `name` on the PostgreSQL server (dropped first if it exists); its URL."""

    async def create() -> None:
        conn = await asyncpg.connect(server_url.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def fuzz_live_servers(
    folder: Path, *, examples: int, seconds: int, roles=ROLES, seed: int | None = None, postgres_url: str | None = None
) -> list[RoleRun]:
    """Each role fuzzes its own fresh server and database (what one role's mutations did cannot blind the
    next): SQLite in the role's folder, or a new database pfmp_fuzz_<role> on the PostgreSQL server."""
    runs = []
    for role in roles:
        data_dir = folder / role
        extra_env = (
            {"DATABASE_URL": fresh_postgres_database(postgres_url, f"pfmp_fuzz_{role}")} if postgres_url else None
        )
        server = ServerProcess(data_dir, extra_env=extra_env)
        try:
            base = server.start()
            run = fuzz_role(base, role, examples=examples, seconds=seconds, report_dir=folder / "reports", seed=seed)
        finally:
            server.stop()
        run.server_log = server.log()
        runs.append(run)
    return runs


def summary(run: RoleRun) -> str:
    """The schemathesis summary block of a run (its last lines)."""
    lines = run.output.rstrip().splitlines()
    start = next((i for i, line in enumerate(lines) if "SUMMARY" in line), max(0, len(lines) - 30))
    return "\n".join(lines[start:])


def report(runs: list[RoleRun]) -> str:
    return "\n".join(
        f"== {run.role}: {'clean' if run.clean else 'FINDINGS'} ==\n"
        + (summary(run) if run.clean else run.output + "\n".join(run.server_defects))
        for run in runs
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz the GraphQL API with schemathesis, once per role.")
    parser.add_argument("--examples", type=int, default=20, help="examples an operation (default 20)")
    parser.add_argument("--seconds", type=int, default=30, help="time budget a role (default 30)")
    parser.add_argument("--base-url", help="fuzz this running server (with its demo accounts) instead")
    parser.add_argument("--role", action="append", choices=ROLES, help="only these roles (repeatable)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--output", type=Path, help="folder to keep (servers' data and logs, reports)")
    args = parser.parse_args(argv)
    roles = args.role or ROLES
    folder = args.output or Path(tempfile.mkdtemp(prefix="pfmp-fuzz-"))
    if args.base_url:
        runs = [
            fuzz_role(
                args.base_url.rstrip("/"),
                role,
                examples=args.examples,
                seconds=args.seconds,
                report_dir=folder / "reports",
                seed=args.seed,
            )
            for role in roles
        ]
    else:
        postgres = os.environ.get("DATABASE_URL", "").replace("postgresql://", "postgres://", 1)
        runs = fuzz_live_servers(
            folder,
            examples=args.examples,
            seconds=args.seconds,
            roles=roles,
            seed=args.seed,
            postgres_url=postgres if postgres.startswith("postgres://") else None,
        )
    print(report(runs))
    clean = all(run.clean for run in runs)
    if clean and args.output is None:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"servers' logs and reports kept in {folder}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
