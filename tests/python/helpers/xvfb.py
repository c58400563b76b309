"""A private X server (Debian's Xvfb) for browsers without a headless mode (WebKitGTK's
MiniBrowser). Xvfb picks a free display itself (`-displayfd`), so parallel test workers
never race for one.

    with start_xvfb() as display:      # ":42"
        subprocess.run([...], env={**os.environ, "DISPLAY": display})
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

XVFB = "/usr/bin/Xvfb"


@contextlib.contextmanager
def start_xvfb(size: str = "1280x1024x24", timeout: float = 15.0) -> Iterator[str]:
    if not shutil.which(XVFB):
        pytest.fail(f"{XVFB} missing: run scripts/bootstrap.sh webkit (apt xvfb xauth)")
    read_fd, write_fd = os.pipe()
    # Its messages go to a file, read only on failure (a pipe nobody reads could fill up).
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            # -nolisten tcp: local clients only; no -auth file: any local client may connect,
            # which is what a throwaway server for one test worker needs.
            [XVFB, "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        os.close(write_fd)
        try:
            ready, _, _ = select.select([read_fd], [], [], timeout)
            number = os.read(read_fd, 64).decode().strip() if ready else ""
            if not number:
                proc.kill()
                proc.wait()
                log.seek(0)
                err = log.read().decode(errors="replace")
                pytest.fail(f"Xvfb did not start within {timeout}s: {err[-2000:]}")
            yield f":{number}"
        finally:
            os.close(read_fd)
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
