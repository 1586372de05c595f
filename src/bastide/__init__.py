"""Bastide: a sovereign platform for national health data."""

__version__ = "0.1.0"
