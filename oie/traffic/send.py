"""Send planned journeys: earlier days in-process (in time order), today's over HTTP.

Today's sessions are sent the way the pixel flushes a queued page: events keep the times
they happened (`ts` minutes ago) and `meta.sent_at` is the real send time, so the server's
skew correction leaves them where they were.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from oie.traffic.http_sender import HttpSender
from oie.traffic.model import Action, Click, Journey, SimStats, TrackBatch
from oie_core.settings import Settings


def send_journeys(
    journeys: list[Journey],
    *,
    today_start: float,
    endpoint: str | None,
    site: str,
    threads: int = 8,
    progress: Callable[[int], None] | None = None,
    settings: Settings | None = None,
) -> SimStats:
    """Earlier-day actions in-process (in time order), then today's through HTTP.

    `settings` configure the in-process ingest code (default: from the environment)."""
    stats = SimStats()
    for j in journeys:
        stats.visitors[j.persona] += 1
    past: list[Action] = []
    today: list[list[Action]] = []
    for j in journeys:
        earlier = [a for a in j.actions if a.at < today_start]
        later = [a for a in j.actions if a.at >= today_start]
        past.extend(earlier)
        if later:
            today.append(later)
    past.sort(key=lambda a: a.at)
    done = 0
    if past:
        # Imported here: the ingest code takes a second to import, and every `oie` command
        # imports this module while the CLI starts.
        from oie.traffic.in_process import InProcessSender

        sender = InProcessSender(site, stats, settings)
        try:
            for action in past:
                if isinstance(action, Click):
                    sender.go(action)
                else:
                    sender.track(action)
                done += 1
                if progress is not None and done % 200 == 0:
                    progress(done)
        finally:
            sender.close()
    if today:
        if endpoint is None:
            raise ValueError("today's traffic needs a running server: pass --endpoint")
        http_sender = HttpSender(endpoint, site, stats)
        lock = threading.Lock()

        def run(actions: list[Action]) -> None:
            nonlocal done
            # The server stamps a /go click with its own clock, so a visit that starts with
            # a click today is replayed ending now (click first, then its pages, whose
            # events keep their relative times). Other visits keep their planned times,
            # pulled back if they would end in the future.
            end = max(a.at for a in actions)
            late = time.time() - end
            shift = late if any(isinstance(a, Click) for a in actions) else min(0.0, late)
            for action in actions:
                if isinstance(action, Click):
                    http_sender.go(action)
                else:
                    http_sender.track(_shifted(action, shift))
            with lock:
                done += len(actions)
                if progress is not None:
                    progress(done)

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(run, today))
    if progress is not None:
        progress(done)
    return stats


def _shifted(batch: TrackBatch, shift_s: float) -> TrackBatch:
    if not shift_s:
        return batch
    delta = int(shift_s * 1000)
    events = [{**e, "ts": e["ts"] + delta} for e in batch.events]
    return TrackBatch(batch.at + shift_s, events, batch.user_agent, batch.ip)
