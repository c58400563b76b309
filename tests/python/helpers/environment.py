"""The environment a test hands to what it starts: this process's, without the OIE_
settings of whoever runs the suite (each test sets the ones it assumes), but with the
suite's dbt parse cache (tests/python/conftest.py), which changes no result, only how
often dbt parses the project from scratch."""

from __future__ import annotations

import os

from oie.dbt_parse_cache import CACHE_ENV


def inherited_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OIE_") or k == CACHE_ENV}
