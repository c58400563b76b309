"""`oie forget` on the production stores: BigQuery (the PyPI `bqemulator` on 127.0.0.1,
behind a pass-through proxy that can answer a DELETE with BigQuery's own refusals) and a
gs:// dead letter (the GCS JSON API stand-in), through the real SDKs.

The leads go to raw_leads with `oie campaign create`, events to raw_events and
raw_rejected_events through the real ingest server (its first batch dead-lettered to
gs://); model tables of the kinds dbt builds (a stitched identity map, nested profiles)
are written beside them. The scan reads every table of the datasets and every object of
the bucket, as well as the data folder. The emulator cannot run the staging models' HMAC
(its sha256 of bytes differs from BigQuery's; the DuckDB build tests it), so the BigQuery
side of the build is checked by compiling against the emulator."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from oie import warehouse
from oie.forget import pending
from oie.forget.bigquery import BigQueryErasure
from oie.run import STEPS, RunOptions, run_steps
from oie_core.hashing import email_hashes
from oie_core.raw_schema import RAW_EVENTS, RAW_LEADS, RAW_REJECTED_EVENTS, RawTable
from oie_core.settings import Settings
from oie_core.tombstones import TombstoneKey
from tests.python.cli.conftest import Cli, cli_env
from tests.python.helpers.bq_refusals import Refusals, refusing_proxy
from tests.python.helpers.bqemulator import emulator_client, start_bqemulator
from tests.python.helpers.gcs_standin import GcsStandIn, running_gcs
from tests.python.helpers.servers import start_ingest_server
from tests.python.privacy.support import (
    Needle,
    needles_for,
    scan_files,
    scan_tables,
    tokens_from_links,
)
from tests.python.privacy.test_forget import (
    ADA,
    ADA_LAPTOP,
    ADA_PHONE,
    BOB_LAPTOP,
    event,
    form,
    track,
)

PROJECT, BUCKET = "oie-forget", "acme-oie"
SECRET = "tombstone-secret-for-tests-0123456789"
ADA_STITCHED = "ada-tablet-0004"  # known only from identity_map


@dataclass
class Cloud:
    url: str  # the proxy in front of the emulator
    grpc: str
    refusals: Refusals
    gcs: GcsStandIn


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    with (
        start_bqemulator(PROJECT, tmp_path_factory.mktemp("bqemu")) as emu,
        refusing_proxy(emu.url) as (url, refusals),
        running_gcs() as gcs,
    ):
        yield Cloud(url, f"127.0.0.1:{emu.grpc_port}", refusals, gcs)


@dataclass
class Setup:
    cli: Cli
    client: Any
    dataset: str
    ada: list[Needle]
    bob: list[Needle]
    tokens: dict[str, str]


@pytest.fixture
def setup(services: Cloud, tmp_path: Path) -> Setup:
    services.refusals.reset()  # the emulator is the module's; its refusals are each test's
    dataset = f"oie_{uuid.uuid4().hex[:8]}"
    client = emulator_client(services.url, PROJECT, dataset)
    for table in (RAW_EVENTS, RAW_REJECTED_EVENTS, RAW_LEADS):
        _create(client, dataset, table)
    work = tmp_path / "work"
    work.mkdir()
    env = cli_env(
        tmp_path / "data",
        OIE_SINK="bigquery",
        OIE_TARGET="bigquery",
        OIE_BQ_PROJECT=PROJECT,
        OIE_BQ_DATASET=dataset,
        OIE_BQ_API_ENDPOINT=services.url,
        OIE_BQ_GRPC_ENDPOINT=services.grpc,
        OIE_TOMBSTONE_SECRET=SECRET,
        OIE_DEAD_LETTER=f"gs://{BUCKET}/{dataset}",
        STORAGE_EMULATOR_HOST=services.gcs.url,
        OIE_BQ_AUTH_METHOD="oauth-secrets",
        OIE_BQ_TOKEN="fake",
        DBT_TARGET_PATH=str(tmp_path / "target"),
        DBT_LOG_PATH=str(tmp_path / "logs"),
    )
    cli = Cli(env, work)
    (work / "leads.csv").write_text(
        f"email,first_name,company\n{ADA},Ada,Analytical Engines\nbob@example.com,Bob,Builders\n"
    )
    made = cli("campaign", "create", "leads.csv", "-c", "Q4", "--landing-url", "https://a.example/")
    assert made.returncode == 0, made.stdout + made.stderr
    tokens = tokens_from_links(work / "q4-urls.csv")
    leads = {
        r[0]: r[1]
        for r in client.query(
            f"select lower(trim(email)), lead_id from {dataset}.raw_leads"
        ).result()
    }
    server_env = {
        k: v
        for k, v in env.items()
        if k.startswith(("OIE_", "STORAGE_")) and k not in ("OIE_DATA_DIR",)
    }
    server_env["OIE_FAULT"] = "sink-raise-next-1"  # the first batch goes to gs://
    with start_ingest_server(server_env, data_dir=tmp_path / "server") as srv:
        assert track(srv.url, event(ADA_PHONE, token=tokens["ada@example.com"])).ok
        assert track(srv.url, event(ADA_PHONE), form(ADA_PHONE)).ok
        assert track(srv.url, event(ADA_LAPTOP), form(ADA_LAPTOP)).ok
        bad = event(ADA_LAPTOP, "no_such_type")  # refused: a raw_rejected_events row
        assert track(srv.url, bad, event(BOB_LAPTOP, token=tokens["bob@example.com"])).ok
    assert services.gcs.names(BUCKET), "the first batch was dead-lettered to gs://"
    _models(client, dataset, leads)
    ada = needles_for(
        ADA,
        [tokens["ada@example.com"]],
        [ADA_PHONE, ADA_LAPTOP, ADA_STITCHED],
        [leads["ada@example.com"]],
    )
    bob = needles_for(
        "bob@example.com", [tokens["bob@example.com"]], [BOB_LAPTOP], [leads["bob@example.com"]]
    )
    return Setup(cli, client, dataset, ada, bob, tokens)


def _create(client: Any, dataset: str, table: RawTable) -> None:
    from google.cloud import bigquery

    fields = [bigquery.SchemaField(n, t, mode=m) for n, t, m in table.bigquery_schema()]
    client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.{table.name}", schema=fields))


def _models(client: Any, dataset: str, leads: dict[str, str]) -> None:
    """Tables of the shapes dbt builds: the identity map (the one place her tablet is
    linked to her), profiles with nested and repeated fields, and a raw copy of an event
    of the tablet."""
    from google.cloud import bigquery

    ada, bob = leads["ada@example.com"], leads["bob@example.com"]
    text = [bigquery.SchemaField(name, "STRING") for name in ("lead_id", "identifier_type")]
    _table_with(
        client,
        f"{dataset}.identity_map",
        [*text, bigquery.SchemaField("identifier", "STRING")],
        [
            {"lead_id": ada, "identifier_type": "visitor", "identifier": ADA_STITCHED},
            {"lead_id": bob, "identifier_type": "visitor", "identifier": BOB_LAPTOP},
        ],
    )
    contact = [bigquery.SchemaField("email_sha256", "STRING")]
    _table_with(
        client,
        f"{dataset}.lead_profiles",
        [
            bigquery.SchemaField("lead_key", "STRING"),
            bigquery.SchemaField("score", "INTEGER"),
            bigquery.SchemaField("visitors", "STRING", mode="REPEATED"),
            bigquery.SchemaField("contact", "RECORD", fields=contact),
        ],
        [
            {
                "lead_key": "k1",
                "score": 80,
                "visitors": [ADA_STITCHED],
                "contact": {"email_sha256": email_hashes(ADA)["sha256"].upper()},
            },
            {"lead_key": "k2", "score": 20, "visitors": [BOB_LAPTOP], "contact": {}},
        ],
    )
    tablet = {**event(ADA_STITCHED), "received_at": _now_iso(), "data": json.dumps({"a": 1})}
    tablet = {k: v for k, v in tablet.items() if k in RAW_EVENTS.names}
    assert client.insert_rows_json(f"{PROJECT}.{dataset}.raw_events", [tablet]) == []


def _table_with(client: Any, name: str, fields: list, rows: list[dict]) -> None:
    from google.cloud import bigquery

    client.create_table(bigquery.Table(f"{PROJECT}.{name}", schema=fields))
    assert client.insert_rows_json(f"{PROJECT}.{name}", rows) == []


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def scan_bigquery(client: Any, needles: list[Needle], *datasets: str) -> list[str]:
    """`dataset.table: label` for every table row that holds a needle."""
    hits = []
    for dataset in datasets:
        for table in client.list_tables(f"{PROJECT}.{dataset}"):
            rows = client.query(f"select * from `{PROJECT}.{dataset}.{table.table_id}`").result()
            text = "\n".join(repr(dict(r.items())) for r in rows).encode()
            for n in needles:
                value = n.value.lower().encode() if n.folded else n.value.encode()
                if value in (text.lower() if n.folded else text):
                    hits.append(f"{dataset}.{table.table_id}: {n.label}")
    return hits


def scan_gcs(gcs: GcsStandIn, needles: list[Needle]) -> list[str]:
    hits = []
    for name in gcs.names(BUCKET):
        data = gcs.data(BUCKET, name)
        for n in needles:
            if (
                (n.value.lower().encode() in data.lower())
                if n.folded
                else (n.value.encode() in data)
            ):
                hits.append(f"gs://{BUCKET}/{name}: {n.label}")
    return hits


def everywhere(s: Setup, services: Cloud, needles: list[Needle]) -> list[str]:
    data_dir = s.cli.data_dir
    return [
        *scan_bigquery(s.client, needles, s.dataset, "oie_private"),
        *scan_gcs(services.gcs, needles),
        *scan_files([data_dir], needles),
        *scan_tables(data_dir, needles),
    ]


def test_forget_erases_her_from_bigquery_and_gcs_and_keeps_her_out(
    setup: Setup, services: Cloud
) -> None:
    s = setup
    before = " ".join(everywhere(s, services, s.ada))
    for store in (
        "raw_events",
        "raw_rejected_events",
        "raw_leads",
        "identity_map",
        "lead_profiles",
    ):
        assert f".{store}: " in before, store
    assert f"gs://{BUCKET}/" in before and "tokens.sqlite" in before

    dry = s.cli("forget", "--email", ADA, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"BigQuery {s.dataset}.raw_events: would remove 5 row(s)" in dry.stdout
    assert " ".join(everywhere(s, services, s.ada)) == before  # nothing changed
    assert _pending(s) == []

    forgot = s.cli("forget", "--email", ADA)
    assert forgot.returncode == 0, forgot.stdout + forgot.stderr
    for line in forgot.stdout.splitlines():  # counts, never values
        assert "ada" not in line.lower(), line
    assert f"BigQuery {s.dataset}.raw_events: removed 5 row(s)" in forgot.stdout
    assert f"BigQuery {s.dataset}.identity_map: removed 1 row(s)" in forgot.stdout
    assert "dead letter: removed" in forgot.stdout
    assert everywhere(s, services, s.ada) == []
    bob = " ".join(everywhere(s, services, s.bob))  # nobody else went with her
    assert ".raw_events: " in bob and ".raw_leads: " in bob and ".identity_map: " in bob

    # The tombstones and their key are in BigQuery: keyed hashes only.
    key = TombstoneKey(SECRET)
    stones = {
        (r[0], r[1])
        for r in s.client.query(f"select kind, key_hash from {s.dataset}.raw_tombstones").result()
    }
    assert ("email", key.hash("email", ADA)) in stones
    assert ("visitor", key.hash("visitor", ADA_STITCHED)) in stones
    (pads,) = list(
        s.client.query("select inner_pad, outer_pad from oie_private.tombstone_key").result()
    )
    assert (pads[0], pads[1]) == (key.inner_pad.hex(), key.outer_pad.hex())
    # With the BigQuery sink a grace window is open; no identifier is kept for it.
    assert [d["kind"] for d in _pending(s)] == ["grace"]
    assert scan_bigquery(s.client, s.ada, "oie_private") == []

    # Her visitors come back to the production ingest function: nothing lands.
    server_env = {k: v for k, v in s.cli.env.items() if k.startswith(("OIE_", "STORAGE_"))}
    server_env.pop("OIE_DATA_DIR")
    with start_ingest_server(server_env, data_dir=s.cli.data_dir.parent / "server2") as srv:
        reply = track(srv.url, event(ADA_PHONE), event(ADA_STITCHED), event(BOB_LAPTOP))
        assert reply.status_code == 200 and reply.json()["accepted"] == 3
        assert requests.get(srv.url + "/health", timeout=10).json()["forgotten_dropped"] == 2
    assert scan_bigquery(s.client, s.ada, s.dataset) == []

    # A BigQuery build from here anti-joins the tombstones: dbt finds the key table.
    compiled = _compile(s, "stg_oie__events")
    assert "raw_tombstones" in compiled and "tombstone_key" in compiled

    second = s.cli("forget", "--email", ADA)
    assert second.returncode == 0, second.stderr
    assert "nothing held for this email" in second.stdout


def _compile(s: Setup, model: str) -> str:
    cmd = warehouse.dbt_command("compile", extra_args=["-s", model])
    env = {**s.cli.env, "OIE_BQ_API_ENDPOINT": s.cli.env["OIE_BQ_API_ENDPOINT"]}
    done = subprocess.run(
        cmd, cwd=warehouse.PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:]
    target = Path(env["DBT_TARGET_PATH"])
    (path,) = target.glob(f"compiled/**/{model}.sql")
    return path.read_text()


def _pending(s: Setup) -> list[dict]:
    """This test's pending erasures (the private dataset is shared by the module)."""
    settings = Settings.from_env(s.cli.env)
    rows = BigQueryErasure.from_settings(settings, {}).pending()
    mine = [
        d
        for _, d in rows
        if d.get("dataset") == s.dataset or str(d.get("tables", [""])[0]).startswith(s.dataset)
    ]
    return sorted(mine, key=lambda d: d["kind"])


