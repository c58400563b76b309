"""The warehouse benchmark's sliced history build (`--build-days`): dbt sees the landing's
event days a slice at a time, the first slice by a full refresh, and the landing is whole
again afterwards, also when a build fails half-way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.warehouse import build_history_in_slices


def _landing(tmp_path: Path, days: int) -> Path:
    landing = tmp_path / "landing"
    for day in range(1, days + 1):
        folder = landing / "events" / f"dt=2026-11-{day:02d}" / "hr=07"
        folder.mkdir(parents=True)
        (folder / "bench-1.ndjson").write_text("{}\n")
    return landing


def _visible(landing: Path) -> list[str]:
    return sorted(p.name for p in (landing / "events").glob("dt=*"))


def _dbt(command: str, **options: Any) -> list[str]:
    return [command, *(["--full-refresh"] if options.get("full_refresh") else [])]


def test_each_build_sees_the_days_so_far_and_the_first_is_a_full_refresh(tmp_path: Path) -> None:
    landing = _landing(tmp_path, 5)
    seen: list[tuple[list[str], list[str], str]] = []

    def step(name: str, args: list[str], *, dbt_step: bool, test_scope: str = "all") -> dict:
        seen.append((_visible(landing), args, test_scope))
        return {"seconds": 1.5, "cpu_s": 2.0}

    history = build_history_in_slices(landing, 2, step, _dbt)

    assert [len(days) for days, _, _ in seen] == [2, 4, 5]
    assert seen[0][1] == ["build", "--full-refresh"] and seen[0][2] == "all"
    assert all("--full-refresh" not in args and scope == "new" for _, args, scope in seen[1:])
    assert history == {"seconds": 4.5, "cpu_s": 6.0, "runs": 3}
    assert _visible(landing) == [f"dt=2026-11-{d:02d}" for d in range(1, 6)]
    assert not (tmp_path / "landing-held-events").exists()


def test_a_failed_build_leaves_the_landing_whole(tmp_path: Path) -> None:
    landing = _landing(tmp_path, 4)
    calls = 0

    def step(name: str, args: list[str], *, dbt_step: bool, test_scope: str = "all") -> dict:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise SystemExit("history build failed (exit 1)")
        return {"seconds": 1.0, "cpu_s": 1.0}

    with pytest.raises(SystemExit):
        build_history_in_slices(landing, 1, step, _dbt)
    assert _visible(landing) == [f"dt=2026-11-{d:02d}" for d in range(1, 5)]
    assert not (tmp_path / "landing-held-events").exists()
