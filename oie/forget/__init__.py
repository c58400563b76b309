"""`oie forget`: erase one person from every store (docs/privacy.md).

person.py resolves who they are; files.py and databases.py take them out of each store;
engine.py runs it in order; oie_core/erasure_pending.py finishes the landing files a live
writer held.
"""

from oie.forget.engine import (
    ForgetError,
    ForgetIncomplete,
    ForgetReport,
    StoreResult,
    forget,
    forget_under_lock,
)
from oie.forget.person import Selector, SelectorError

__all__ = [
    "ForgetError",
    "ForgetIncomplete",
    "ForgetReport",
    "Selector",
    "SelectorError",
    "StoreResult",
    "forget",
    "forget_under_lock",
]
