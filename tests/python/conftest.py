"""How pytest-xdist spreads the suite over its workers (`scripts/test.sh` runs it with
`--dist loadfile`): a test module is one unit, so its module-scoped warehouse is built
once; and a folder whose tests share a session-built warehouse is one unit, so that
warehouse is built once, not once in each worker that happens to run one of its files.
"""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling

# Folders whose conftest builds a warehouse once per session for all their modules.
SHARED_SESSION_FOLDERS = ("tests/python/alerts/", "tests/python/report/")


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: its shared folder, else its module."""
    for folder in SHARED_SESSION_FOLDERS:
        if nodeid.startswith(folder):
            return folder
    return nodeid.split("::", 1)[0]


class ModuleOrSharedFolderScheduling(LoadFileScheduling):
    def _split_scope(self, nodeid: str) -> str:
        return work_unit(nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    # xdist's own loadgroup marks cannot do this under pytest 9 (it edits a node id
    # attribute pytest no longer reads), so the grouping lives in the scheduler
    if config.getvalue("dist") != "loadfile":
        return None
    return ModuleOrSharedFolderScheduling(config, log)
