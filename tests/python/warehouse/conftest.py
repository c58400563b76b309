from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from oie import warehouse


@pytest.fixture
def build(tmp_path: Path) -> Callable[..., int]:
    """Run `dbt build` against a warehouse in this test's own data dir."""

    def run(data_dir: Path | None = None, **kwargs) -> int:
        env = {"OIE_DATA_DIR": str(data_dir or tmp_path)}
        return warehouse.dbt_build(env=env, quiet=True, **kwargs)

    return run
