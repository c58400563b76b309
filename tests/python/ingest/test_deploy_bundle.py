"""The deploy bundle installs into a clean venv and serves: nothing from the checkout needed."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import zipfile

import pytest

from oie.stack import wait_healthy
from tests.python.helpers.servers import REPO, free_port, http_call, stop_server

sys.path.insert(0, str(REPO / "deploy"))
import bundle


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundle")
    out = bundle.build_bundle(root / "upload")
    venv = root / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    # A venv without pip (fast), filled by the project's pip via --python: nothing from the
    # checkout or the main venv is visible to it.
    subprocess.run([base_python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    wheel = next((out / "wheels").glob("*.whl"))
    # Base install (local sink); the [bigquery] extra is what Cloud Build adds.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--disable-pip-version-check",
            "-c",
            str(REPO / "constraints.txt"),
            str(wheel),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    return out, venv


def test_bundle_layout_and_requirements(installed):
    out, _ = installed
    assert (out / "main.py").read_bytes() == (REPO / "ingest_function/main.py").read_bytes()
    reqs = (out / "requirements.txt").read_text().splitlines()
    (wheel_line,) = [r for r in reqs if r.startswith("./wheels/")]
    assert wheel_line.endswith(".whl[bigquery]")
    pins = bundle.pins()
    for line in reqs:
        if "==" in line:
            name, version = line.split("==")
            assert pins[name.lower()] == version  # same lock as the project
    with zipfile.ZipFile(next((out / "wheels").glob("*.whl"))) as zf:
        names = set(zf.namelist())
    assert "ingest_function/app.py" in names and "oie_core/tokens.py" in names
    assert "oie/cli.py" not in names  # slim: no CLI, no dbt


def test_clean_venv_imports_and_serves(installed, tmp_path):
    out, venv = installed
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "OIE_DATA_DIR": str(tmp_path / "data"),
        "OIE_TOKEN_SECRET": "bundle-test-secret-0123456789",
        "OIE_ALLOWED_ORIGINS": "http://127.0.0.1:*",
    }
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import oie_core, ingest_function.app as s; print(oie_core.__file__, s.__file__)",
        ],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert str(REPO) not in probe.stdout and str(venv) in probe.stdout
    port = free_port()
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [
                str(venv / "bin" / "functions-framework"),
                "--source",
                "main.py",
                "--target",
                "ingest",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=out,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, 60)
        now = int(time.time() * 1000)
        body = json.dumps(
            {
                "events": [
                    {
                        "event_id": "bundle-evt-1",
                        "type": "pageview",
                        "ts": now,
                        "visitor_id": "bundle-visitor",
                        "data": {},
                    }
                ],
                "meta": {"sent_at": now},
            }
        ).encode()
        reply = http_call(
            url + "/track",
            "POST",
            body,
            {"Origin": "http://127.0.0.1:3000", "Content-Type": "application/json"},
        )
        assert reply.status == 200, (tmp_path / "server.log").read_text()
    finally:
        stop_server(proc)
    sealed = list((tmp_path / "data" / "landing" / "events").glob("*/*/*.ndjson"))
    assert len(sealed) == 1
    assert json.loads(sealed[0].read_text())["event_id"] == "bundle-evt-1"
    assert os.path.exists(out / "wheels")


def test_deploy_script_dry_run(tmp_path):
    proc = _dry_run(
        tmp_path,
        tables=True,
        OIE_ALLOWED_ORIGINS="https://www.acme.example,https://acme.example",
        OIE_DEAD_LETTER="gs://acme-oie/dead-letter",
        OIE_TOKEN_SECRET="must-not-leak-into-env-file",
        OIE_TOMBSTONE_SECRET="must-not-leak-either-0123",
        OIE_FAULT="sink-raise",
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "dbt run-operation oie_create_raw_tables --target bigquery" in out
    for flag in (
        "functions deploy oie-ingest",
        "--gen2",
        "--runtime python311",
        "--entry-point ingest",
        f"--source {tmp_path / 'bundle'}",
        "--ingress-settings internal-and-gclb",
    ):
        assert flag in out, flag
    # The command as the shell would run it (the printed line is quoted with printf %q).
    (deploy,) = [shlex.split(ln[1:]) for ln in out.splitlines() if "functions deploy" in ln]
    assert deploy[deploy.index("--set-secrets") + 1] == (
        "OIE_TOKEN_SECRET=oie-token-secret:latest,OIE_TOMBSTONE_SECRET=oie-tombstone-secret:latest"
    )
    env_file = (tmp_path / "ingest-env.yaml").read_text()
    assert 'OIE_ALLOWED_ORIGINS: "https://www.acme.example,https://acme.example"' in env_file
    assert 'OIE_SINK: "bigquery"' in env_file
    assert "must-not-leak" not in env_file and "OIE_FAULT" not in env_file
    assert (tmp_path / "bundle" / "requirements.txt").is_file()


def _dry_run(tmp_path, tables: bool = False, **extra: str) -> subprocess.CompletedProcess[str]:
    """deploy.sh --dry-run with a production-like environment (and `extra` on top)."""
    env = {
        "PATH": os.environ["PATH"],
        "OIE_BQ_PROJECT": "acme-prod",
        "OIE_BQ_DATASET": "oie_raw",
        "OIE_ALLOWED_ORIGINS": "https://www.acme.example",
        "OIE_REDIRECT_HOSTS": "www.acme.example",
        "BUNDLE_DIR": str(tmp_path / "bundle"),
        "PYTHON": sys.executable,
        **extra,
    }
    flags = ["--dry-run"] if tables else ["--dry-run", "--skip-tables"]
    return subprocess.run(
        ["bash", "deploy/deploy.sh", *flags],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_ships_the_network_databases_inside_the_upload_folder(tmp_path):
    from tests.python.helpers import network_dbs

    asn = network_dbs.geolite2_asn(tmp_path / "dbs")
    isp = network_dbs.geoip2_isp(tmp_path / "dbs")
    proc = _dry_run(tmp_path, OIE_IP_ORG_DB=f"{asn}, {isp}")
    assert proc.returncode == 0, proc.stderr
    shipped = tmp_path / "bundle" / "ip-org"
    assert (shipped / asn.name).read_bytes() == asn.read_bytes()
    assert (shipped / isp.name).is_file()
    env_file = (tmp_path / "ingest-env.yaml").read_text()
    assert 'OIE_IP_ORG_DB: "ip-org/GeoLite2-ASN.mmdb,ip-org/GeoIP2-ISP.mmdb"' in env_file
    assert str(tmp_path) not in env_file  # the function never sees this machine's paths


def test_deploy_refuses_geoip2fast_and_a_missing_database(tmp_path):
    proc = _dry_run(tmp_path, OIE_IP_ORG_DB="geoip2fast")
    assert proc.returncode == 2 and "evaluation only" in proc.stderr
    proc = _dry_run(tmp_path, OIE_IP_ORG_DB=str(tmp_path / "nope.mmdb"))
    assert proc.returncode == 2 and "nope.mmdb: no such file" in proc.stderr
