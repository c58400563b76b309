"""Settings: one typed object, clear errors, and a server that refuses to start on them."""

from __future__ import annotations

import subprocess

import pytest

from oie_core.settings import OriginPattern, Settings, SettingsError, parse_faults
from tests.python.helpers.servers import REPO


def test_defaults_for_local_dev_generate_and_keep_a_token_secret(tmp_path):
    s = Settings.from_env({"OIE_DATA_DIR": str(tmp_path)})
    assert s.sink == "local" and s.target == "local" and s.token_secret_generated
    assert s.landing_dir == tmp_path / "landing"
    assert (tmp_path / "token_secret").stat().st_mode & 0o777 == 0o600
    again = Settings.from_env({"OIE_DATA_DIR": str(tmp_path)})
    assert again.token_secret == s.token_secret  # the CLI and the server agree
    assert s.max_event_age_s == 7 * 86400 and s.max_batch_events == 100
    assert s.max_body_bytes == 65536 and s.ip_mode == "truncate"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OIE_SINK": "bigquery"}, "OIE_TOKEN_SECRET is not set"),
        ({"OIE_SINK": "bigquery", "OIE_TOKEN_SECRET": "x" * 20}, "OIE_BQ_PROJECT"),
        ({"OIE_TOKEN_SECRET": "short"}, "shorter than 16"),
        ({"OIE_SINK": "kafka"}, "OIE_SINK='kafka'"),
        ({"OIE_RATE_LIMIT": "lots"}, "OIE_RATE_LIMIT"),
        ({"OIE_MAX_EVENT_AGE": "a week"}, "OIE_MAX_EVENT_AGE"),
        ({"OIE_ALLOWED_ORIGINS": "site.example"}, "OIE_ALLOWED_ORIGINS"),
        ({"OIE_FAULT": "sink-explode"}, "OIE_FAULT"),
        ({"OIE_TRUSTED_PROXY": "x-forwarded-for"}, "OIE_TRUSTED_PROXY"),
        ({"OIE_IP_MODE": "encrypt"}, "OIE_IP_MODE"),
        ({"OIE_REDIRECT_HOSTS": "https://site.example/path"}, "OIE_REDIRECT_HOSTS"),
        ({"OIE_SCANNER_NETWORKS": "10.0.0.0/99"}, "OIE_SCANNER_NETWORKS"),
    ],
)
def test_invalid_settings_name_the_setting(tmp_path, env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        Settings.from_env({"OIE_DATA_DIR": str(tmp_path), **env})


def test_origin_patterns():
    any_port = OriginPattern.parse("http://127.0.0.1:*")
    assert any_port.regex.match("http://127.0.0.1:5173") and any_port.regex.match(
        "http://127.0.0.1"
    )
    assert not any_port.regex.match("http://127.0.0.10:80")
    sub = OriginPattern.parse("https://*.site.example")
    assert sub.regex.match("https://www.site.example")
    assert not sub.regex.match("https://evilsite.example") and not sub.regex.match(
        "https://site.example.evil.example"
    )
    exact = OriginPattern.parse("https://site.example/")
    assert exact.regex.match("https://site.example") and not exact.regex.match(
        "http://site.example"
    )


def test_fault_grammar():
    (a, b) = parse_faults("sink-503-next-3, deadletter-raise")
    assert (a.target, a.kind, a.count) == ("sink", "503", 3)
    assert (b.target, b.kind, b.count) == ("deadletter", "raise", None)


def test_the_server_refuses_to_start_with_a_clear_message(tmp_path):
    env = {"OIE_DATA_DIR": str(tmp_path), "OIE_SINK": "bigquery", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [
            str(REPO / ".venv/bin/functions-framework"),
            "--source",
            "ingest_function/main.py",
            "--target",
            "ingest",
            "--port",
            "0",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "configuration error: OIE_TOKEN_SECRET is not set" in proc.stderr
    assert "Traceback" not in proc.stderr
