"""The ingest Cloud Function: /track, /go, /identify, /personalize, /health (docs/ingest.md).

`main.py` only translates HTTP to plain calls into `service.Service`; every rule lives in a
small module here so tests can call it directly.
"""
