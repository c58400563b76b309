"""The page itself: Jinja2 (autoescaped) around the page data, the charts' SVG, the
script and the style, all inline, under a Content-Security-Policy that allows no network.

The leads and timelines go in as JSON inside `<script type="application/json">`, with
`<`, `>`, `&` and the two JavaScript line separators escaped, so nothing in the data can
close the element; the page's script reads it with JSON.parse and shows every value with
textContent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from oie.report.model import Page

TEMPLATES = Path(__file__).resolve().parent / "templates"
_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028"}
_JSON_ESCAPES["\u2029"] = "\\u2029"


def json_for_script(data: Any) -> str:
    """JSON that is safe between `<script type="application/json">` and `</script>`."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return "".join(_JSON_ESCAPES.get(ch, ch) for ch in text)


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def content_security_policy(script: str) -> str:
    """No network at all; only this page's own script (by hash) runs; inline style and
    data: images (the favicon) are the only other things allowed."""
    return (
        "default-src 'none'; "
        f"script-src 'sha256-{_sha256(script)}'; "
        "style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


CHARTS = ("components", "daily", "daily_more", "histogram", "moves", "events", "rejects")


def _trusted(value: Any) -> Any:
    """Chart SVG (checked by charts.safe_svg) goes in as markup; counts stay as they are."""
    if isinstance(value, str):
        return Markup(value)
    if isinstance(value, list):
        return [Markup(v) for v in value]
    return value


def html(page: Page, svgs: dict[str, Any]) -> tuple[str, str]:
    """The page and its Content-Security-Policy (served as a header too by `--serve`)."""
    charts = {name: _trusted(svgs.get(name)) for name in CHARTS}
    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    style = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    policy = content_security_policy(script)
    text = _environment.get_template("report.html.j2").render(
        page=page,
        svgs=charts,
        csp=policy,
        style=Markup(style),
        script=Markup(script),
        data=Markup(json_for_script(page.data)),
    )
    return text, policy


def write(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (a reader never sees half a page)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
