#!/usr/bin/env bash
# Fuzz the GraphQL API with schemathesis over the whole schema, once per role (admin, teacher, learner,
# tutor, master) and once without a token, each against its own fresh `pfmp serve --demo`.
#
#   bench/fuzz.sh                      # SQLite, 20 examples an operation, 30 s a role (about 4 minutes)
#   bench/fuzz.sh --examples 50 --seconds 90 --role admin
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/fuzz.sh
#                                      # PostgreSQL: a fresh database pfmp_fuzz_<role> on that server
#
# Needs the fuzz extra (pip install -e '.[fuzz]'; PYTHON=… names the interpreter). Exit status 0 when no answer had a 5xx, a masked
# "Unexpected error.", a stack trace, SQL or a path; otherwise the findings are printed and the servers'
# logs kept. The checks and strategies are in tests/conformance/fuzz_hooks.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
exec "$PYTHON" -m tests.conformance.fuzz "$@"
