"""The suite's units of work under xdist (tests/python/conftest.py): one per module, one per
folder that builds a warehouse once per session for all its modules."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.python.conftest import SHARED_SESSION_FOLDERS, work_unit

REPO = Path(__file__).resolve().parents[3]


def test_a_module_is_its_own_unit_and_a_shared_folder_is_one() -> None:
    assert work_unit("tests/python/cli/test_run.py::test_x") == "tests/python/cli/test_run.py"
    assert work_unit("tests/python/cli/test_run.py::Cls::test_y[a::b]") == (
        "tests/python/cli/test_run.py"
    )
    assert work_unit("tests/python/report/test_cli.py::test_a[chromium]") == work_unit(
        "tests/python/report/test_browser.py::test_b"
    )
    assert work_unit("tests/python/report/test_cli.py::t") == "tests/python/report/"
    # a look-alike folder name is not the shared folder
    assert work_unit("tests/python/reports/test_x.py::t") == "tests/python/reports/test_x.py"


def _session_fixtures(conftest: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(conftest.read_text())):
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and any(
                    k.arg == "scope" and getattr(k.value, "value", None) == "session"
                    for k in deco.keywords
                ):
                    names.append(node.name)
    return names


def test_every_shared_folder_has_a_session_fixture_its_modules_use() -> None:
    """The list stays true: a folder is listed only while its modules share a session
    fixture that is worth building once."""
    for folder in SHARED_SESSION_FOLDERS:
        conftest = REPO / folder / "conftest.py"
        fixtures = _session_fixtures(conftest)
        users = [
            module
            for module in (REPO / folder).glob("test_*.py")
            if any(name in module.read_text() for name in fixtures)
        ]
        assert len(users) >= 2, (folder, fixtures, users)
