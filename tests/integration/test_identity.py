"""Accounts: IAM-02 mandatory MFA, IAM-04 lockout, IAM-05 Argon2id, IAM-06 end of rights, IAM-07 SoD."""

from __future__ import annotations

from datetime import date, timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from bastide.audit.models import AuditEvent
from bastide.config import Settings
from bastide.db import utcnow
from bastide.errors import Conflict, InvalidInput
from bastide.identity import resets, throttle
from bastide.identity import service as identity
from bastide.identity.models import LoginThrottle
from bastide.identity.policy import Forbidden, check_permission, has_permission
from bastide.identity.roles import Permission
from bastide.platform import Platform, operator_actor
from bastide.statemachine import Actor

PASSWORD = "correct horse battery staple"


@pytest.fixture
def platform(tmp_path, database_url):
    p = Platform(Settings(home=tmp_path, database_url=database_url))
    p.init(operator_actor())
    yield p
    p.close()


def _user(platform, email="alice@inserm.example", roles=("researcher",), until=None):
    with platform.db.unit_of_work() as s:
        org = identity.find_organisation(s, "INSERM") or identity.create_organisation(
            s, actor=operator_actor(), name="INSERM", sector="public")
        identity.create_user(s, actor=operator_actor(), email=email, name="Alice", organisation=org, roles=set(roles),
                             end_of_rights=until or date.today() + timedelta(days=365), password=PASSWORD)
        user = identity.get_user(s, email)
        enrolment = identity.enrol_mfa(s, keys=platform.keys, actor=operator_actor(), user=user)
    secret = pyotp.parse_uri(enrolment.uri).secret
    when = utcnow() - timedelta(seconds=60)
    with platform.db.unit_of_work() as s:
        identity.confirm_mfa(s, keys=platform.keys, actor=operator_actor(), user=identity.get_user(s, email),
                             code=pyotp.TOTP(secret).at(when), now=when)
    return secret, enrolment.recovery_codes


def _login(platform, code, password=PASSWORD, email="alice@inserm.example", now=None, source=None):
    with platform.db.unit_of_work() as s:
        result = identity.authenticate(s, keys=platform.keys, email=email, password=password, code=code,
                                       policy=throttle.policy_of(platform.settings), source=source, now=now)
        return result.error.code if result.error else "ok"


def test_login_needs_password_and_current_code_once(platform):
    secret, _ = _user(platform)
    now = utcnow()
    code = pyotp.TOTP(secret).at(now)
    assert _login(platform, code, password="wrong password!", now=now) == "authentication_failed"
    assert _login(platform, code, now=now) == "ok"
    assert _login(platform, code, now=now) == "authentication_failed"  # a replayed code is refused


def test_recovery_code_works_once(platform):
    _secret, codes = _user(platform)
    assert _login(platform, codes[0]) == "ok"
    assert _login(platform, codes[0]) == "authentication_failed"


def test_failures_back_off_instead_of_locking_and_unlock_clears_them(platform):  # IAM-04, issue 13
    secret, _ = _user(platform)
    now = utcnow()
    for _ in range(platform.settings.auth_max_failures):
        assert _login(platform, "000000", password="not the password", now=now) == "authentication_failed"
    good = pyotp.TOTP(secret).at(now)
    assert _login(platform, good, now=now) == "too_many_attempts"  # even the right secrets wait
    assert _login(platform, good, now=now + timedelta(seconds=2)) == "ok"  # then it opens: nobody is locked out
    later = [now + timedelta(hours=i + 1) for i in range(platform.settings.auth_max_failures + 3)]
    for when in later:  # each failure past the free ones doubles the wait (tries made while waiting do not count)
        assert _login(platform, "000000", password="not the password", now=when) == "authentication_failed"
    with platform.db.unit_of_work() as s:
        waits = s.get(LoginThrottle, "account:alice@inserm.example").blocked_until - later[-1]
    assert waits == timedelta(seconds=2 ** 3)
    with platform.db.unit_of_work() as s:
        identity.unlock_user(s, actor=operator_actor(), user=identity.get_user(s, "alice@inserm.example"))
    assert _login(platform, pyotp.TOTP(secret).at(later[-1]), now=later[-1]) == "ok"


def test_the_back_off_is_capped(platform):
    _user(platform)
    platform.settings.auth_backoff_max_seconds = 60
    now = utcnow()
    for i in range(20):
        _login(platform, "000000", password="not the password", now=now + timedelta(hours=i))
    with platform.db.unit_of_work() as s:
        row = s.get(LoginThrottle, "account:alice@inserm.example")
    assert row.blocked_until - (now + timedelta(hours=19)) == timedelta(seconds=60)


