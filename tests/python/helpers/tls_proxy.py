"""A TLS front for a local HTTP server, as a load balancer is in production: https on
127.0.0.1 with a certificate from a throwaway CA (PyPI `trustme`), bytes passed through
unchanged to the plain-HTTP server behind it.

    with tls_front(backend_port, ca) as port:
        ...  # https://localhost:{port}/ reaches http://127.0.0.1:{backend_port}/
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import trustme


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def _serve(listener: socket.socket, ctx: ssl.SSLContext, backend_port: int) -> None:
    while True:
        try:
            raw, _ = listener.accept()
        except OSError:
            return  # closed
        try:
            client = ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()  # a failed handshake (a probe, a refused certificate)
            continue
        backend = socket.create_connection(("127.0.0.1", backend_port))
        for a, b in ((client, backend), (backend, client)):
            threading.Thread(target=_pump, args=(a, b), daemon=True).start()


@contextmanager
def tls_front(backend_port: int, ca: trustme.CA) -> Iterator[int]:
    """Serve TLS for `localhost` and 127.0.0.1 on a free port in front of backend_port."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    listener = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=_serve, args=(listener, ctx, backend_port), daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
