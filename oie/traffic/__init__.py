"""The one traffic generator: visitor journeys on the example site, and two ways out.

- `catalogue`: the site's pages and what kind each is, user agents, referrers;
- `model`: what a journey is made of (email clicks, `/track` batches) and the send tally;
- `visit`: one session on the site as the pixel would report it;
- `journeys`: who visits (leads, forwarded links, anonymous visitors, bots, link scanners)
  and when, a pure function of the seed;
- `scripted`: one session with every number given (tests, benchmarks);
- `http_sender`, `in_process`, `send`: the journeys through a running collector, or
  through the same ingest code in-process with a simulated clock (`oie simulate`, `oie demo`);
- `cast`, `landing_lines`, `generate`: the same journeys written straight to landing files
  as the collector would have landed them (the bundled sample, the warehouse benchmark).
"""
