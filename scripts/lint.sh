#!/usr/bin/env bash
# ruff for Python, sqlfluff (duckdb dialect, dbt templater, local target) for the models.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
if [[ -f dbt_project.yml && -f .sqlfluff ]]; then
  OIE_DATA_DIR=${OIE_DATA_DIR:-$(mktemp -d)} .venv/bin/sqlfluff lint models --processes 2 --disable-progress-bar
fi
