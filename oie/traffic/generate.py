"""Traffic written straight to landing files: the bundled demo sample and the warehouse
benchmark (1M-10M events) are made here, from the same journeys `oie simulate` sends.

The fictional leads of `cast` land first (as `oie campaign create` lands them); then the
journeys of `journeys` for those leads, as the collector would have landed them
(`landing_lines`). Output is deterministic for a seed and `end`, except file names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from oie.traffic.cast import lead_records, sim_lead
from oie.traffic.journeys import iter_journeys
from oie.traffic.landing_files import SealedFiles
from oie.traffic.landing_lines import LandingLines
from oie_core.iporg import NetworkLookup

SITE = "https://site.example"
LEADS_PER_VISITOR = 0.9  # most leads of a campaign never click; some click more than once


@dataclass
class Stats:
    leads: int = 0
    visitors: int = 0
    events: int = 0
    files: int = 0


def generate(
    landing_dir: Path,
    *,
    visitors: int,
    days: int,
    end: float,
    seed: int = 7,
    prefix: str = "traffic",
    networks: NetworkLookup | None = None,
    cast_seed: int | None = None,
) -> Stats:
    """Write leads and `visitors` journeys over the `days` days up to `end` (epoch s; its
    UTC day is the last of them): ≈ 15 events per visitor over a month. With `networks`
    (the collector's OIE_IP_ORG_DB), the events carry network fields. `cast_seed` (default
    `seed`) picks the leads: another generation's seed gives the first leads of its cast,
    same tokens and addresses, so the journeys are new traffic from leads already
    imported."""
    files = SealedFiles(landing_dir, prefix)
    created = end - days * 86400 - 86400  # the campaign was imported the day before
    records = list(
        lead_records(
            random.Random(f"{seed if cast_seed is None else cast_seed}:cast"),
            max(1, int(visitors * LEADS_PER_VISITOR)),
            created,
        )
    )
    for record in records:
        files.add("leads", created, record)
    today_start = (
        datetime.fromtimestamp(end, UTC)
        .replace(hour=0, minute=0, second=0, microsecond=0)
        .timestamp()
    )
    lines = LandingLines(random.Random(f"{seed}:delivery"), SITE, end, networks)
    for journey in iter_journeys(
        [sim_lead(r) for r in records],
        visitors=visitors,
        days=days,
        seed=seed,
        today_start=today_start,
        now=end,
        site=SITE,
    ):
        for received, record in lines.journey(journey):
            files.add("events", received, record)
    files.flush()
    return Stats(
        leads=len(records), visitors=visitors, events=files.lines["events"], files=files.files
    )
