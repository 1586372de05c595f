"""A hostile researcher against the airlock (issue 14): data riding along a table that passes the
checks must never reach a release; what cannot be parsed whole never leaves."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bastide.airlock import service as airlock
from bastide.airlock.canonical import canonical
from bastide.airlock.check import check_file
from bastide.airlock.rules import Parameters
from tests.integration.test_airlock import _do, _output, _request, airlock_world  # noqa: F401 - a fixture

SQLITE_ONLY = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)  # the deployment is irrelevant
PEOPLE = [{"BEN_NIR_PSA": f"{i:017d}", "born": "1970-01-01", "diagnosis": "F20"} for i in range(2000)]


def _parquet_with_records_in_its_metadata() -> bytes:
    """Two cells that pass every check; 2,000 person records in the file's and a column's metadata."""
    n = pa.field("n", pa.int64(), metadata={b"notes": json.dumps(PEOPLE[:100]).encode()})
    table = pa.table({"sex": ["1", "2"], "n": [120, 110]}, schema=pa.schema([("sex", pa.string()), n]))
    table = table.replace_schema_metadata({b"people": json.dumps(PEOPLE).encode()})
    sink = io.BytesIO()
    pq.write_table(table, sink, store_schema=True)
    return sink.getvalue()


@SQLITE_ONLY
def test_records_hidden_in_a_tables_metadata_never_reach_the_release(airlock_world, tmp_path):
    platform, p, ws_id = airlock_world
    content = _parquet_with_records_in_its_metadata()
    assert b"00000000000001999" in content  # the records are in the file
    path = tmp_path / "by_sex.parquet"
    path.write_bytes(content)
    assert check_file(path).status == "pass"  # the cells pass: the checks alone do not see the metadata

    output = _output_bytes(platform, ws_id, "by_sex.parquet", content)
    req = _request(platform, p, ws_id)
    _do(platform, airlock.add_file, req, platform=platform, actor=p["alice"], output_id=output,
        description="persons by sex")
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])
    for checker in ("olga", "oscar"):
        _do(platform, airlock.vote, req, actor=p[checker], name="by_sex.parquet", decision="approve")
    release = _do(platform, airlock.decide, req, platform=platform, actor=p["oscar"], action="approve")
    released = platform.store.get_bytes(f"{release.prefix}/by_sex.parquet")
    assert b"0000000000000" not in released and b"people" not in released and b"notes" not in released
    table = pq.read_table(io.BytesIO(released))
    assert table.to_pylist() == [{"sex": "1", "n": 120}, {"sex": "2", "n": 110}]
    assert not table.schema.metadata and not table.schema.field("n").metadata
    record = json.loads(platform.store.get_bytes(f"{release.prefix}/RELEASE.json"))["document"]["files"][0]
    assert record["reviewed_sha256"] != record["sha256"]  # what was reviewed, and what left


def _output_bytes(platform, ws_id: int, name: str, content: bytes) -> int:
    from bastide.workspaces import service as workspaces
    from bastide.workspaces.jobs import register_output

    with platform.db.unit_of_work() as s:
        row = workspaces.current_extract(s, workspaces.get_workspace(s, ws_id))
        return register_output(s, platform, row=row, name=name, content=content, origin={"test": True}).id


RIDING = {
    "a comment line after the data": b"sex,n\n1,120\n2,110\n# 000000000000001 F20 1970-01-01\n",
    "bytes after the data": b"sex,n\n1,120\n2,110\n\x00\x01\x02 hidden payload",
    "a binary column": None,  # built below: Parquet
    "a nested column": None,
}


def test_a_table_that_does_not_parse_whole_or_holds_unreadable_values_is_blocked(tmp_path):
    for attempt, content in RIDING.items():
        path = tmp_path / ("t.csv" if content is not None else "t.parquet")
        if attempt == "a binary column":
            pq.write_table(pa.table({"sex": ["1", "2"], "n": [120, 110], "blob": [b"\x00" * 10, b"NIR"]}), path)
        elif attempt == "a nested column":
            pq.write_table(pa.table({"sex": ["1", "2"], "n": [120, 110], "who": [["a", "b"], ["c"]]}), path)
        else:
            path.write_bytes(content)
        report = check_file(path)
        assert report.status == "blocked" and report.findings[0].rule == "readable", (attempt, report.to_dict())


def test_a_csv_leaves_in_one_dialect_whatever_it_came_in():
    french = "sexe;n\r\n1;120\r\n2;110\r\n".encode("cp1252")
    assert canonical("t.csv", b"\xef\xbb\xbf" + b"sex,n\n1,120\n2,110\n") == canonical("t.csv", b"sex,n\n1,120\n2,110\n")
    assert canonical("t.csv", french) == b'"sexe","n"\n"1","120"\n"2","110"\n'


def _table(tmp_path, name: str, text: str, declared: dict | None = None):
    path = tmp_path / name
    path.write_text(text)
    if declared is not None:
        path.with_name(name + ".sdc.json").write_text(json.dumps(declared))
    return path


def test_a_declaration_cannot_take_a_rule_away(tmp_path):
    """Issue 14 "Why" 2: counts of 1 declared as a dimension in the researcher's own .sdc.json passed."""
    rows = "".join(f"{s},{a},1,{1000 + i}\n" for i, (s, a) in enumerate((s, a) for s in "12" for a in range(30)))
    cases = {
        "counts declared a dimension": ("sex,age,n,total\n" + rows,
                                        {"dimensions": ["sex", "age", "n"], "count": "total"},
                                        {"counts_as_dimension", "one_record_per_row"}),
        "a column of ones under another name": ("sex,age,k,total\n" + rows,
                                                {"dimensions": ["sex", "age", "k"], "count": "total"},
                                                {"one_record_per_row"}),
        "a row key among the dimensions": ("sex,who,n\n" + "".join(f"{i % 2 + 1},P{i:05d},12\n" for i in range(40)),
                                           {"dimensions": ["sex", "who"], "count": "n"}, {"row_identifier"}),
    }
    for attempt, (text, declared, rules) in cases.items():
        report = check_file(_table(tmp_path, "t.csv", text, declared))
        found = {f.rule for f in report.findings if f.outcome == "blocked"}
        assert report.status == "blocked" and rules <= found, (attempt, found)


