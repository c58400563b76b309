"""Outbound Intent Engine: shared Python code (tokens, hashing, landing files, CLI)."""

__version__ = "0.1.0"
