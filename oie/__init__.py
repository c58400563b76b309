"""Outbound Intent Engine: the `oie` command line (oie/commands/) and its logic modules.

Layers (docs/design.md): oie_core at the bottom, ingest_function above it, this package
above both; nothing below imports from here.
"""

__version__ = "0.1.0"
