"""The visitor's own word on being tracked, as the request carries it."""

from __future__ import annotations

from ingest_function.web import HttpRequest


def gpc(req: HttpRequest) -> bool:
    """Global Privacy Control (`Sec-GPC: 1`): the person refuses being tracked or sold.
    /track lands nothing; /go still redirects and counts the click, without a visitor."""
    return (req.headers.get("Sec-GPC") or "").strip() == "1"
