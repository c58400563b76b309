"""Shared parts of the alerts tests: a warehouse copied from the one scenario build of the
session (real DuckDB, the real `lead_level_episodes` view), whose score history
(`lead_profiles_snapshot`) a test rewrites version by version; the outbox read back; the
settings pointing alerts at the local receiver; a clock that moves only when told."""

from __future__ import annotations

import base64
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from kv_sync.alerts import runner
from kv_sync.alerts.runner import AlertReport
from oie_core.settings import Settings
from tests.python.helpers.webhook_receiver import WebhookReceiver
from tests.python.kv.support import FakeClock

SECRET = "alerts-test-secret-0123456789abcdef"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"alerts-test-signing-key-32-bytes").decode()
HOUR = 3600.0
LOG_COLUMNS = (
    "alert_id, channel, lead_id, level, episode, status, attempts, epoch(next_attempt_at), "
    "last_error, epoch(delivered_at), payload"
)


@dataclass(frozen=True)
class Logged:
    alert_id: str
    channel: str
    lead_id: str
    level: str
    episode: int
    status: str
    attempts: int
    next_attempt_at: float | None
    last_error: str | None
    delivered_at: float | None
    payload: str


def clock_now() -> FakeClock:
    """A test clock that starts at the real time: webhook timestamps must be fresh for the
    standardwebhooks verifier, and the template's history was recorded just now."""
    return FakeClock(t=time.time())


@dataclass
class Warehouse:
    data_dir: Path

    @property
    def path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    def sql(self, text: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple]:
        con = duckdb.connect(str(self.path))
        try:
            con.execute("set TimeZone = 'UTC'")
            return con.execute(text, parameters).fetchall()
        finally:
            con.close()

    def history(self, versions: Mapping[str, Sequence[tuple[str, int, float]]]) -> None:
        """Replace the whole score history by these versions: per lead, (level, score,
        recorded at epoch seconds), each copying the rest of the lead's lead_profiles row."""
        con = duckdb.connect(str(self.path))
        try:
            con.execute("delete from lead_profiles_snapshot")
            for lead_id, steps in versions.items():
                for n, (level, score, at) in enumerate(steps):
                    self._add(con, lead_id, level, score, at, n)
        finally:
            con.close()

    def add_version(self, lead_id: str, level: str, score: int, at: float) -> None:
        con = duckdb.connect(str(self.path))
        try:
            (n,) = con.execute(
                "select count(*) from lead_profiles_snapshot where lead_id = ?", [lead_id]
            ).fetchone() or (0,)
            self._add(con, lead_id, level, score, at, n)
        finally:
            con.close()

    @staticmethod
    def _add(
        con: duckdb.DuckDBPyConnection, lead_id: str, level: str, score: int, at: float, n: int
    ) -> None:
        moment = datetime.fromtimestamp(at, UTC).replace(tzinfo=None)
        con.execute(
            "update lead_profiles_snapshot set dbt_valid_to = ? "
            "where lead_id = ? and dbt_valid_to is null",
            [moment, lead_id],
        )
        con.execute(
            "insert into lead_profiles_snapshot by name "
            "select * replace (? as engagement_level, ? as intent_score), "
            "? as dbt_scd_id, ? as dbt_updated_at, ? as dbt_valid_from, "
            "cast(null as timestamp) as dbt_valid_to "
            "from lead_profiles where lead_id = ?",
            [level, score, f"{lead_id}-v{n}", moment, moment, lead_id],
        )

    def log(self, **where: str) -> list[Logged]:
        if not self.sql(
            "select count(*) from information_schema.tables where table_name = 'oie_alert_log'"
        )[0][0]:
            return []
        clauses = " and ".join(f"{k} = ?" for k in where) or "true"
        rows = self.sql(
            f"select {LOG_COLUMNS} from oie_alert_log where {clauses} "
            "order by channel, lead_id, episode",
            list(where.values()),
        )
        return [Logged(*row) for row in rows]


def copy_template(template: Path, data_dir: Path) -> Warehouse:
    """The warehouse and the landing files it was built from (a later build reads both)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(template / "warehouse.duckdb", data_dir / "warehouse.duckdb")
    shutil.copytree(template / "landing", data_dir / "landing")
    return Warehouse(data_dir)


def alert_env(
    data_dir: Path,
    rx: WebhookReceiver | None,
    *,
    slack: bool = True,
    webhook: bool = False,
    **extra: str,
) -> dict[str, str]:
    env = {"OIE_DATA_DIR": str(data_dir), "OIE_TOKEN_SECRET": SECRET, "OIE_KV": "local"}
    if rx is not None and slack:
        env["OIE_ALERT_SLACK_WEBHOOK_URL"] = rx.slack_url
    if rx is not None and webhook:
        env["OIE_ALERT_WEBHOOK_URL"] = rx.webhook_url
        env["OIE_ALERT_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    env.update(extra)
    return env


def run_alerts(
    env: Mapping[str, str], clock: FakeClock, *, dry_run: bool = False, timeout_s: float = 10.0
) -> AlertReport:
    return runner.run(
        Settings.from_env(dict(env)), dry_run=dry_run, clock=clock, timeout_s=timeout_s
    )
