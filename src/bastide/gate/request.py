"""A request's platform, its unit of work, and the guard annotations routes declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bastide.gate.auth import Principal, guard
from bastide.identity.roles import Permission


def platform_of(request: Request):
    return request.app.state.platform


def unit_of_work(request: Request):
    """One transaction of domain work: committed when the block ends, rolled back on an error."""
    return platform_of(request).db.unit_of_work()


def who(*permissions: Permission, terms: bool = True):
    """The signed-in caller as a route parameter, holding one of `permissions` (any, if none named)."""
    return Annotated[Principal, Depends(guard(*permissions, terms=terms))]


def source_of(request: Request) -> str | None:
    """The caller's address (behind a TLS proxy, uvicorn --proxy-headers makes it the client's)."""
    return request.client.host if request.client else None
