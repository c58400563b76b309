"""Where batches go: one small interface, the stores behind it, and the delivery rule.

Modules import in one line, never a loop: `base` (Batch, the Sink and DeadLetter
interfaces, errors) <- `landing`, `dead_letter`, `dead_letter_gcs`, `bigquery`, `faults`
(the stores and the OIE_FAULT wrappers) <- `delivery` (which store a setting means, and
`deliver()`).
Import from those modules directly; this file imports nothing.
"""
