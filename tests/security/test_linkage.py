"""No linkage across projects (issue 13, "Why" 4; PSE-01…PSE-03): joining two projects'
extracts on DCIR's 9 keys linked every person of one to the other, and stays and health
professionals' numbers were in clear. Two projects over the same snapshot, the same people,
must share no value of any person, claim, stay or professional identifier, nor any key tuple;
flattening and events must still work inside each."""

from __future__ import annotations

import pyarrow as pa
import pytest

from bastide.platform import operator_actor
from bastide.workspaces import query
from bastide.workspaces import service as workspaces
from bastide.workspaces.compile import CLAIM_NUMBERS, DCIR_KEYS, STAY_NUMBERS
from bastide.workspaces.spec import PERSON_IDS, PROFESSIONAL_IDS
from tests.integration.test_permit_lifecycle import _granted
from tests.integration.test_workspaces import _extract_table, _snapshot_table
from tests.unit.test_application_form import FULL

TABLES = ["ER_PRS_F", "ER_PHA_F", "IR_BEN_R", "T_MCOaaA", "T_MCOaaB", "T_MCOaaC", "T_MCOaaD"]
SCOPE = {"snapshot": "snds@2024-12", "tables": TABLES, "years": [2023], "population": {"sex": [2]}}
IDENTIFIERS = PERSON_IDS | PROFESSIONAL_IDS | set(CLAIM_NUMBERS) | set(STAY_NUMBERS)
TUPLES = {"DCIR's 9 keys": list(DCIR_KEYS), "a stay": ["ETA_NUM", "RSA_NUM"]}


def _values(table: pa.Table, columns: list[str]) -> set[tuple]:
    return set(zip(*(table[c].to_pylist() for c in columns), strict=True))


def _loose(table: pa.Table, column: str) -> set[str]:
    """The values as an attacker matching loosely would: text, upper-case, the first 8 characters."""
    return {str(v).upper()[:8] for v in table[column].to_pylist() if v is not None}


def test_two_projects_over_the_same_people_share_no_identifier_nor_key_tuple(world):
    platform, p = world
    built = [workspaces.provision(platform, actor=operator_actor(),
                                  permit_id=_granted(platform, p, {**FULL, "persons": ["alice@labo.example"],
                                                                   "data": SCOPE}))
             for _ in range(2)]
    assert built[0].cohort == built[1].cohort > 0  # the same women in both
    compared = 0
    for table in TABLES:
        a, b = (_extract_table(platform, done.workspace, table) for done in built)
        assert a.num_rows == b.num_rows > 0, table
        for column in sorted(IDENTIFIERS & set(a.column_names)):
            shared = _values(a, [column]) & _values(b, [column]) - {(None,)}
            assert not shared, (table, column, sorted(shared)[:3])
            loosely = _loose(a, column) & _loose(b, column)  # upper-cased, truncated: still nothing in common
            assert len(loosely) <= 1, (table, column, sorted(loosely)[:3])  # 32 bits: one chance meeting at most
            compared += 1
        for name, columns in TUPLES.items():
            if set(columns) <= set(a.column_names):
                assert not _values(a, columns) & _values(b, columns), (table, name)
                source = _snapshot_table(platform, table, 2023)
                assert _values(source, columns), (table, name)  # the source does hold such tuples
    assert compared >= 12

    # inside each project, the 9-key and stay joins still work: flattening and events give the same
    counts = []
    for done in built:
        with platform.db.unit_of_work() as s:
            ws_id = next(w.id for w in workspaces.list_workspaces(s) if w.reference == done.workspace)
        ask = lambda sql: query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql=sql).rows  # noqa: E731
        counts.append((ask("SELECT count(*) FROM dcir_flat WHERE PHA_PRS_IDE IS NOT NULL"),
                       ask("SELECT count(*) FROM mco_stays"),
                       ask("SELECT category, count(*) FROM events GROUP BY 1 ORDER BY 1")))
    prs, pha = _snapshot_table(platform, "ER_PRS_F", 2023), _snapshot_table(platform, "ER_PHA_F", 2023)
    assert counts[0] == counts[1]
    assert counts[0][0][0][0] > 0 and counts[0][1][0][0] > 0 and len(counts[0][2]) >= 3
    assert prs.num_rows and pha.num_rows
