#!/usr/bin/env bash
# The README's test command (`make test`): installs everything it needs, lints, then runs
# every test: Python (pytest: ingest server, dbt on DuckDB, the pixel in Chromium, Firefox
# and WebKit, BigQuery compile and emulator smoke) and dbt's own tests inside those.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh pixel chromium firefox webkit bqemulator
if [[ -f pixel/package.json ]]; then
  (cd pixel && npm run --silent build)
fi
scripts/lint.sh
# -p no:cacheprovider keeps a read-only checkout clean; xdist spreads modules (and the folders
# that share a session warehouse, tests/python/conftest.py) over both cores;
# pytest-randomly shuffles files and tests (and seeds `random`) differently on every run and
# prints the seed at the top: `make test` forwards nothing, so replay an order with
# `scripts/test.sh --randomly-seed=N`.
exec .venv/bin/python -m pytest -p no:cacheprovider -n 2 --dist loadfile --durations=25 "$@"
