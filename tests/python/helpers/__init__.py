"""Test helpers shared by every part's tests (e.g. starting the real ingest server)."""
