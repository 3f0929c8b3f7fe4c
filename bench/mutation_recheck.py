"""Second pass of bench/mutation.sh (and the whole of its targeted mode): each mutant run again in its own pytest
session, forked from a process that imported the application once (bench/mutation_forkserver.py), or in a fresh
interpreter for the modules with import-time functions (FRESH_INTERPRETER).

Three kinds of survivor are worth a second look:
- mutants of functions that run while modules are imported (`table._rule`, which builds the access
  table, and `table.describe`, which writes the schema's field descriptions): mutmut forks each test
  run from a process that has already imported the code, so they ran unmutated;
- survivors of a run whose stats predate tests added since (mutmut learns which test covers which
  function once, at the start of a run);
- timeouts: mutmut runs every test that executes the mutated function until one fails, so a mutant of a
  function every request goes through (`tokens.decode_token`) can use up its CPU limit before it reaches the
  test that would kill it. A timeout is not counted as a kill until the module's own tests below kill it.
Each session runs the module's tests below with the mutant active. Exit codes go to
mutants/recheck.json, which bench/mutation_score.py takes over mutmut's verdicts.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from mutmut.stats import status_by_exit_code

# Functions the demo data is built with (its passwords are hashed by `passwords.hash_password`), as the prefix of
# their mutants' names: those mutants run without the shared baseline database of bench/mutation.sh, so each pytest
# session builds its own with the mutant in place. The module's other mutants share the baseline (about 45 s a
# mutant saved).
BUILDS_THE_BASELINE = ("permissions.passwords.x_hash_password__mutmut_",)

# MUTATION_RECHECK_UNCHECKED=1: the mutants mutmut's run did not reach are run here too, against the module's own
# tests (for a module whose functions every request goes through, cheaper than mutmut's run of every test that
# executes them)
UNCHECKED_TOO = os.environ.get("MUTATION_RECHECK_UNCHECKED") == "1"

# far more than any module's tests take unmutated (under a minute each on this machine)
RECHECK_SECONDS = 600

# module → the in-process tests that exercise it (the same selection as [tool.mutmut], narrowed)
TESTS = {
    "permissions.table": ["tests/access/test_spec_matrix.py", "tests/foundation/test_schema_file.py", "tests/access"],
    # the viewer's own school and administrators read back (own rows), the cross-school walk, and the one
    # portfolio a trainer link reaches
    "permissions.scopes": [
        "tests/access/test_own_rows.py",
        "tests/access/test_list_reach.py",
        "tests/access/test_out_of_reach.py",
        "tests/access/test_reach.py",
        "tests/access/test_cross_school.py",
        "tests/people/test_trainer_links.py",
        # the trainers a teacher or an administrator may manage (managed_trainers)
        "tests/periods/test_trainers.py",
        "tests/periods/test_trainer_management.py",
    ],
    "permissions.viewer": ["tests/access"],
    # a link's and a provider session's claims are read by the tests of those sign-ins
    "permissions.tokens": [
        "tests/foundation/test_auth.py",
        "tests/people/test_trainer_links.py",
        "tests/identity/test_oidc_code_flow.py",
    ],
    "permissions.passwords": ["tests/signin/test_passwords.py", "tests/foundation/test_auth.py", "tests/accounts"],
    "permissions.identities": [
        "tests/identity/test_cas_answers.py",
        "tests/identity/test_oidc.py",
        "tests/identity/test_cas.py",
    ],
    "permissions.remote": [
        "tests/identity/test_remote.py",
        "tests/identity/test_oidc.py",
        "tests/identity/test_cas.py",
    ],
    # single logout (logout_ticket, single_logout) is tested against the real CAS server's requests
    "permissions.cas": [
        "tests/identity/test_cas_answers.py",
        "tests/identity/test_cas.py",
        "tests/identity/test_cas_real_server.py",
    ],
    # the code flow's tests need a real provider (npm's oidc-provider in $PFMP_OIDC_DIR, as .ci/run installs it):
    # without it they are skipped and the discovery's mutants survive, so the module is not run without it (`_missing_peer`)
    "permissions.oidc": [
        "tests/identity/test_oidc.py",
        "tests/identity/test_provisioning.py",
        "tests/identity/test_oidc_code_flow.py",
    ],
    # the loopback provider's token endpoint first (no Node, seconds), then the real provider's whole flow
    "permissions.oidc_flow": ["tests/identity/test_oidc_token_exchange.py", "tests/identity/test_oidc_code_flow.py"],
    "permissions.provisioning": [
        "tests/identity/test_provisioning.py",
        "tests/identity/test_settings.py",
        "tests/identity/test_cas_real_server.py",
        "tests/identity/test_oidc_code_flow.py",
    ],
    "permissions.authentication": [
        "tests/foundation/test_auth.py",
        "tests/people/test_trainer_links.py",
        "tests/signin/test_refresh_tokens.py",
        "tests/fiches/test_signed_downloads.py",
        "tests/signin/test_passwords.py",
        "tests/identity/test_oidc.py",
        "tests/identity/test_oidc_code_flow.py",
    ],
    "permissions.links": ["tests/people/test_trainer_links.py"],
    "permissions.refresh": ["tests/signin/test_refresh_tokens.py"],
    "permissions.sessions": [
        "tests/signin/test_refresh_tokens.py",
        "tests/foundation/test_auth.py",
        "tests/people/test_trainer_links.py",
        "tests/identity/test_oidc_code_flow.py",
        "tests/identity/test_cas_real_server.py",
    ],
    "permissions.signed_urls": [
        "tests/fiches/test_signed_downloads.py",
        "tests/bilans/test_paper.py",
        "tests/people/test_trainer_links.py",
    ],
    # the tests where a second server process reads the throttle import the unmutated code: left out
    "permissions.throttle": [
        "tests/signin/test_throttle.py",
        "tests/signin/test_signin_gate.py",
        "tests/signin/test_password_change_throttle.py",
        "tests/signin/test_refresh_tokens.py",
        # the refused trainer-link exchanges, counted per address by the throttle
        "tests/people/test_trainer_links.py::test_a_client_trying_made_up_links_is_throttled_per_address",
        "tests/people/test_trainer_links.py::test_a_successful_exchange_does_not_count_against_the_address",
        "-k",
        "not another_server_process",
    ],
    "resolvers.periods.portfolio_rules": ["tests/periods"],
    "resolvers.periods.rules": [
        "tests/periods/test_period_dates.py",
        "tests/periods/test_empty_period_deletion.py",
        "tests/periods/test_lifecycle.py",
        "tests/periods/test_liaison.py",
        "tests/periods/test_planned_days.py",
        "tests/periods/test_live_news.py",
        "tests/bilans/test_survival.py",
    ],
    "resolvers.fiches.rules": ["tests/fiches"],
    # the grid first (it kills most mutants at once), then what tests derived and retained levels through the API
    "resolvers.bilans.grid": ["tests/bilans/test_grid.py", "tests/bilans/test_update.py", "tests/bilans"],
}


# MUTATION_RECHECK_RESUME=1: a mutant this re-check has already run (its verdict in mutants/recheck.json) is not run
# again, survivors included: to resume an interrupted run
RESUME = os.environ.get("MUTATION_RECHECK_RESUME") == "1"

# MUTATION_JOBS=N: N mutants at once, each in its own pytest session (default 1; each pytest session copies the shared
# baseline database per test, so sessions do not step on each other)
JOBS = int(os.environ.get("MUTATION_JOBS", "1"))


# Modules with functions that run only while modules are imported: a child forked from a process that imported them
# unmutated would not see those mutants (bench/mutation_forkserver.py), so these run in a fresh interpreter each.
FRESH_INTERPRETER = {"permissions.table"}


class _ForkServer:
    """A worker that imported the application once and forks a pytest session per mutant."""

    def __init__(self, mutants: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("mutation_forkserver.py")), str(RECHECK_SECONDS)],
            cwd=mutants,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, name: str, tests: list[str], baseline: bool) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"name": name, "tests": tests, "baseline": baseline}) + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


_servers: queue.Queue[_ForkServer] = queue.Queue()


def _run(module: str, name: str, mutants: Path) -> int:
    """The mutant's exit code against its module's tests (-24: they never ended, the mutation made the code loop)."""
    baseline = not name.startswith(BUILDS_THE_BASELINE)
    if module not in FRESH_INTERPRETER:
        server = _servers.get()
        try:
            return server.run(name, TESTS[module], baseline)
        finally:
            _servers.put(server)
    env = {**os.environ, "MUTANT_UNDER_TEST": name}
    if not baseline:
        env.pop("PFMP_TEST_BASELINE", None)
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS[module]],
            cwd=mutants,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=RECHECK_SECONDS,
        ).returncode
    except subprocess.TimeoutExpired:
        # the module's own tests, which pass in seconds, never end on it
        return -24


# modules whose tests include the code flow against npm's oidc-provider (skipped without it)
NEEDS_THE_OIDC_PROVIDER = {
    "permissions.oidc",
    "permissions.oidc_flow",
    "permissions.provisioning",
    "permissions.sessions",
    "permissions.authentication",
    "permissions.tokens",
}


def _missing_peer(module: str) -> str | None:
    """Why the module's tests cannot all run here (a peer they start is not installed), or None."""
    if module in NEEDS_THE_OIDC_PROVIDER:
        folder = Path(os.environ.get("PFMP_OIDC_DIR", "/nonexistent"))
        if not (folder / "node_modules" / "oidc-provider").is_dir():
            return "set PFMP_OIDC_DIR to a folder where npm installed oidc-provider@8 (see .ci/run)"
    return None


