"""The workspace fixtures shared by the workspace, job, analytics and security tests (a pytest
plugin of conftest): `ready`, a DuckDB workspace per test; `workspace`, one Spark workspace for
the whole session (its tests are marked xdist_group("spark"): one worker, one JVM)."""

from __future__ import annotations

import pytest

from bastide.base.synth import generate
from bastide.platform import operator_actor
from bastide.workspaces import service as workspaces
from tests.conftest import _world, make_platform
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


SPARK_TABLES = ["ER_PRS_F", "ER_PHA_F", "ER_CAM_F", "ER_ETE_F", "IR_BEN_R", "IR_PHA_R", "IR_IMB_R", "KI_CCI_R",
                "KI_ECD_R", "T_MCOaaA", "T_MCOaaB", "T_MCOaaC", "T_MCOaaD"]
# the first Spark test builds the session's JVM and extract (minutes on a busy 2-core runner): the
# suite's 600 s per test would kill it, and its rebuild on the next worker, again and again
SPARK_TIME = pytest.mark.timeout(1500)
SPARK_SCOPE = {"snapshot": "snds@2024-12", "tables": SPARK_TABLES, "years": [2023], "population": {"sex": [1, 2]}}


@pytest.fixture(scope="session")  # xdist may interleave other modules: module scope was built twice
def workspace(tmp_path_factory):
    """A workspace on 1,500 synthetic people (enough new users of A10 to count) whose permit says Spark."""
    delivery = tmp_path_factory.mktemp("synth-analytics") / "delivery"
    generate(delivery, beneficiaries=1500, years=[2023], seed=11)
    # the platform's own engine: DuckDB. Spark local on a busy 2-core runner can take longer than the
    # console's 60 s for the worked example: these tests are about the engines agreeing, not the limit
    platform = make_platform(tmp_path_factory.mktemp("analytics"), workspace_query_seconds=300)
    platform, p = _world(platform, delivery)
    permit_id = _granted(platform, p, {**FULL, "persons": ["alice@labo.example"], "data": SPARK_SCOPE,
                                       "engine": "spark"})
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=permit_id)
    with platform.db.unit_of_work() as s:
        ws_id = workspaces.list_workspaces(s)[0].id
    yield platform, p, ws_id, done
    platform.close()
