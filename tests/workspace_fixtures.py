"""The workspace fixture shared by the workspace and job tests (a pytest plugin of conftest)."""

from __future__ import annotations

import pytest

from bastide.platform import operator_actor
from bastide.workspaces import service as workspaces
from tests.integration.test_permit_lifecycle import _granted
from tests.unit.test_application_form import FULL

SCOPE = {"snapshot": "snds@2024-12", "tables": ["IR_BEN_R", "ER_PRS_F"], "years": [2023],
         "population": {"icd10": ["E1", "I2"], "sex": [2], "combine": "any"}}
NAMED = {**FULL, "persons": ["alice@labo.example"], "data": SCOPE}


@pytest.fixture
def ready(world):
    platform, p = world
    permit_id = _granted(platform, p, NAMED)
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=permit_id)
    with platform.db.unit_of_work() as s:
        ws_id = workspaces.list_workspaces(s)[0].id
    return platform, p, permit_id, ws_id, done
