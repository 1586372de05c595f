"""Row ids as the API takes them: every id column is an INTEGER, 32 bits on PostgreSQL (64 on
SQLite), so a number past 2^31 - 1 names nothing on either. Checked where a request comes in:
PostgreSQL refuses such a number with an error, SQLite with an OverflowError past 2^63 (both 500s)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**31 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID)]  # an id a body names (ids start at 1)
