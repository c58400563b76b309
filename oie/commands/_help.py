"""Help texts written as wrapped paragraphs in the source, shown unwrapped.

Typer's rich help keeps the source's line breaks, so an 88-column paragraph turns ragged
in an 80-column terminal. `unwrap` joins each paragraph into one line (the terminal wraps
it) and leaves `\\b` blocks (examples, lists) exactly as written.
"""

from __future__ import annotations


def unwrap(text: str) -> str:
    out = []
    for block in text.strip("\n").split("\n\n"):
        if block.startswith("\b"):
            out.append(block)
        else:
            out.append(" ".join(line.strip() for line in block.splitlines()))
    return "\n\n".join(out) + "\n"
