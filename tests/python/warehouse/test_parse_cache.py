"""One dbt parse for every data dir (oie/dbt_parse_cache.py, OIE_DBT_PARSE_CACHE): a new
data dir starts from the kept parse instead of parsing the project again, still reads
its own landing files and writes its own warehouse, and a torn copy costs a full parse,
never a failed or wrong build."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from oie import warehouse
from oie.dbt_in_process import InProcessDbt
from oie.dbt_parse_cache import (
    CACHE_ENV,
    PARSE_FILE,
    PARSED_FROM_FILE,
    UNUSED_DAYS,
    cache_key,
    prune,
    shared_parse,
)
from tests.python.helpers.dbt_log import dbt_log, last_invocation
from tests.python.helpers.project_copy import copy_project
from tests.python.helpers.servers import REPO
from tests.python.warehouse import scenario

REUSED = "Partial parsing enabled, no changes found, skipping parsing"
FRESH = "Unable to do partial parsing because saved manifest not found"
TORN = "Failed to load parsed file from disk"


def _landed_events(data_dir: Path) -> int:
    files = (data_dir / "landing" / "events").rglob("*.ndjson")
    return sum(1 for path in files for line in path.read_text().splitlines() if line.strip())


def _build(data_dir: Path, cache: Path) -> int:
    """A dbt subprocess, as `oie run` starts one (the suite's build helper runs dbt inside
    its worker and keeps its own manifests)."""
    return warehouse.dbt_build(
        select="stg_oie__events",
        env={"OIE_DATA_DIR": str(data_dir), CACHE_ENV: str(cache)},
        quiet=True,
    )


def _parse(data_dir: Path, cache: Path) -> int:
    return warehouse.dbt_build(
        command="parse", env={"OIE_DATA_DIR": str(data_dir), CACHE_ENV: str(cache)}, quiet=True
    )


def test_a_new_data_dir_starts_from_the_kept_parse_and_reads_its_own_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "parse-cache"
    # a quote in a folder name must reach the view's SQL escaped
    first, second = tmp_path / "first", tmp_path / "o'second"
    scenario.land_batch(first / "landing", scenario.BATCHES[0])
    for batch in scenario.BATCHES:
        scenario.land_batch(second / "landing", batch)
    assert _landed_events(first) < _landed_events(second)  # the two must be told apart

    assert _build(first, cache) == 0
    assert FRESH in dbt_log(first)
    assert len(list(cache.glob("*.msgpack"))) == 1
    assert _build(second, cache) == 0
    assert REUSED in dbt_log(second) and FRESH not in dbt_log(second)

    # Read from a folder that is neither data dir: a view keeps its SQL, and its paths
    # must name its own data dir, absolutely.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for data_dir in (first, second):
        with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as db:
            count = db.execute("select count(*) from stg_oie__events").fetchone()
            (sql,) = db.execute(  # type: ignore[misc]
                "select sql from duckdb_views() where view_name = 'stg_oie__events'"
            ).fetchone()
        assert count == (_landed_events(data_dir),)
        quoted = str(data_dir).replace("'", "''")
        assert f"read_json('{quoted}/landing/events/" in sql


def test_a_torn_kept_parse_costs_a_full_parse_and_is_replaced(tmp_path: Path) -> None:
    cache = tmp_path / "parse-cache"
    assert _parse(tmp_path / "a", cache) == 0
    (kept,) = cache.glob("*.msgpack")
    whole = kept.read_bytes()
    kept.write_bytes(whole[: len(whole) // 2])

    assert _parse(tmp_path / "b", cache) == 0
    assert TORN in dbt_log(tmp_path / "b")
    assert kept.stat().st_size == len(whole)  # the full parse was kept in its place
    assert _parse(tmp_path / "c", cache) == 0
    assert REUSED in dbt_log(tmp_path / "c")


def test_without_the_setting_nothing_is_shared(tmp_path: Path) -> None:
    env = {"OIE_DATA_DIR": str(tmp_path / "a"), CACHE_ENV: ""}
    assert warehouse.dbt_build(command="parse", env=env, quiet=True) == 0
    assert FRESH in dbt_log(tmp_path / "a")
    assert (tmp_path / "a" / "dbt" / "target" / "partial_parse.msgpack").is_file()
    assert not [p for p in tmp_path.rglob("*.msgpack") if p.parent.name != "target"]


def test_dbt_runs_inside_the_data_dir_with_nothing_that_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env, cwd = warehouse.dbt_subprocess_env({"OIE_DATA_DIR": "data"})
    assert cwd == tmp_path / "data"  # relative to the caller's folder, not dbt's
    assert env["OIE_DATA_DIR"] == "."
    assert "OIE_LANDING_DIR" not in env  # the sources' default: ./landing
    assert env["DBT_TARGET_PATH"] == str(tmp_path / "data" / "dbt" / "target")

    inside = {"OIE_DATA_DIR": "data", "OIE_LANDING_DIR": "data/landing"}
    assert "OIE_LANDING_DIR" not in warehouse.dbt_subprocess_env(inside)[0]
    outside = {"OIE_DATA_DIR": "data", "OIE_LANDING_DIR": "shared/landing"}
    env, _ = warehouse.dbt_subprocess_env(outside)
    assert env["OIE_LANDING_DIR"] == str(tmp_path / "shared" / "landing")

    # files the caller names relative to its own folder stay where the caller meant
    relative = {"OIE_BQ_KEYFILE": "keys/sa.json", "GOOGLE_APPLICATION_CREDENTIALS": "adc.json"}
    relative |= {"DBT_TARGET_PATH": "out/target", "DBT_LOG_PATH": "out/logs", "OIE_DATA_DIR": "d"}
    env, _ = warehouse.dbt_subprocess_env(relative)
    for name, value in relative.items():
        if name != "OIE_DATA_DIR":
            assert env[name] == str(tmp_path / value), name


def test_a_parse_is_kept_per_vars_and_per_setting_dbt_parses() -> None:
    args = ["build", "--vars", '{"oie_level_hot": 55}']
    env = {"OIE_DATA_DIR": ".", "OIE_TARGET": "local", "OIE_ALLOWED_ORIGINS": "a"}
    key = cache_key(args, env)
    assert cache_key(["build", "--vars", '{"oie_level_hot": 60}'], env) != key
    assert cache_key(["build"], env) != key
    assert cache_key(args, {**env, "OIE_TARGET": "bigquery"}) != key
    assert cache_key(args, {**env, "OIE_BQ_PROJECT": "p"}) != key
    assert cache_key(args, {**env, "OIE_LANDING_DIR": "/srv/landing"}) != key
    # what dbt does not parse does not split the cache, nor does the order of the settings
    assert cache_key(args, {**env, "OIE_ALLOWED_ORIGINS": "b"}) == key
    assert cache_key(args, dict(reversed(list(env.items())))) == key
    assert cache_key(["build", "--select", "sessions", *args[1:]], env) == key
    # another folder's copy of the project keeps its own parse
    in_checkout = cache_key([*args, "--project-dir", "/srv/oie"], env)
    assert cache_key([*args, "--project-dir", "/srv/copy"], env) != in_checkout


def _aged(path: Path, seconds: float, content: bytes = b"parse") -> Path:
    path.write_bytes(content)
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_prune_removes_unused_parses_and_abandoned_copies_only(tmp_path: Path) -> None:
    day = 86400
    fresh = _aged(tmp_path / f"{'a' * 32}.msgpack", 60)
    recent = _aged(tmp_path / f"{'b' * 32}.msgpack", (UNUSED_DAYS - 1) * day)
    unused = _aged(tmp_path / f"{'c' * 32}.msgpack", (UNUSED_DAYS + 1) * day)
    copying = _aged(tmp_path / f".{'d' * 32}.msgpack.k3j9x_", 600)
    abandoned = _aged(tmp_path / f".{'e' * 32}.msgpack.q8w2z_", 2 * 3600)
    # not the cache's own names: left alone however old
    notes = _aged(tmp_path / "README.txt", 400 * day)
    other = _aged(tmp_path / "manifest.msgpack", 400 * day)
    dotted = _aged(tmp_path / ".manifest.msgpack.bak", 400 * day)

    assert sorted(prune(tmp_path)) == sorted([unused, abandoned])
    assert sorted(tmp_path.iterdir()) == sorted([fresh, recent, copying, notes, other, dotted])
    assert prune(tmp_path) == []
    # the figure docs/warehouse.md gives is the one the code keeps
    assert f"used for {UNUSED_DAYS} days" in (REPO / "docs" / "warehouse.md").read_text()


def test_a_used_parse_is_refreshed_and_stale_ones_go_when_a_parse_is_kept(
    tmp_path: Path,
) -> None:
    cache, target = tmp_path / "cache", tmp_path / "target"
    cache.mkdir()
    env = {CACHE_ENV: str(cache), "DBT_TARGET_PATH": str(target)}
    old = (UNUSED_DAYS + 5) * 86400
    used_args, new_args = ["build"], ["build", "--vars", '{"oie_level_hot": 55}']
    used = _aged(cache / f"{cache_key(used_args, env)}.msgpack", old, b"kept parse")
    stale = _aged(cache / f"{'f' * 32}.msgpack", old)

    # a run offered the kept parse, and dbt found nothing to re-parse
    with shared_parse(used_args, env):
        assert (target / PARSE_FILE).read_bytes() == b"kept parse"
    assert time.time() - used.stat().st_mtime < 3600  # used: refreshed
    assert stale.exists()  # nothing kept, nothing pruned

    # a run with other vars: nothing kept for them, dbt parses and writes a new parse
    with shared_parse(new_args, env):
        assert (target / PARSE_FILE).read_bytes() == b"kept parse"  # this data dir's last
        (target / PARSE_FILE).write_bytes(b"new parse")
    assert (cache / f"{cache_key(new_args, env)}.msgpack").read_bytes() == b"new parse"
    assert not stale.exists()
    assert used.read_bytes() == b"kept parse"


MOVED_SEED = "oie_page_classes"  # any seed: dbt reads its CSV from the folder it parsed


def _seed(project: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """A seed as `oie run` starts dbt, from the project checked out in `project`."""
    args = warehouse.dbt_command("seed", select=MOVED_SEED, project_dir=project)
    return warehouse.run_dbt(args, {"OIE_DATA_DIR": str(data_dir), CACHE_ENV: ""}, capture=True)


def test_a_moved_project_parses_again_rather_than_read_seeds_from_its_old_folder(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    checkout = copy_project(tmp_path / "checkout")
    first = _seed(checkout, data_dir)
    assert first.returncode == 0, first.stdout[-3000:]

    moved = checkout.rename(tmp_path / "moved")  # the same files, in another folder
    after_move = _seed(moved, data_dir)
    assert after_move.returncode == 0, after_move.stdout[-3000:]
    assert "No files found" not in after_move.stdout
    assert FRESH in last_invocation(data_dir)  # one full parse, from the new folder
    target = data_dir / "dbt" / "target"
    assert (target / PARSED_FROM_FILE).read_text(encoding="utf-8") == str(moved)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as db:
        assert db.execute(f"select count(*) from {MOVED_SEED}").fetchone()[0] > 0


def test_the_scheduler_parses_a_moved_project_again(tmp_path: Path) -> None:
    """`oie run --every` parses in its own process, from the same data dir's parse."""
    env = {"OIE_DATA_DIR": str(tmp_path / "data"), CACHE_ENV: ""}

    def seed(project: Path) -> int:
        args = warehouse.dbt_command("seed", select=MOVED_SEED, project_dir=project)
        return InProcessDbt(project).run(args[1:], env)

    checkout = copy_project(tmp_path / "checkout")
    assert seed(checkout) == 0
    assert seed(checkout.rename(tmp_path / "moved")) == 0
