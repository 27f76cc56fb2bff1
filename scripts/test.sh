#!/usr/bin/env bash
# Set up a virtualenv and run the whole suite on PostgreSQL, then on SQLite.
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379;
# .ci/run starts both on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
# The real local model server some tests run (a no-op once installed).
bash scripts/install_llama.sh

export HF_HUB_OFFLINE=1
PG_URL=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/castnotes}

status=0
echo "== test suite on PostgreSQL"
DATABASE_URL="$PG_URL" .venv/bin/python -m pytest "$@" || status=$?
echo "== test suite on SQLite"
env -u DATABASE_URL .venv/bin/python -m pytest "$@" || status=$((status ? status : $?))
exit "$status"
