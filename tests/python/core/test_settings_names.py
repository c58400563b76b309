"""Each environment variable means one thing, and the data folder default lives in one place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oie_core.settings import REPO_ROOT, Settings, SettingsError, data_dir_from_env

BASE = {"OIE_TOKEN_SECRET": "a-test-secret-of-enough-length"}


@pytest.mark.parametrize(
    ("old", "names"),
    [
        ("OIE_BQ_METHOD", ("OIE_BQ_WRITE_METHOD", "OIE_BQ_AUTH_METHOD")),
        ("OIE_BQ_ENDPOINT", ("OIE_BQ_API_ENDPOINT",)),
    ],
)
def test_a_retired_name_fails_and_says_what_to_set(old: str, names: tuple[str, ...]) -> None:
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({**BASE, old: "storage"})
    assert old in str(exc.value)
    for name in names:
        assert name in str(exc.value)


def test_the_sink_and_dbt_read_different_variables(tmp_path: Path) -> None:
    env = {
        **BASE,
        "OIE_DATA_DIR": str(tmp_path),
        "OIE_BQ_WRITE_METHOD": "insert_all",
        "OIE_BQ_AUTH_METHOD": "oauth-secrets",  # dbt's; the sink must not read it
        "OIE_BQ_API_ENDPOINT": "http://127.0.0.1:9050",
    }
    settings = Settings.from_env(env)
    assert settings.bq_method == "insert_all"
    assert settings.bq_endpoint == "http://127.0.0.1:9050"
    profiles = (REPO_ROOT / "profiles.yml").read_text()
    assert "env_var('OIE_BQ_AUTH_METHOD'" in profiles
    assert "env_var('OIE_BQ_API_ENDPOINT'" in profiles
    assert "OIE_BQ_WRITE_METHOD" not in profiles


def test_the_data_folder_default_is_decided_once(tmp_path: Path) -> None:
    assert data_dir_from_env({}) == REPO_ROOT / "data"
    assert data_dir_from_env({"OIE_DATA_DIR": str(tmp_path)}) == tmp_path.resolve()
    assert Settings.from_env({**BASE, "OIE_DATA_DIR": str(tmp_path)}).data_dir == tmp_path
    from oie import warehouse

    assert warehouse.data_dir({"OIE_DATA_DIR": str(tmp_path)}) == tmp_path.resolve()
    assert warehouse.data_dir({}) == data_dir_from_env({})


def test_the_demo_points_its_own_environment_at_its_folder_and_leaves_ours_alone(
    tmp_path: Path,
) -> None:
    from oie.demo import demo_env

    before = dict(os.environ)
    env = demo_env(
        tmp_path,
        {
            **BASE,
            "OIE_TARGET": "bigquery",
            "OIE_FAULT": "sink-raise",
            "CLOUDFLARE_API_TOKEN": "a-real-token",  # would make OIE_KV default to cloudflare
            "OIE_HUBSPOT_TOKEN": "pat-a-real-account",  # its made-up leads are nobody's contacts
            "OIE_HUBSPOT_BASE_URL": "https://api.hubapi.com",
        },
    )
    assert dict(os.environ) == before
    assert env["OIE_DATA_DIR"] == str(tmp_path)
    assert env["OIE_LANDING_DIR"] == str(tmp_path / "landing")
    assert "OIE_TARGET" not in env and "OIE_FAULT" not in env
    assert Settings.from_env(env).data_dir == tmp_path.resolve()
    assert Settings.from_env(env).kv == "local"  # the demo never syncs to Workers KV
    assert Settings.from_env(env).hubspot_token is None  # nor to a CRM
    assert "OIE_HUBSPOT_BASE_URL" not in env
