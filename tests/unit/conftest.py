"""Fixtures the unit tests share."""

from __future__ import annotations

import pytest

from bastide.workspaces.engine import DuckDBEngine


@pytest.fixture
def engine():
    """A small in-process DuckDB engine for hand-made tables and the analytics views."""
    e = DuckDBEngine(memory_limit="512MB", threads=1)
    yield e
    e.close()
