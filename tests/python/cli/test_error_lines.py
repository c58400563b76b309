"""Bad input to the CLI: one clear line on stderr and the documented exit code (2 bad input,
1 a failed step), never a traceback (the `cli` fixture asserts that on every call)."""

from __future__ import annotations

import duckdb
import pytest

from .conftest import Cli, cli_env


def _one_error_line(stderr: str) -> str:
    lines = [x for x in stderr.splitlines() if x.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def test_simulate_with_an_endpoint_that_is_not_a_url(cli: Cli) -> None:
    done = cli("simulate", "--endpoint", "notaurl", "--visitors", "1")
    assert done.returncode == 2
    line = _one_error_line(done.stderr)
    assert "--endpoint must be http(s)://host:port" in line and "ValueError" not in line


@pytest.mark.parametrize(
    "args",
    [
        ("run",),
        ("leads",),
        ("replay",),
        ("campaign", "create", "x.csv", "--campaign", "x", "--landing-url", "https://a.b/"),
    ],
)
def test_a_data_dir_that_is_a_file(cli: Cli, args: tuple[str, ...]) -> None:
    cli.env = cli_env(cli.cwd.parent / "data") | {
        "OIE_DATA_DIR": "/dev/null",
        "OIE_DEAD_LETTER": str(cli.cwd / "dl"),
    }
    done = cli(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    line = _one_error_line(done.stderr)
    assert "OIE_DATA_DIR=/dev/null: not a directory" in line


def test_a_folder_given_as_the_lead_list(cli: Cli) -> None:
    (cli.cwd / "leads").mkdir()
    done = cli("campaign", "create", "leads", "--campaign", "x", "--landing-url", "https://a.b/")
    assert done.returncode == 2
    assert "leads: is a directory, not a CSV file" in _one_error_line(done.stderr)


def test_leads_on_a_warehouse_without_lead_profiles(cli: Cli) -> None:
    cli.data_dir.mkdir(parents=True)
    con = duckdb.connect(str(cli.data_dir / "warehouse.duckdb"))
    con.execute("create table something_else (a integer)")
    con.close()
    done = cli("leads")
    assert done.returncode == 1
    assert "no lead_profiles yet: run `oie run`" in _one_error_line(done.stderr)


def test_run_with_a_selector_that_matches_nothing(cli: Cli) -> None:
    done = cli("run", "--select", "no_such_model")
    assert done.returncode == 2, done.stdout + done.stderr
    line = _one_error_line(done.stderr)
    assert "--select 'no_such_model' matches no model" in line
    assert "pipeline finished" not in done.stdout
