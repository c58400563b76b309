"""The shared core: what the ingest function and the `oie` command line both need.

Settings, identity tokens, email hashing, the landing protocol and the raw-event schema.
It imports nothing from `ingest_function` or `oie` (docs/design.md "Layers").
"""
