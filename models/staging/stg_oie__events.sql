-- One row per landed event line: renamed and typed, nothing else. Duplicates (at-least-once
-- landing) and invalid rows are handled downstream. A forgotten visitor or token is dropped
-- here (macros/tombstones.sql). The SQL is macros/staged_events.sql, which the local
-- scheduled run's dedupe also renders over the landing days it reads.

{{ oie_staged_events() }}