def test_a_table_of_groups_passes_the_structure_rules(tmp_path):
    """No false alarm: one dimension with a row each (a table by département) is a table of groups."""
    by_area = "dpt,n\n" + "".join(f"{d:02d},{20 + d}\n" for d in range(1, 96))
    report = check_file(_table(tmp_path, "by_area.csv", by_area))
    assert not [f for f in report.findings if f.rule in ("row_identifier", "one_record_per_row", "counts_as_dimension")]


@SQLITE_ONLY
def test_as_many_rows_as_the_project_has_persons_is_microdata(airlock_world):
    platform, p, ws_id = airlock_world
    with platform.db.unit_of_work() as s:
        from bastide.workspaces import service as workspaces

        persons = workspaces.current_extract(s, workspaces.get_workspace(s, ws_id)).cohort
    rows = "".join(f"{i % 2 + 1},{i % 97},{10 + i}\n" for i in range(max(persons, 20)))
    output = _output(platform, ws_id, "all.csv", "sex,age,n\n" + rows)
    with platform.db.unit_of_work() as s:
        from bastide.workspaces.models import Output

        report = airlock.check_output(s, platform, s.get(Output, output), Parameters())
    assert "microdata" in {f["rule"] for f in report["findings"] if f["outcome"] == "blocked"}


def _extract_column(platform, ws_id: int, table: str, column: str) -> list:
    from bastide.workspaces import service as workspaces
    from bastide.workspaces.query import extract_tables

    with platform.db.unit_of_work() as s:
        row = workspaces.current_extract(s, workspaces.get_workspace(s, ws_id))
        return extract_tables(s, platform, row)[table].dataset.to_table(columns=[column]).column(0).to_pylist()


def _checked(platform, ws_id: int, name: str, text: str) -> dict:
    from bastide.workspaces.models import Output

    output = _output(platform, ws_id, name, text)
    with platform.db.unit_of_work() as s:
        return airlock.check_output(s, platform, s.get(Output, output), Parameters())


