"""`bastide ws provision` by the operator, `bastide ws sql` by a named researcher with a token,
against a running server (SPE-10)."""

from __future__ import annotations

import pytest

from bastide.server import create_app
from bastide.identity import credentials
from bastide.identity import service as identity
from tests.e2e.test_cli import run
from tests.integration.test_permit_lifecycle import _granted
from tests.services import serving, working
from tests.unit.test_application_form import FULL

SCOPE = {"snapshot": "snds@2024-12", "tables": ["IR_BEN_R"], "years": [2023], "population": {"sex": [2]}}


@pytest.mark.slow
@pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)
def test_operator_provisions_and_researcher_queries_from_the_command_line(world):
    platform, p = world
    permit_id = _granted(platform, p, {**FULL, "persons": ["alice@labo.example"], "data": SCOPE})
    home = platform.settings.home
    built = run(home, "ws", "provision", str(permit_id)).stdout
    assert "WS-000001 ready: extract v1" in built and "IR_BEN_R:" in built
    assert "WS-000001" in run(home, "ws", "list").stdout
    with platform.db.unit_of_work() as s:
        alice = identity.get_user(s, "alice@labo.example")
        alice.mfa_confirmed = True
        identity.accept_terms(s, user=alice, version=platform.settings.terms_version)
        _, token = credentials.create_token(s, user=alice, name="cli", scopes=["workspace:enter"], days=1)
    with serving(create_app(platform)) as url, working(platform):  # the API queues jobs, a worker runs them
        answer = run(home, "ws", "sql", "1", "SELECT count(*) AS women FROM IR_BEN_R", "--url", url,
                     env={"BASTIDE_TOKEN": token}).stdout
        assert "women" in answer and "1 row(s)" in answer
        escape = run(home, "ws", "sql", "1", "SELECT * FROM read_csv('/etc/passwd')", "--url", url,
                     env={"BASTIDE_TOKEN": token}, check=False)
        assert escape.returncode == 2 and "disabled" in escape.stderr and "Traceback" not in escape.stderr
        script = home.parent / "analyse.py"
        script.write_text("from bastide import workspace\nprint('rows', workspace.table('IR_BEN_R').num_rows)\n")
        ran = run(home, "ws", "run", "1", str(script), "--url", url, env={"BASTIDE_TOKEN": token}).stdout
        assert "rows " in ran and "JOB-000001 succeeded" in ran
        failing = home.parent / "boom.py"
        failing.write_text("raise SystemExit(3)\n")
        boom = run(home, "ws", "run", "1", str(failing), "--url", url, env={"BASTIDE_TOKEN": token}, check=False)
        assert boom.returncode == 1 and "failed (exit 3)" in boom.stdout
        no_token = run(home, "ws", "sql", "1", "SELECT 1", "--url", url, check=False)
        assert no_token.returncode == 2 and "BASTIDE_TOKEN" in no_token.stderr


@pytest.mark.slow
@pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)
def test_the_operator_ends_a_build_its_process_left_and_provisions_again(world):
    from datetime import timedelta

    from bastide.governance import permits
    from bastide.platform import operator_actor
    from bastide.workspaces import service as workspaces
    platform, p = world
    permit_id = _granted(platform, p, {**FULL, "persons": ["alice@labo.example"], "data": SCOPE})
    with platform.db.unit_of_work() as s:  # a build claimed by a process that then ended…
        _ws, extract_id = workspaces._start(s, keys=platform.keys, actor=operator_actor(),
                                            permit=permits.get_permit(s, permit_id))
        row = workspaces.claim_build(s, by="cli@elsewhere:1:gone", extract_id=extract_id)
        row.created_at -= timedelta(minutes=5)  # …five minutes ago, never stamped since
        row.heartbeat_at = row.created_at
    home = platform.settings.home
    ended = run(home, "recover").stdout
    assert "ended the build of WS-000001 v1" in ended and "bastide ws provision" in ended
    assert "failed" in run(home, "ws", "list").stdout
    assert "nothing to end" in run(home, "recover").stdout
    assert "WS-000001 ready: extract v2" in run(home, "ws", "provision", str(permit_id)).stdout
