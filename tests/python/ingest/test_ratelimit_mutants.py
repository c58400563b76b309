"""The token bucket (ingest_function/ratelimit.py) on a hand-driven clock: burst, refill,
cap, the Retry-After it advises and the memory it keeps. Written against the mutants
`make mutate` found alive (bench/results/mutation.md)."""

from __future__ import annotations

import pytest

from ingest_function.ratelimit import RateLimiter


class Clock:
    def __init__(self, now: float = 5000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def allowed(limiter: RateLimiter, key: str | None, tries: int) -> int:
    return sum(limiter.allow(key) for _ in range(tries))


def test_a_new_client_gets_one_minutes_worth_at_once():
    limiter = RateLimiter(3, clock=Clock())
    assert [limiter.allow("192.0.2.1") for _ in range(4)] == [True, True, True, False]


def test_the_bucket_refills_at_the_rate_per_minute():
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)  # one token every 20 s
    assert allowed(limiter, "192.0.2.1", 3) == 3
    clock.now += 19.9
    assert not limiter.allow("192.0.2.1")  # 0.995 of a token
    clock.now += 0.1  # a refusal costs nothing: 20 s since the bucket was emptied
    assert limiter.allow("192.0.2.1")
    assert not limiter.allow("192.0.2.1")
    clock.now += 40.0
    assert allowed(limiter, "192.0.2.1", 3) == 2


def test_refill_is_capped_at_one_minutes_worth():
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)
    assert allowed(limiter, "192.0.2.1", 3) == 3
    clock.now += 3600
    assert allowed(limiter, "192.0.2.1", 10) == 3


def test_clients_without_an_address_share_one_bucket():
    limiter = RateLimiter(2, clock=Clock())
    assert [limiter.allow(None), limiter.allow(""), limiter.allow(None)] == [True, True, False]
    assert limiter.allow("192.0.2.1")


def test_no_limit_when_the_rate_is_zero_or_less():
    for per_minute in (0, -5):
        limiter = RateLimiter(per_minute, clock=Clock())
        assert allowed(limiter, "192.0.2.1", 1000) == 1000
    assert RateLimiter(0, clock=Clock()).retry_after() == 60


@pytest.mark.parametrize(
    ("per_minute", "seconds"), [(60, 1), (120, 1), (30, 2), (7, 9), (1, 60), (2, 30)]
)
def test_retry_after_is_the_whole_seconds_until_one_token_is_back(per_minute, seconds):
    assert RateLimiter(per_minute, clock=Clock()).retry_after() == seconds


def test_memory_is_bounded_by_forgetting_buckets_that_refilled():
    """Past 100,000 known clients, the buckets that are full again are dropped (a full bucket
    and no bucket allow the same); a bucket still refilling is kept. There is no public view
    of the memory, so this one reads the count of buckets."""
    clock = Clock()
    limiter = RateLimiter(120, clock=clock)  # full again 60 s after its last use
    assert allowed(limiter, "198.51.100.1", 121) == 120  # emptied: must be remembered
    for i in range(100_000):
        limiter.allow(f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}")
    assert len(limiter._buckets) == 100_001  # nothing to forget yet: all in use
    clock.now += 59.0  # the emptied one is still refilling; the others too
    limiter.allow("203.0.113.1")  # one more client: 100,002 buckets, a prune, nothing full
    assert len(limiter._buckets) == 100_002
    clock.now += 1.5  # 60.5 s after the 100,000: full again. The emptied one: 60.5 s too
    limiter.allow("198.51.100.1")
    limiter.allow("203.0.113.2")  # past 100,000 again: prune
    assert len(limiter._buckets) == 3  # the three used within the last minute


def test_buckets_are_forgotten_only_past_100000_clients():
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)
    for i in range(100_000):
        limiter.allow(f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}")
    clock.now += 61.0  # every bucket is full again, none is forgotten yet
    limiter.allow("10.0.0.0")  # a known client: still 100,000 buckets, no prune
    assert len(limiter._buckets) == 100_000
    limiter.allow("192.0.2.1")  # the 100,001st: the full ones go
    assert len(limiter._buckets) == 2


def test_a_pruned_client_still_gets_only_its_budget():
    clock = Clock()
    limiter = RateLimiter(2, clock=clock)  # full again 60 s after its last use
    assert allowed(limiter, "198.51.100.7", 2) == 2
    for i in range(100_001):
        limiter.allow(f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}")
    # The prune ran while 198.51.100.7 was empty and refilling: it kept its (empty) bucket.
    assert not limiter.allow("198.51.100.7")
    clock.now += 30.0
    assert limiter.allow("198.51.100.7") and not limiter.allow("198.51.100.7")
