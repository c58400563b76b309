"""A copy of the dbt project for a test that edits what an analyst edits (a seed row), so
the repository's files are never touched, and dbt run on that copy (inside the test
worker, tests/python/helpers/dbt_in_worker.py)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oie import warehouse
from tests.python.helpers import dbt_in_worker

# What dbt reads; the Python tests and caches are left behind.
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
PROJECT_DIRS = ("models", "macros", "seeds", "snapshots", "analyses", "tests/generic")


def copy_project(destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy2(warehouse.PROJECT_DIR / name, destination / name)
    for name in PROJECT_DIRS:
        source = warehouse.PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(
                source, destination / name, ignore=shutil.ignore_patterns("__pycache__")
            )
    return destination


def run_dbt(
    project: Path, data_dir: Path, *args: str, vars: Mapping[str, Any]
) -> dbt_in_worker.Finished:
    """dbt on the copied project (never the repository's), its warehouse in data_dir."""
    command = warehouse.dbt_command(
        args[0], vars=dict(vars), extra_args=args[1:], project_dir=project
    )
    return dbt_in_worker.run_printing(command, {"OIE_DATA_DIR": str(data_dir)})
