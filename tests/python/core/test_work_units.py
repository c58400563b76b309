"""The suite's units of work under xdist (tests/python/conftest.py): one per module, one per
folder that builds a warehouse once per session for all its modules."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.python.conftest import SHARED_SESSION_FOLDERS, work_unit
from tests.python.helpers.environment import inherited_env

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


def _fixtures_sharing_the_session(conftest: Path) -> list[str]:
    """The conftest's session fixtures, and its fixtures that use one (a module using
    those uses the session's warehouse too)."""
    fixtures: dict[str, tuple[bool, set[str]]] = {}
    for node in ast.walk(ast.parse(conftest.read_text())):
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if not ast.unparse(target).endswith("fixture"):
                    continue
                session = isinstance(deco, ast.Call) and any(
                    k.arg == "scope" and getattr(k.value, "value", None) == "session"
                    for k in deco.keywords
                )
                fixtures[node.name] = session, {a.arg for a in node.args.args}
    names = [name for name, (session, _) in fixtures.items() if session]
    grew = True
    while grew:
        grew = False
        for name, (_, uses) in fixtures.items():
            if name not in names and uses & set(names):
                names.append(name)
                grew = True
    return names


def test_every_shared_folder_has_a_session_fixture_its_modules_use() -> None:
    """The list stays true: a folder is listed only while its modules share a session
    fixture that is worth building once."""
    for folder in SHARED_SESSION_FOLDERS:
        conftest = REPO / folder / "conftest.py"
        fixtures = _fixtures_sharing_the_session(conftest)
        users = [
            module
            for module in (REPO / folder).glob("test_*.py")
            if any(name in module.read_text() for name in fixtures)
        ]
        assert len(users) >= 2, (folder, fixtures, users)


def test_the_suite_still_runs_without_xdist_as_make_mutate_runs_it() -> None:
    """`make mutate` hands pytest the args in pyproject.toml's [tool.mutmut], which turn
    xdist off: the scheduler hook above must then be optional, not an unknown hook."""
    args = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mutmut"][
        "pytest_add_cli_args"
    ]
    assert "no:xdist" in args
    test = test_a_module_is_its_own_unit_and_a_shared_folder_is_one.__name__
    one_test = f"{Path(__file__).relative_to(REPO)}::{test}"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-q", one_test],
        cwd=REPO,
        env=inherited_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
