"""Write mutmut's mutants (mutants/) without its test runs: the first step of mutmut's `run`, alone.

bench/mutation.sh's targeted mode (MUTATION_MODE=targeted) then runs every mutant against its module's own tests in a
fresh interpreter (bench/mutation_recheck.py with MUTATION_RECHECK_UNCHECKED=1), instead of mutmut's run, which
first runs the whole selection once to learn which test covers which function and then, for a function every
request goes through (`tokens.decode_token`), runs most of the suite per mutant.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mutmut import __main__ as mutmut


def main() -> int:
    mutmut.set_mutant_under_test("mutant_generation")
    Path("mutants").mkdir(exist_ok=True)
    mutmut.copy_src_dir()
    mutmut.copy_also_copy_files()
    mutmut.setup_source_paths()
    mutmut.store_lines_covered_by_tests()
    stats = mutmut.create_mutants(os.cpu_count() or 2)
    print(f"mutants written: {stats.mutated} files mutated, {stats.ignored} ignored, {stats.unmodified} unmodified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
