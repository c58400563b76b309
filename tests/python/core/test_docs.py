"""Every link in the README and docs resolves, every cited doc exists, and nothing in the
repository points outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
DOC_PATH = re.compile(r"\bdocs/[A-Za-z0-9_-]+\.md\b")


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [REPO / p for p in out if (REPO / p).is_file()]


def text_files() -> list[Path]:
    binary = {".gz", ".webm", ".png", ".jpg", ".duckdb", ".whl"}
    return [p for p in tracked_files() if p.suffix not in binary]


def markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_every_relative_link_in_readme_and_docs_resolves():
    broken = []
    for doc in markdown_files():
        for target in LINK.findall(doc.read_text()):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            path = (doc.parent / target.split("#", 1)[0]).resolve()
            if not path.exists():
                broken.append(f"{doc.relative_to(REPO)} -> {target}")
    assert broken == []


def test_every_cited_doc_exists():
    missing = []
    for path in text_files():
        for cited in set(DOC_PATH.findall(path.read_text(errors="replace"))):
            if not (REPO / cited).is_file():
                missing.append(f"{path.relative_to(REPO)} cites {cited}")
    assert missing == []


def test_nothing_points_outside_the_repository():
    outside = []
    # Spelled in pieces so this file does not match itself.
    sibling_folder = ".." + "/" + "shared"
    old_design = re.compile(r"\b" + "DESIGN" + r"\.md\b")
    for path in text_files():
        text = path.read_text(errors="replace")
        if sibling_folder in text or old_design.search(text):
            outside.append(str(path.relative_to(REPO)))
    assert outside == []


def test_the_design_document_names_every_layer_the_layer_test_enforces():
    from tests.python.core.test_layers import LAYERS

    design = (REPO / "docs" / "design.md").read_text()
    for package in LAYERS:
        assert f"`{package}/`" in design
