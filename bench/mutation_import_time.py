"""Second pass of bench/mutation.sh: the mutants of functions that run while modules are imported.

mutmut forks each mutant's test run from a process that has already imported the code, so a function
called only at import time (`_rule`, which builds the access table, and `describe`, which writes the
schema's field descriptions) ran unmutated and its mutants all "survive". Here each such survivor is
run again in a fresh interpreter, which imports the mutated module, against the tests that read what
those functions build: the spec matrix check and the committed SDL check. Exit codes go to
mutants/import-time.json, which bench/mutation_score.py takes over mutmut's verdicts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mutmut.stats import status_by_exit_code

IMPORT_TIME_FUNCTIONS = ("permissions.table.x__rule__mutmut_", "permissions.table.x_describe__mutmut_")
TESTS = ["tests/access/test_spec_matrix.py", "tests/foundation/test_schema_file.py"]


def main() -> int:
    mutants = Path("mutants")
    verdicts: dict[str, int] = {}
    for meta in mutants.glob("**/*.py.meta"):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if name.startswith(IMPORT_TIME_FUNCTIONS) and status_by_exit_code[code] == "survived":
                run = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS],
                                     cwd=mutants, env={**os.environ, "MUTANT_UNDER_TEST": name},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                verdicts[name] = run.returncode
                print(f"{status_by_exit_code[run.returncode]}: {name}")
    (mutants / "import-time.json").write_text(json.dumps(verdicts, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
