"""Kill score of each mutated module, from mutmut's results in mutants/ (run by bench/mutation.sh).

Survivors take the verdict of the second pass (bench/mutation_recheck.py), which runs each in a fresh
interpreter against the current tests; pytest's status 2 or 4 there (the tests cannot even be collected,
or tests/conftest.py cannot be imported, because the mutated module fails while it is imported: the
server would not start) is a kill. A mutant counts as killed when a test failed on it, or when it timed out
in the second pass too (mutmut's own timeouts are run again there: see bench/mutation_recheck.py);
the score is killed / (every mutant that was run, plus those no test executes). Survivors are listed
by name: `mutmut show NAME` prints the change.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

KILLED = {"killed", "timeout", "caught by type check"}
UNCOUNTED = {"not checked", "skipped", "check was interrupted by user"}


def main(modules: list[str]) -> int:
    total_killed = total_counted = 0
    second_pass = Path("mutants/recheck.json")
    rechecked = json.loads(second_pass.read_text()) if second_pass.exists() else {}
    for module in modules:
        meta = Path("mutants") / (module.replace(".", "/") + ".py.meta")
        if not meta.exists():
            print(f"{module}: no results")
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"] | {
            name: 1 if code in (2, 4) else code for name, code in rechecked.items() if name.startswith(module + ".")
        }
        statuses = Counter(status_by_exit_code[code] for code in codes.values())
        counted = sum(n for status, n in statuses.items() if status not in UNCOUNTED)
        killed = sum(n for status, n in statuses.items() if status in KILLED)
        total_killed += killed
        total_counted += counted
        score = f"{100 * killed / counted:.1f}%" if counted else "n/a"
        print(f"{module}: {killed}/{counted} killed ({score}) {dict(statuses)}")
        for name, code in sorted(codes.items()):
            if status_by_exit_code[code] not in KILLED | UNCOUNTED:
                print(f"    {status_by_exit_code[code]}: {name}")
    if total_counted:
        print(f"all: {total_killed}/{total_counted} killed ({100 * total_killed / total_counted:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
