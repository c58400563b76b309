from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.python.helpers.scenario_build import build_data


@pytest.fixture
def build(tmp_path: Path) -> Callable[..., int]:
    """Run `dbt build` (without unit tests) against a warehouse in this test's own data dir."""

    def run(data_dir: Path | None = None, **kwargs) -> int:
        return build_data(data_dir or tmp_path, **kwargs)

    return run
