"""The dbt process `oie` builds with (oie/dbt_process.py, `oie-dbt`): dbt's record of the run
is written, dbt's JSON copies of the parsed project are not, and dbt's exit codes and
errors come through, in a subprocess and in `oie run --every`'s own process."""

from __future__ import annotations

import json
import os
from pathlib import Path

from oie import warehouse
from oie.dbt_in_process import InProcessDbt

SEED = "oie_bot_user_agents"
NOT_WRITTEN = ("manifest.json", "semantic_manifest.json")


def _recorded(target: Path) -> dict[str, str]:
    """Node (the on-run-end hook included) -> status, from run_results.json."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"]: r["status"] for r in results}


def test_builds_start_oie_dbt_and_other_commands_start_dbt() -> None:
    for command in ("build", "run", "test", "seed", "snapshot"):
        assert Path(warehouse.dbt_command(command)[0]).name == "oie-dbt", command
    for command in ("parse", "docs", "compile", "source", "ls"):
        assert Path(warehouse.dbt_command(command)[0]).name == "dbt", command


def test_a_build_records_its_run_and_writes_no_manifest(tmp_path: Path) -> None:
    env = {"OIE_DATA_DIR": str(tmp_path)}
    target = Path(warehouse.dbt_env(env)["DBT_TARGET_PATH"])

    done = warehouse.run_dbt(warehouse.dbt_command("seed", select=SEED), env, capture=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _recorded(target)[f"seed.oie.{SEED}"] == "success"
    assert not [name for name in NOT_WRITTEN if (target / name).exists()]
    assert (target / "partial_parse.msgpack").is_file()  # the parse is still kept

    # The same through dbt's Python runner, as `oie run --every` builds.
    (target / "run_results.json").unlink()
    environment = dict(os.environ)
    args = warehouse.dbt_command("seed", select=SEED, extra_args=["--quiet"])
    assert InProcessDbt().run(args[1:], env) == 0
    assert _recorded(target)[f"seed.oie.{SEED}"] == "success"
    assert not [name for name in NOT_WRITTEN if (target / name).exists()]
    assert dict(os.environ) == environment


def test_a_refused_command_line_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {"OIE_DATA_DIR": str(tmp_path)}
    args = warehouse.dbt_command("build", extra_args=["--no-such-option"])
    done = warehouse.run_dbt(args, env, capture=True)
    assert done.returncode == 2
    assert done.stderr.strip() == "dbt: No such option '--no-such-option'."

    other = warehouse.run_dbt([args[0], "parse"], env, capture=True)
    assert other.returncode == 2
    assert "use dbt" in other.stderr
