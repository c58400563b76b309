"""One place that turns expected failures into a one-line message and an exit code.

The Typer app runs with pretty exceptions off, so anything that escapes a command would
print a raw traceback. Commands wrap their body in `friendly_errors()`: expected errors
(`UserError`, unreadable files, a Ctrl-C) become `error: ...` on stderr and a non-zero
exit; truly unexpected errors still say what happened in one line, plus where to look.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from oie.errors import EXIT_BAD_INPUT, EXIT_FAILED, UserError
from oie_core.settings import SettingsError

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, exit_code: int = EXIT_BAD_INPUT) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", markup=True)
    return typer.Exit(exit_code)


@contextmanager
def friendly_errors() -> Iterator[None]:
    try:
        yield
    except (typer.Exit, typer.Abort, SystemExit, typer.BadParameter):
        raise
    except UserError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except SettingsError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        name = exc.filename if exc.filename is not None else ""
        raise fail(f"{exc.strerror or exc}: {name}".rstrip(": ")) from None
    except Exception as exc:
        # Unexpected: still one line; OIE_DEBUG=1 shows the traceback for bug reports.
        if os.environ.get("OIE_DEBUG"):
            raise
        kind = type(exc).__name__
        raise fail(f"{kind}: {exc} (set OIE_DEBUG=1 for the traceback)", EXIT_FAILED) from None


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of `friendly_errors` for Typer command functions."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with friendly_errors():
            return func(*args, **kwargs)

    return wrapper


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