def _raw_rows(s: Setup, table: str, visitor: str) -> int:
    sql = f"select count(*) from {s.dataset}.{table} where strpos(to_json_string(t), @v) > 0"
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(
        query_parameters=[bigquery.ScalarQueryParameter("v", "STRING", visitor)]
    )
    (row,) = list(s.client.query(sql.replace("where", "as t where"), job_config=config).result())
    return int(row[0])


def _run(s: Setup) -> subprocess.CompletedProcess[str]:
    """`oie run` without the build (the emulator cannot run the staging HMAC): the seal
    step retries what is pending."""
    return s.cli("run", "--skip-dbt", timeout=300)


def _seal(s: Setup) -> str:
    """The seal step of `oie run` (the one that retries), in this process: the steps
    after it would only repeat what `_run` shows once."""
    (result,) = run_steps(Settings.from_env(s.cli.env), RunOptions(), steps=STEPS[:1])
    assert result.status == "ok", result.detail
    return result.detail


def test_rows_in_the_streaming_buffer_stay_pending_until_oie_run_deletes_them(
    setup: Setup, services: Cloud
) -> None:
    s = setup
    services.refusals.refuse("streaming_buffer", "raw_events", times=1)
    forgot = s.cli("forget", "--email", ADA)
    assert forgot.returncode == 0, forgot.stdout + forgot.stderr
    assert services.refusals.refused == ["streaming_buffer raw_events"]
    assert (
        f"BigQuery {s.dataset}.raw_events: 5 row(s) pending: in BigQuery's streaming buffer"
        in forgot.stdout
    )
    assert _raw_rows(s, "raw_events", ADA_PHONE) == 2  # still there, hidden by tombstones
    assert f"BigQuery {s.dataset}.raw_leads: removed 1 row(s)" in forgot.stdout
    (refused,) = [d for d in _pending(s) if d["kind"] == "refused"]
    assert refused["tables"] == [f"{s.dataset}.raw_events"]

    run = _run(s)
    assert "5 row(s) of forgotten people deleted from BigQuery" in run.stdout, run.stdout
    assert _raw_rows(s, "raw_events", ADA_PHONE) == 0
    assert everywhere(s, services, s.ada) == []  # the needles went with the refusal
    assert [d["kind"] for d in _pending(s)] == ["grace"]
    assert scan_bigquery(s.client, s.ada, "oie_private") == []


