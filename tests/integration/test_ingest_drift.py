"""Ingest as the field needs it (issue 15, item 8): CSV delimiters found in the header, and a
schema-drift policy — a producer's added or dropped columns are rejected by default with each
one named and the command that accepts them, or accepted and recorded: the snapshot's manifest
holds the columns delivered, the catalogue shows each release's schema."""

from __future__ import annotations

import csv
import json

import pytest

from bastide.base.ingest import IngestRequest, ingest
from bastide.catalogue import service as catalogue
from bastide.errors import InvalidInput, ValidationFailed
from tests.conftest import make_platform
from tests.integration.test_ingest import _data_lines


@pytest.fixture
def local(tmp_path):
    p = make_platform(tmp_path)
    yield p
    p.close()


def _rewrite(folder, change=lambda rows: rows, *, delimiter=";") -> None:
    """Every CSV of a table folder read as CNAM writes it, changed, written with `delimiter`."""
    for path in folder.glob("*.csv"):
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh, delimiter=";"))
        with open(path, "w", newline="") as fh:
            csv.writer(fh, delimiter=delimiter, lineterminator="\n").writerows(change(rows))


def _drop(column):
    def change(rows):
        i = rows[0].index(column)
        return [r[:i] + r[i + 1:] for r in rows]
    return change


def _add(column, value="x"):
    return lambda rows: [rows[0] + [column]] + [r + [value] for r in rows[1:]]


def _manifest(platform, ref="snds@r1") -> dict:
    return json.loads(platform.store.get_bytes(f"base/{ref.replace('@', '/')}/MANIFEST.json"))


def _failure(platform, actor, delivery, **options) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as exc:
        ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "r1", **options))
    return exc.value


def test_comma_and_tab_separated_files_are_read_by_their_header(local, delivery, actor):
    _rewrite(delivery / "IR_BEN_R", delimiter=",")
    _rewrite(delivery / "KI_CCI_R", delimiter="\t")
    result = ingest(local, actor=actor, request=IngestRequest(str(delivery), "snds", "r1"))
    assert result.tables["IR_BEN_R"] == _data_lines(delivery / "IR_BEN_R") and result.tables["KI_CCI_R"] > 0
    sources = _manifest(local)["sources"]
    assert (sources["IR_BEN_R"]["delimiter"], sources["KI_CCI_R"]["delimiter"], sources["IR_IMB_R"]["delimiter"]) == \
        (",", "tab", ";")


def test_a_forced_delimiter_that_does_not_split_the_header_says_how_to_mend_it(local, delivery, actor):
    _rewrite(delivery / "IR_BEN_R", delimiter=",")
    problems = _failure(local, actor, delivery, delimiter=";").details["problems"]
    problem = next(p for p in problems if p["table"] == "IR_BEN_R")
    assert problem["rule"] == "delimiter" and "--delimiter" in problem["message"]
    with pytest.raises(InvalidInput, match="--delimiter"):
        ingest(local, actor=actor, request=IngestRequest(str(delivery), "snds", "r1", delimiter="#"))


def test_drift_is_rejected_by_default_each_column_named_with_the_command_that_accepts_it(local, delivery, actor):
    _rewrite(delivery / "ER_DCT_F" if (delivery / "ER_DCT_F").exists() else delivery / "KI_CCI_R",
             _add("DCT_FOR_AMO"))
    _rewrite(delivery / "ER_PRS_F", _drop("PRS_PPU_SEC"))
    failure = _failure(local, actor, delivery)
    named = {(p["table"], p["rule"], p["column"]) for p in failure.details["problems"]}
    assert ("ER_PRS_F", "missing_column", "PRS_PPU_SEC") in named
    assert any(rule == "unknown_column" and column == "DCT_FOR_AMO" for _t, rule, column in named)
    assert "--schema-drift accept" in failure.message
    assert all("--schema-drift accept" in p["message"] for p in failure.details["problems"])
    assert local.store.list("base/snds/r1") == []


def test_accepted_drift_publishes_the_columns_delivered_and_records_them(local, delivery, actor):
    _rewrite(delivery / "ER_PRS_F", _drop("PRS_PPU_SEC"))
    _rewrite(delivery / "KI_CCI_R", _add("DCD_NEW_COL"))
    result = ingest(local, actor=actor, request=IngestRequest(str(delivery), "snds", "r1", schema_drift="accept"))
    assert result.drifted == {"ER_PRS_F": {"added": [], "removed": ["PRS_PPU_SEC"]},
                              "KI_CCI_R": {"added": ["DCD_NEW_COL"], "removed": []}}
    sources = _manifest(local)["sources"]
    assert sources["ER_PRS_F"]["schema_drift"] == {"added": [], "removed": ["PRS_PPU_SEC"]}
    assert "PRS_PPU_SEC" not in sources["ER_PRS_F"]["columns"] and "DCD_NEW_COL" in sources["KI_CCI_R"]["columns"]
    assert "schema_drift" not in sources["IR_BEN_R"]
    with local.db.unit_of_work() as s:
        snap = catalogue.get_snapshot(s, "snds@r1")
        prs = [v.name for v in catalogue.get_table(snap, "ER_PRS_F").variables]
        cci = {v.name: v.type for v in catalogue.get_table(snap, "KI_CCI_R").variables}
    assert "PRS_PPU_SEC" not in prs and len(prs) == 122 and cci["DCD_NEW_COL"] == "string"


def test_a_release_without_a_key_column_is_never_accepted(local, delivery, actor):
    _rewrite(delivery / "ER_PHA_F", _drop("PRS_ORD_NUM"))  # one of the 9 keys joining ER_PRS_F
    failure = _failure(local, actor, delivery, schema_drift="accept")
    problem = next(p for p in failure.details["problems"] if p["column"] == "PRS_ORD_NUM")
    assert problem["rule"] == "missing_column" and "a key" in problem["message"]
