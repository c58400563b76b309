"""Starts the PyPI `bqemulator` (a BigQuery stand-in backed by DuckDB) for offline smoke tests.

Run with the emulator's own venv: `.venv-bqemu/bin/python scripts/bqemulator_launcher.py start
--rest-port N --grpc-port M --ephemeral`. The emulator loads DuckDB's spatial extension at
start, which downloads it from the internet; no test needs GIS, so that step is disabled.
"""

from bqemulator.cli import main
from bqemulator.storage import engine

engine.DuckDBEngine._load_spatial = lambda self: None  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
