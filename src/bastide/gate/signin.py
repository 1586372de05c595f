"""Signing in and following a one-time link: the steps the API and the pages both offer."""

from __future__ import annotations

import functools

import anyio
from fastapi import Request

from bastide.gate.auth import SESSION_COOKIE
from bastide.gate.request import platform_of, source_of
from bastide.identity import credentials, throttle
from bastide.identity import service as identity
from bastide.identity.models import User


def password_pool(app) -> anyio.CapacityLimiter:
    """The threads that check passwords. Argon2 costs tens of milliseconds of a core by design: in
    the pool serving every request, 200 wrong-password clients held all its threads and /health
    waited 25 s (issue 16). Here a storm queues for its own threads; the others stay free."""
    pool = getattr(app.state, "password_pool", None)
    if pool is None:  # made on first use, in the event loop (no await in between: one pool)
        pool = app.state.password_pool = anyio.CapacityLimiter(app.state.platform.settings.sign_in_threads)
    return pool


async def sign_in(request: Request, *, email: str, password: str, code: str) -> tuple[User, str]:
    """Check the three factors in the password pool; on success open a session."""
    return await anyio.to_thread.run_sync(
        functools.partial(_sign_in, request, email=email, password=password, code=code),
        limiter=password_pool(request.app))


def _sign_in(request: Request, *, email: str, password: str, code: str) -> tuple[User, str]:
    """Failures are committed before the error is raised, so the back-off counters and the audit
    trail keep them (IAM-04)."""
    platform = platform_of(request)
    with platform.db.unit_of_work() as session:
        result = identity.authenticate(session, keys=platform.keys, email=email, password=password, code=code,
                                       policy=throttle.policy_of(platform.settings), source=source_of(request))
        secret = credentials.open_session(session, user=result.user) if result.user else None
    if result.error is not None:
        raise result.error
    return result.user, secret


def end_session(request: Request) -> None:
    with platform_of(request).db.unit_of_work() as session:
        credentials.close_session(session, web=credentials.resolve_session(session, request.cookies[SESSION_COOKIE]))


def with_link(request: Request, secret: str, step):
    """Run one step of a link; a wrong password or code given with it is counted as a failed
    sign-in of its account, in a transaction of its own, before the refusal is raised."""
    platform = platform_of(request)
    try:
        with platform.db.unit_of_work() as session:
            return step(session)
    except identity.AuthenticationFailed as exc:
        if exc.code == "link_secret_wrong":
            with platform.db.unit_of_work() as session:
                credentials.link_failed(session, secret=secret, policy=throttle.policy_of(platform.settings))
        raise
