"""Reading ahead: the next bulk request is read from the warehouse and serialized on a
thread while the current one is on the wire, so a push costs the network's time and the
state's writes, not also the diff's. Requests are still sent, and their confirmations
recorded, one at a time and in order (kv_sync/sync.py)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()
_POLL_S = 0.1


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def ahead(items: Generator[T, None, None], depth: int = 1) -> Generator[T, None, None]:
    """Yield what `items` yields, produced by a thread at most `depth` items ahead. An error
    in `items` is raised here, where the next item would have been; when the consumer stops
    early (an error of its own, a kill of the sync), the producer stops and `items` is
    closed (its cursor released) before this returns."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(thing: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(thing, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(_Raised(exc))
        finally:
            items.close()

    producer = threading.Thread(target=produce, name="kv-sync-read-ahead", daemon=True)
    producer.start()
    try:
        while True:
            thing = handoff.get()
            if thing is _DONE:
                return
            if isinstance(thing, _Raised):
                raise thing.exc
            yield thing  # type: ignore[misc]
    finally:
        stop.set()
        producer.join()