def test_no_delete_permission_one_line_exit_1_and_pending(setup: Setup, services: Cloud) -> None:
    s = setup
    services.refusals.refuse("forbidden", "raw_leads")
    services.refusals.refuse("resources", "lead_profiles", times=1)  # any other failure
    forgot = s.cli("forget", "--email", ADA)
    assert forgot.returncode == 1, forgot.stdout + forgot.stderr
    (line,) = forgot.stderr.strip().splitlines()
    assert "BigQuery refused to delete from 1 table(s)" in line
    assert "bigquery.tables.updateData" in line and "ada" not in line.lower()
    assert f"BigQuery {s.dataset}.raw_leads: 1 row(s) pending: BigQuery refused" in forgot.stdout
    assert f"{s.dataset}.lead_profiles: 1 row(s) pending: BigQuery failed" in forgot.stdout
    assert f"BigQuery {s.dataset}.raw_events: removed 5 row(s)" in forgot.stdout
    left = {hit.split(":")[0] for hit in scan_bigquery(s.client, s.ada, s.dataset)}
    assert left == {f"{s.dataset}.raw_leads", f"{s.dataset}.lead_profiles"}

    still = _seal(s)  # refused again: the run goes on, the erasure stays pending
    assert "1 row(s) of forgotten people deleted from BigQuery" in still, still  # the profile
    assert "BigQuery erasure still pending in 1 table(s) (forbidden)" in still, still
    services.refusals.rules.clear()  # the permission is granted
    done = _seal(s)
    assert "1 row(s) of forgotten people deleted from BigQuery" in done, done
    assert everywhere(s, services, s.ada) == []


