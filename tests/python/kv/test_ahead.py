"""The read-ahead under the sync: order kept, errors raised where they happened, and a
consumer that stops early stops the producer and closes its source (the diff's cursor)."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from kv_sync.ahead import ahead


def test_items_arrive_in_order_and_the_source_is_read_on_another_thread() -> None:
    threads: set[str] = set()

    def source() -> Generator[int, None, None]:
        for i in range(50):
            threads.add(threading.current_thread().name)
            yield i

    assert list(ahead(source(), depth=2)) == list(range(50))
    assert threads == {"kv-sync-read-ahead"}


def test_an_error_in_the_source_is_raised_after_the_items_before_it() -> None:
    def source() -> Generator[int, None, None]:
        yield 1
        yield 2
        raise OSError("the warehouse went away")

    got: list[int] = []
    with pytest.raises(OSError, match="went away"):
        for item in ahead(source()):
            got.append(item)
    assert got == [1, 2]


def test_a_consumer_that_stops_early_closes_the_source_and_leaves_no_thread() -> None:
    closed = threading.Event()
    produced: list[int] = []

    def source() -> Generator[int, None, None]:
        try:
            for i in range(1_000_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    before = threading.active_count()
    items = ahead(source(), depth=1)
    with pytest.raises(RuntimeError, match="request failed"):
        for item in items:
            if item == 3:
                raise RuntimeError("request failed")
    items.close()  # what leaving the for loop's frame does
    assert closed.is_set()
    assert len(produced) <= 6  # at most depth + a couple ahead, never the whole source
    assert threading.active_count() == before
