"""The environment the suite runs in, and what a test hands to what it starts.

The suite runs on the documented defaults whatever the runner's shell holds: a dbt user's
`DBT_LOG_LEVEL_FILE` or `DBT_TARGET_PATH`, a Cloudflare user's `CLOUDFLARE_API_TOKEN` (which
makes `oie` choose Workers KV), Google credentials or a `THREADS` for gunicorn would
otherwise change what the tests build, where they write and how the server under test runs.
tests/python/conftest.py drops them (`drop_caller_settings`) before any test runs, in the
controller and in every worker; tests set what they assume. Kept: the suite's own knobs
(`SUITE_SETTINGS`).

`inherited_env()` is what a test hands to a process it starts: this process's environment,
without the OIE_ settings a test may have set for itself, but with the suite's dbt parse
cache (tests/python/conftest.py), which changes no result, only how often dbt parses the
project from scratch."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from oie.dbt_parse_cache import CACHE_ENV

# Read by the suite itself, never by the product.
SUITE_SETTINGS = frozenset(
    {CACHE_ENV, "OIE_TEST_BIN", "OIE_TEST_ARTIFACTS", "OIE_UPDATE_SCREENSHOT"}
)
# What the product, dbt, the Google and Cloudflare libraries and the ingest server
# (functions-framework's gunicorn, docs/ingest.md) read as configuration.
CALLER_SETTING_PREFIXES = (
    "OIE_",
    "DBT_",
    "CLOUDFLARE_",
    "GOOGLE_",
    "GCLOUD_",
    "CLOUDSDK_",
    "GUNICORN_",
)
CALLER_SETTING_NAMES = frozenset(
    {
        "STORAGE_EMULATOR_HOST",
        "BIGQUERY_EMULATOR_HOST",
        "WORKERS",
        "THREADS",
        "CLOUD_RUN_TIMEOUT_SECONDS",
        "THREADED_TIMEOUT_ENABLED",
        "LOG_EXECUTION_ID",
        "FUNCTION_TARGET",
        "FUNCTION_SOURCE",
        "FUNCTION_SIGNATURE_TYPE",
    }
)


def is_caller_setting(name: str) -> bool:
    return (
        name.startswith(CALLER_SETTING_PREFIXES) or name in CALLER_SETTING_NAMES
    ) and name not in SUITE_SETTINGS


def drop_caller_settings(environ: MutableMapping[str, str]) -> list[str]:
    """Remove the runner's own settings from `environ`; the names removed, sorted."""
    dropped = sorted(name for name in environ if is_caller_setting(name))
    for name in dropped:
        del environ[name]
    return dropped


def inherited_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OIE_") or k == CACHE_ENV}
