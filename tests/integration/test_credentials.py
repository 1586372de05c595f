"""Session and token lifetimes (IAM-05, IAM-06): idle and absolute limits, expiry, revocation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bastide.db import utcnow
from bastide.errors import InvalidInput, NotFound
from bastide.identity import credentials
from bastide.identity import service as identity
from bastide.platform import operator_actor


@pytest.fixture
def user_id(platform):
    with platform.db.unit_of_work() as s:
        org = identity.create_organisation(s, actor=operator_actor(), name="Labo", sector="private")
        user = identity.create_user(s, actor=operator_actor(), email="r@labo.example", name="R", organisation=org,
                                    roles={"researcher"}, end_of_rights=date.today() + timedelta(days=30))
        user.mfa_confirmed = True
        return user.id


def test_sessions_end_when_idle_or_too_old(platform, user_id):
    start = utcnow()
    with platform.db.unit_of_work() as s:
        secret = credentials.open_session(s, user=s.get(identity.User, user_id), now=start)
    minute = timedelta(minutes=1)
    with platform.db.unit_of_work() as s:  # used every 20 minutes: stays open for the working day
        for step in range(1, 30):
            credentials.resolve_session(s, secret, now=start + step * 20 * minute)
    with platform.db.unit_of_work() as s, pytest.raises(credentials.NotAuthenticated):
        credentials.resolve_session(s, secret, now=start + credentials.SESSION_MAX)  # absolute limit
    with platform.db.unit_of_work() as s:
        idle = credentials.open_session(s, user=s.get(identity.User, user_id), now=start)
    with platform.db.unit_of_work() as s, pytest.raises(credentials.NotAuthenticated):
        credentials.resolve_session(s, idle, now=start + credentials.SESSION_IDLE)
    with platform.db.unit_of_work() as s, pytest.raises(credentials.NotAuthenticated):
        credentials.resolve_session(s, "forged", now=start)


def test_a_closed_session_is_over(platform, user_id):
    with platform.db.unit_of_work() as s:
        secret = credentials.open_session(s, user=s.get(identity.User, user_id))
    with platform.db.unit_of_work() as s:
        credentials.close_session(s, web=credentials.resolve_session(s, secret))
    with platform.db.unit_of_work() as s, pytest.raises(credentials.NotAuthenticated):
        credentials.resolve_session(s, secret)


def test_tokens_expire_and_are_owned(platform, user_id):
    with platform.db.unit_of_work() as s:
        user = s.get(identity.User, user_id)
        with pytest.raises(InvalidInput, match="name"):
            credentials.create_token(s, user=user, name=" ", scopes=["application:create"], days=1)
        token, secret = credentials.create_token(s, user=user, name="ci", scopes=["application:create"], days=1)
        token_id = token.id
    with platform.db.unit_of_work() as s:
        _, actor = credentials.resolve_token(s, secret)
        assert actor.scopes == frozenset({"application:create"}) and actor.roles == frozenset({"researcher"})
    with platform.db.unit_of_work() as s, pytest.raises(credentials.NotAuthenticated):
        credentials.resolve_token(s, secret, now=utcnow() + timedelta(days=1, seconds=1))
    with platform.db.unit_of_work() as s:
        other = identity.create_user(s, actor=operator_actor(), email="o@labo.example", name="O",
                                     organisation=s.get(identity.User, user_id).organisation, roles={"researcher"},
                                     end_of_rights=date.today() + timedelta(days=30))
        with pytest.raises(NotFound):  # another's token is as good as absent
            credentials.revoke_token(s, user=other, token_id=token_id)