def main(modules: list[str]) -> int:
    mutants = Path("mutants")
    verdicts: dict[str, int] = {}
    if (mutants / "recheck.json").exists():
        verdicts = json.loads((mutants / "recheck.json").read_text())
    pending: list[tuple[str, str]] = []
    for module in modules or list(TESTS):
        meta = mutants / (module.replace(".", "/") + ".py.meta")
        if not meta.exists():
            continue
        missing = _missing_peer(module)
        if missing:
            print(f"{module} not run: {missing}", flush=True)
            continue
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if RESUME and name in verdicts:
                continue
            code = verdicts.get(name, code)  # an earlier re-check's verdict: killed ones are not run again
            if status_by_exit_code[code] in ("survived", "timeout") or (
                UNCHECKED_TOO and status_by_exit_code[code] == "not checked"
            ):
                pending.append((module, name))
    servers = [_ForkServer(mutants) for _ in range(JOBS)]
    for server in servers:
        _servers.put(server)
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        runs = {pool.submit(_run, module, name, mutants): name for module, name in pending}
        for run in as_completed(runs):
            name = runs[run]
            verdicts[name] = run.result()
            print(f"{status_by_exit_code[verdicts[name]]}: {name}", flush=True)
            (mutants / "recheck.json").write_text(json.dumps(verdicts, indent=1))  # each verdict kept at once
    for server in servers:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