def test_events_landed_before_the_ingest_function_reloads_go_in_the_grace_pass(
    setup: Setup, services: Cloud
) -> None:
    s = setup
    forgot = s.cli("forget", "--visitor", ADA_PHONE)
    assert forgot.returncode == 0, forgot.stdout + forgot.stderr
    # An ingest instance that has not reloaded the tombstones yet lands one more event.
    late = {**event(ADA_PHONE), "received_at": _now_iso(), "data": json.dumps({"late": 1})}
    late = {k: v for k, v in late.items() if k in RAW_EVENTS.names}
    assert s.client.insert_rows_json(f"{PROJECT}.{s.dataset}.raw_events", [late]) == []
    assert _raw_rows(s, "raw_events", ADA_PHONE) == 1
    assert [d["kind"] for d in _pending(s)] == ["grace"]
    assert scan_bigquery(s.client, s.ada, "oie_private") == []  # no identifier kept

    sealed = _seal(s)
    assert "1 row(s) of forgotten people deleted from BigQuery" in sealed, sealed
    assert _raw_rows(s, "raw_events", ADA_PHONE) == 0
    assert _raw_rows(s, "raw_events", ADA_LAPTOP) == 2  # not forgotten: --visitor is one
    # The window closes once it has passed and a pass went through.
    settings = Settings.from_env(s.cli.env)
    erasure = BigQueryErasure.from_settings(settings, {})
    pending.retry(settings, erasure, now=time.time() + pending.GRACE_S + 1)
    assert _pending(s) == []
