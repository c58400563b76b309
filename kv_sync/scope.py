"""Which keys a diff compares: every key, or only the keys of the leads changed since the
last complete sync of that destination.

A key's value depends on its lead's row of `lead_profiles` and on the lead's linked
visitors. The dbt view `edge_profile_changes` stamps every change of either (a lead row
rewritten, a visitor linked, moved or gone: `changed_at`), so once a sync has sent its
whole diff, the next one need only compare the keys of the leads changed after the newest
stamp that sync had seen, plus the keys about to expire. Every key is compared instead
when that cannot be trusted: no complete sync yet (or `--reconcile`), another
`edge_profiles` definition (`oie_edge_min_level` changed, a new version), keys whose lead
the state does not know, or more changed leads than a narrow diff is worth.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

# Above this many changed leads a narrow diff (their ids are part of the query) is no
# cheaper than comparing every key: a day's rescoring, a lead list re-imported whole.
MAX_NARROW_LEADS = 10_000


@dataclass(frozen=True)
class Mark:
    """Where a destination's next diff may start: the newest change a complete sync had
    seen, and the `edge_profiles` definition it diffed (a fingerprint)."""

    synced_through: datetime | None
    profiles_sql: str


@dataclass(frozen=True)
class Scope:
    """What one diff compares: `leads` (None: every key), and the mark to record once the
    diff was sent whole (None: the warehouse has no `edge_profile_changes` to start from)."""

    leads: tuple[str, ...] | None
    next_mark: Mark | None

    @property
    def every_key(self) -> bool:
        return self.leads is None


def fingerprint(definition: str) -> str:
    return hashlib.md5(definition.encode()).hexdigest()


def choose(
    *,
    stored: Mark | None,
    current: Mark,
    unowned_keys: Callable[[], int],
    changed_leads: Callable[[datetime], Sequence[str]],
) -> Scope:
    """The scope of the next diff: narrow when the stored mark is usable (the callables are
    only called then)."""
    if (
        stored is None
        or stored.synced_through is None
        or stored.profiles_sql != current.profiles_sql
        or unowned_keys()
    ):
        return Scope(None, current)
    leads = changed_leads(stored.synced_through)
    if len(leads) > MAX_NARROW_LEADS:
        return Scope(None, current)
    return Scope(tuple(sorted(leads)), current)