@SQLITE_ONLY
def test_the_projects_identifiers_are_found_in_any_case_cut_or_encoded(airlock_world):
    """Issue 14 "Why" 3: 300 person-level rows keyed by UPPERCASE or 16-hex-truncated project
    pseudonyms passed the identifier scan."""
    import base64

    platform, p, ws_id = airlock_world
    people = _extract_column(platform, ws_id, "IR_BEN_R", "BEN_NIR_PSA")
    claims = _extract_column(platform, ws_id, "ER_PRS_F", "DCT_ORD_NUM")
    keyed = {
        "upper-cased": [v.upper() for v in people],
        "cut to 16": [v[:16] for v in people],
        "cut to 8, upper-cased": [v[:8].upper() for v in people],
        "base64": [base64.b64encode(v.encode()).decode() for v in people],
        "hex of the text": [v.encode().hex() for v in people],
        "a claim's number": [str(v) for v in claims],
    }
    for attempt, keys in keyed.items():
        text = "who,sex,n\n" + "".join(f"{k},{i % 2 + 1},12\n" for i, k in enumerate(keys[:300]))
        report = _checked(platform, ws_id, "rows.csv", text)
        hits = [f for f in report["findings"] if f["rule"] == "identifiers" and f.get("column") == "who"]
        assert report["status"] == "blocked" and hits, (attempt, report["findings"][:3])


def test_identifier_shapes_are_found_without_a_project(tmp_path):
    cases = {
        "a NIR": ("id,n\n185057512345678,12\n", "NIR"),
        "a NIR without its key": ("id,n\n2850575123456,12\n", "NIR"),
        "a pseudonym, upper-cased": ("id,n\n" + "AB" * 32 + ",12\n", "pseudonym"),
        "a full date of birth": ("date_naissance,n\n1985-05-07,12\n", "date of birth"),
    }
    for attempt, (text, said) in cases.items():
        report = check_file(_table(tmp_path, "t.csv", text))
        assert report.status == "blocked" and any(said in f.message for f in report.findings), (attempt, report.to_dict())
    fine = check_file(_table(tmp_path, "t.csv", "year,dpt,n\n2023,75,120\n2023,2A,40\n20231231,13,55\n"))
    assert not [f for f in fine.findings if f.rule == "identifiers"]  # codes and dates are not identifiers


def test_a_dominant_contributor_is_not_hidden_by_leaving_its_evidence_out(tmp_path):
    """Issue 14 "Why" 6: a magnitude cell with blank or absent evidence was skipped silently. Here the
    largest contributor makes 95 % of nord; its evidence row is left out, then left blank."""
    (tmp_path / "t.csv").write_text("region,n,total\nnord,25,1000\nsud,30,1000\n")
    for evidence in ("region,top1,top2\nsud,450,440\n", "region,top1,top2\nnord,,\nsud,450,440\n"):
        (tmp_path / "t.csv.sdc.csv").write_text(evidence)
        report = check_file(tmp_path / "t.csv")
        assert report.status == "review"
        assert [f.cell for f in report.findings if f.rule == "dominance"] == ["region=nord"]


def test_a_refund_below_the_two_largest_does_not_pass_dominance(tmp_path):
    """ACRO 1.0.2 sends a cell with any negative contribution to review; ours passed it (issue 14)."""
    (tmp_path / "t.csv").write_text("region,n,total\nsud,30,1000\n")
    (tmp_path / "t.csv.sdc.csv").write_text("region,top1,top2,smallest,negatives\nsud,450,440,-300,1\n")
    assert check_file(tmp_path / "t.csv").status == "review"


def test_evidence_written_for_another_table_is_refused(tmp_path):
    (tmp_path / "t.csv").write_text("region,n,total\nsud,30,1000\n")
    (tmp_path / "t.csv.sdc.csv").write_text("region,top1,top2\nsud,450,440\nnord,950,20\n")
    report = check_file(tmp_path / "t.csv")
    assert report.status == "blocked" and "does not match its table" in report.findings[0].message
