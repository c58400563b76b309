"""What can stop a sync, with the exit code the command line gives it (docs/cli.md): 2 for
something the user must fix (a rejected token, a namespace that does not exist), 1 for
something that may pass (Cloudflare unreachable, still rate limited, a locked warehouse).

Keys that fail one by one (too long, too big, still in `unsuccessful_keys`) stop nothing:
they are reported in the sync's result and retried on the next run.
"""

from __future__ import annotations


class KVError(Exception):
    exit_code = 1


class KVRejected(KVError):
    """Cloudflare refused who we are or what we named (401, 403, 404): retrying won't help."""

    exit_code = 2


class KVUnavailable(KVError):
    """The store or the warehouse did not answer in time; the next run picks up from the
    state recorded so far."""


class NothingBuilt(KVError):
    """No warehouse, or no edge_profiles in it, yet: nothing to sync. `oie run` skips its
    step with this line (a fresh install, a dbt Cloud job that has not built yet);
    `oie sync` says it and exits 1."""