def test_end_of_rights_and_disabled_accounts_cannot_log_in(platform):  # IAM-06
    secret, _ = _user(platform, until=date.today() + timedelta(days=1))
    later = utcnow() + timedelta(days=3)
    assert _login(platform, pyotp.TOTP(secret).at(later), now=later) == "account_expired"
    with platform.db.unit_of_work() as s:
        identity.disable_user(s, actor=operator_actor(), user=identity.get_user(s, "alice@inserm.example"),
                              reason="left the project")
    assert _login(platform, pyotp.TOTP(secret).now()) == "account_disabled"


def test_no_login_without_confirmed_mfa_said_only_to_who_knows_the_password(platform):  # IAM-01, IAM-02
    _user(platform)
    with platform.db.unit_of_work() as s:
        resets.reset(s, settings=platform.settings, actor=operator_actor(),
                     user=identity.get_user(s, "alice@inserm.example"), kind="mfa")
    assert _login(platform, "123456") == "mfa_not_enrolled"
    assert _login(platform, "123456", password="a wrong password") == "authentication_failed"


def test_unknown_user_gets_the_same_answer(platform):
    assert _login(platform, "123456", email="nobody@example.org") == "authentication_failed"


def test_password_is_argon2id_and_secret_is_wrapped(platform):  # IAM-05, KEY-04
    secret, _ = _user(platform)
    with platform.db.unit_of_work() as s:
        user = identity.get_user(s, "alice@inserm.example")
        assert user.password_hash.startswith("$argon2id$")
        assert secret.encode() not in user.mfa_secret_wrapped


def test_separation_of_duties_and_bad_input(platform):  # IAM-07
    with platform.db.unit_of_work() as s:
        org = identity.create_organisation(s, actor=operator_actor(), name="CHU", sector="public")
    bad = [
        dict(roles={"researcher", "data_operator"}),
        dict(roles={"researcher", "output_checker"}),
        dict(roles={"wizard"}),
        dict(roles={"researcher"}, end_of_rights=date.today() - timedelta(days=1)),
        dict(roles={"researcher"}, password="short"),
        dict(roles={"researcher"}, email="not-an-email"),
    ]
    for kwargs in bad:
        args = {"email": "bob@chu.example", "name": "Bob", "organisation": org,
                "end_of_rights": date.today() + timedelta(days=30), **kwargs}
        with platform.db.unit_of_work() as s, pytest.raises(InvalidInput):
            identity.create_user(s, actor=operator_actor(), **args)


def test_only_administrators_manage_accounts(platform):  # deny by default
    researcher = Actor("user:r@x", frozenset({"researcher"}))
    assert has_permission(researcher, Permission.APPLICATION_CREATE)
    assert not has_permission(researcher, Permission.USER_MANAGE)
    with pytest.raises(Forbidden):
        check_permission(researcher, Permission.USER_MANAGE)
    with platform.db.unit_of_work() as s, pytest.raises(Forbidden):
        identity.create_organisation(s, actor=researcher, name="X", sector="private")


def _events(platform, action: str) -> int:
    with platform.db.unit_of_work() as s:
        return s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)).scalar_one()


def test_the_last_active_administrator_cannot_be_disabled_and_a_disabled_account_can_be_enabled(platform):
    """Issue 16, item 6: disabling the last administrator left nobody to manage accounts, and no
    command enabled an account again; unlocking an unlocked account wrote an audit event each time."""
    _user(platform, "root@hdh.example", roles=("administrator",))
    _user(platform, "second@hdh.example", roles=("administrator",))
    _user(platform)
    with platform.db.unit_of_work() as s:
        identity.disable_user(s, actor=operator_actor(), user=identity.get_user(s, "second@hdh.example"), reason="left")
    with platform.db.unit_of_work() as s, pytest.raises(Conflict) as refused:
        identity.disable_user(s, actor=operator_actor(), user=identity.get_user(s, "root@hdh.example"), reason="oops")
    assert refused.value.code == "last_administrator"
    with platform.db.unit_of_work() as s:  # a researcher is not an administrator: disabled at once
        identity.disable_user(s, actor=operator_actor(), user=identity.get_user(s, "alice@inserm.example"),
                              reason="left the project")
        identity.disable_user(s, actor=operator_actor(), user=identity.get_user(s, "alice@inserm.example"),
                              reason="again")  # already disabled: nothing more
        identity.enable_user(s, actor=operator_actor(), user=identity.get_user(s, "second@hdh.example"))
    assert _events(platform, "user:disable") == 2 and _events(platform, "user:enable") == 1
    with platform.db.unit_of_work() as s:  # two administrators again: one may go
        identity.disable_user(s, actor=operator_actor(), user=identity.get_user(s, "root@hdh.example"), reason="ok")
        identity.unlock_user(s, actor=operator_actor(), user=identity.get_user(s, "second@hdh.example"))
    assert _events(platform, "user:unlock") == 0  # not locked: nothing done, nothing recorded
