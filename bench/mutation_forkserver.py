"""One worker of bench/mutation_recheck.py: imports the (mutated) application once, then forks a pytest session per
mutant it is sent.

A fresh interpreter per mutant spends two to three seconds importing the application before its first test; a
mutant killed by that test costs little more. mutmut's trampolines read the mutant to run at each call
(MUTANT_UNDER_TEST), so a child forked from a process that imported the code unmutated runs the mutant all the same,
except in functions that run only while modules are imported (`table._rule`, `table.describe`): their modules are
re-checked in fresh interpreters (FRESH_INTERPRETER in mutation_recheck.py).

Started with mutants/ as its working directory. Reads one JSON request per line on stdin ({"name", "tests",
"baseline"}), answers each with one line: the pytest exit code, or -24 when the session outlived the time limit.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest

sys.path.insert(0, os.getcwd())  # the mutated packages, before the installed ones

import graph.app  # noqa: E402,F401  (what every test session imports first, done once here)


def run(request: dict, seconds: int) -> int:
    pid = os.fork()
    if pid == 0:
        os.environ["MUTANT_UNDER_TEST"] = request["name"]
        if not request["baseline"]:
            os.environ.pop("PFMP_TEST_BASELINE", None)
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        signal.alarm(seconds)  # SIGALRM ends the session: a mutant that made the code loop
        os._exit(int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *request["tests"]])))
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM:
        return -24
    return os.waitstatus_to_exitcode(status)


def main() -> int:
    seconds = int(sys.argv[1])
    for line in sys.stdin:
        print(run(json.loads(line), seconds), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
