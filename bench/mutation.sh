#!/usr/bin/env bash
# Mutation testing of the access rules (permissions/) and the business-rule modules
# (resolvers/periods/rules.py, periods/portfolio_rules.py, fiches/rules.py, bilans/grid.py) with mutmut 3.
#
#   bench/mutation.sh                         # every module (resumes an interrupted run; rm -rf mutants to start over)
#   bench/mutation.sh permissions.table       # one module again (dotted name, as mutmut names mutants)
#   MUTATION_JOBS=1 bench/mutation.sh         # fewer parallel workers (default: the machine's cores)
#   MUTATION_MODE=targeted bench/mutation.sh  # each mutant against its module's own tests only (much faster;
#                                             # MUTATION_JOBS mutants at once, each in its own pytest session)
#
# Needs the mutation extra (pip install -e '.[mutation,test]'); VENV=… names the virtual environment
# (default .venv). Configuration: [tool.mutmut] in pyproject.toml. mutmut first runs the selected tests
# once to learn which test executes which function, then runs each mutant against only those tests,
# so each module is scoped to the tests that cover it. Only in-process tests are selected: tests that
# start a server or CLI subprocess would import the unmutated code. SQLite only (the default test
# database). Results stay in mutants/ (git-ignored): `mutmut results` lists the survivors,
# `mutmut show NAME` shows one. Not part of .ci/run. Ends with the kill score of each module.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
MUTMUT="$VENV/bin/mutmut"
JOBS=${MUTATION_JOBS:-$(nproc)}
MODULES=("$@")
if [ ${#MODULES[@]} -eq 0 ]; then
  MODULES=(permissions.table permissions.scopes permissions.viewer permissions.tokens permissions.passwords
           permissions.identities permissions.remote permissions.cas permissions.oidc permissions.oidc_flow
           permissions.provisioning permissions.authentication permissions.links permissions.refresh
           permissions.sessions permissions.signed_urls permissions.throttle
           resolvers.periods.portfolio_rules resolvers.periods.rules resolvers.fiches.rules resolvers.bilans.grid)
fi
# one migrated demo database for every pytest session mutmut starts (tests/conftest.py copies it per test)
mkdir -p mutants
export PFMP_TEST_BASELINE="$PWD/mutants/baseline.sqlite3"
rm -f "$PFMP_TEST_BASELINE"
if [ "${MUTATION_MODE:-mutmut}" = targeted ]; then
  # every mutant against its module's own tests (bench/mutation_recheck.py's TESTS), each in its own pytest session:
  # no stats run, no run of every test that executes a hot function; about a second per killed mutant here
  rm -f mutants/recheck.json
  nice -n 10 "$VENV/bin/python" bench/mutation_generate.py
  cp -r tests/. mutants/tests/
  MUTATION_JOBS="$JOBS" MUTATION_RECHECK_UNCHECKED=1 nice -n 10 "$VENV/bin/python" bench/mutation_recheck.py "${MODULES[@]}"
  exec "$VENV/bin/python" bench/mutation_score.py "${MODULES[@]}"
fi
if [ $# -eq 0 ]; then
  # every module in one run: mutmut resumes an interrupted run where it stopped (rm -rf mutants to start over)
  nice -n 10 "$MUTMUT" run --max-children "$JOBS" || echo "mutmut stopped (status $?)"
else
  for module in "${MODULES[@]}"; do
    nice -n 10 "$MUTMUT" run --max-children "$JOBS" "$module.*" || echo "mutmut stopped on $module (status $?)"
  done
fi
# survivors again, each in its own session with the current tests (tests added during a run are not in mutmut's
# stats), in a fresh interpreter for permissions.table, whose import-time functions mutmut's forked runs cannot see
cp -r tests/. mutants/tests/
nice -n 10 "$VENV/bin/python" bench/mutation_recheck.py "$@"
"$VENV/bin/python" bench/mutation_score.py "${MODULES[@]}"
