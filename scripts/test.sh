#!/usr/bin/env bash
# Sets up everything and runs all checks and tests. Fails when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Compiled bytecode (and pytest's rewritten test modules) go to a folder inside .venv, not next to
# the sources: the tree stays clean, and the many processes the tests start (xdist, workers, fake
# servers) do not each compile the bot again (2.6 s CPU per pytest process for the rewrites alone).
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX="$PWD/.venv/pycache"
# Types and lint first (configuration in pyproject.toml): seconds, and they name the line at fault.
.venv/bin/python -m mypy
.venv/bin/python -m ruff check
# Content checks first: a broken flow, locale or index entry fails the run with file:line errors.
.venv/bin/python -m bot flows check
.venv/bin/python -m bot resources check
# Tests marked `postgres` run when a PostgreSQL server answers (CI machines have one).
if [ -z "${TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 2>/dev/null; then
  export TEST_DATABASE_URL="postgresql+psycopg2://postgres@127.0.0.1:5432/test"
fi
# Tests run in TEST_WORKERS parallel processes (pytest-xdist; each starts its own servers and
# PostgreSQL database). They mostly wait on servers and worker processes, hence 4 on 2 cores;
# TEST_WORKERS=0 runs them in this process.
set +e
# --dist worksteal: an idle process takes tests queued for a busy one, so the long fault tests do
# not leave one process working alone at the end (full suite 14.5 -> 10.7 min, one run each).
.venv/bin/python -m pytest -q -p no:cacheprovider -n "${TEST_WORKERS:-4}" --dist worksteal "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "no tests ran: that is a failure" >&2
  exit 1
fi
exit "$status"
