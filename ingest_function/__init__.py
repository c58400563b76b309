"""The ingest Cloud Function: /track, /go, /identify, /personalize, /health (docs/ingest.md).

`main.py` only translates HTTP to plain calls into `app.Service`, which routes each path to
its module in `endpoints/`; every rule lives in a small module here so tests can call it
directly. Imports go down only: oie_core and third-party packages, never `oie` (the CLI).
"""
