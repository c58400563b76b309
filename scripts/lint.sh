#!/usr/bin/env bash
# ruff and mypy for Python (mypy's files and strictness live in pyproject.toml); the
# raw-schema copies checked against their one declaration; sqlfluff (duckdb dialect, dbt
# templater, local target) for the models, rendered twice: as a first build sees them and
# as an incremental run sees them.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m oie_core.raw_schema
if [[ -f dbt_project.yml && -f .sqlfluff ]]; then
  # An empty data dir: the lint must not depend on what happens to be in data/.
  lint_dir=$(mktemp -d)
  trap 'rm -rf "$lint_dir"' EXIT
  export OIE_DATA_DIR=$lint_dir DBT_TARGET_PATH=$lint_dir/target DBT_LOG_PATH=$lint_dir/logs
  .venv/bin/sqlfluff lint models --processes 2 --disable-progress-bar
  .venv/bin/sqlfluff lint models --processes 2 --disable-progress-bar \
    --config .ci/sqlfluff-incremental.cfg
fi
