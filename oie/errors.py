"""Expected failures of the command line's logic: a message the user can act on, and an exit code.

Logic modules raise `UserError`; the command layer (`oie/commands/_errors.py`) turns it into
one line on stderr and the exit code. Kept at the bottom of `oie/` so every logic module can
raise it without importing a command.
"""

from __future__ import annotations

# Exit codes: 1 a step failed at run time, 2 bad input (Click uses 2 for usage errors too),
# 75 (EX_TEMPFAIL) another run holds the lock: try again later.
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BUSY = 75


class UserError(Exception):
    """An expected problem the user can fix; the message is shown as-is."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.exit_code = exit_code
