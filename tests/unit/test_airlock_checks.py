"""Disclosure checks on output files (SPE-07 gate, SPE-08 rules), one rule at a time, then the
bad inputs the airlock issue lists. Tables are written here as a researcher would write them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bastide.airlock.check import ALLOWED, check_file
from bastide.airlock.rules import Parameters
from bastide.airlock.tables import UnreadableTable, read
from bastide.i18n import said
from bastide.workspaces.pseudonym import pseudonym


def _csv(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _rules(report, outcome: str | None = None) -> list[str]:
    return [f.rule for f in report.findings if outcome is None or f.outcome == outcome]


AGE_SEX = "sex,age,n\n1,0-17,120\n1,18-64,340\n1,65+,{x}\n2,0-17,110\n2,18-64,360\n2,65+,45\n"


def test_a_count_of_7_is_blocked_with_its_cell_named(tmp_path):
    report = check_file(_csv(tmp_path, AGE_SEX.format(x=7)))
    [small] = [f for f in report.findings if f.rule == "min_count"]
    assert report.status == "blocked" and small.outcome == "blocked"
    assert (small.row, small.column, small.cell, small.value) == (3, "n", "sex=1, age=65+", 7)
    assert small.parameters == {"threshold": 10}


def test_the_threshold_is_a_parameter(tmp_path):
    path = _csv(tmp_path, AGE_SEX.format(x=10))
    assert check_file(path).status == "pass"
    assert check_file(path, params=Parameters(threshold=11)).status == "blocked"  # a PMSI profile


def test_complementary_cells_are_suggested_so_margins_cannot_give_the_small_one_back(tmp_path):
    report = check_file(_csv(tmp_path, AGE_SEX.format(x=7)))
    suggested = sorted(f.cell for f in report.findings if f.outcome == "suggestion")
    # a rectangle: the smallest cells completing the rows and columns of the small one
    assert suggested == ["sex=1, age=0-17", "sex=2, age=0-17", "sex=2, age=65+"]


def test_after_suppression_the_table_passes_and_a_lone_suppression_is_blocked(tmp_path):
    done = AGE_SEX.format(x="<10").replace("1,0-17,120", "1,0-17,c").replace("2,0-17,110", "2,0-17,c") \
        .replace("2,65+,45", "2,65+,c")
    assert check_file(_csv(tmp_path, done)).status == "pass"
    alone = check_file(_csv(tmp_path, AGE_SEX.format(x="<10"), "alone.csv"))
    assert alone.status == "blocked" and _rules(alone, "blocked") == ["secondary_suppression"] * 2


def test_zeros_are_disclosive_unless_declared_structural(tmp_path):
    text = "sex,condition,n\n1,prostate,140\n2,prostate,0\n1,ovary,0\n2,ovary,95\n"
    assert _rules(check_file(_csv(tmp_path, text)), "blocked").count("zeros") == 2
    sidecar = {"dimensions": ["sex", "condition"], "count": "n",
               "structural_zeros": [["2", "prostate"], ["1", "ovary"]]}
    (tmp_path / "t.csv.sdc.json").write_text(json.dumps(sidecar))
    report = check_file(tmp_path / "t.csv")
    assert report.status == "pass" and _rules(report, "info") == ["zeros", "zeros"]
    assert check_file(tmp_path / "t.csv", params=Parameters(zeros_disclosive=False)).status == "pass"


def test_a_crosstab_is_checked_cell_by_cell(tmp_path):
    report = check_file(_csv(tmp_path, "region,A,B,C\nnord,12,3,40\nsud,30,25,11\n"))
    [small] = [f for f in report.findings if f.rule == "min_count"]
    assert report.structure["layout"] == "wide" and small.cell == "region=nord, column=B" and small.column == "B"


def test_dominance_p_ratio_and_nk_from_the_evidence_beside_the_table(tmp_path):
    table = _csv(tmp_path, "region,n,total\nnord,25,1000\nsud,30,1000\nest,40,1000\nouest,30,-50\n")
    _csv(tmp_path, "region,top1,top2\n"
                   "nord,950,20\n"  # one pharmacy makes 95 %: p% fails
                   "sud,450,440\n"  # two make 89 %: passes both
                   "est,470,450\n"  # two make 92 %: (n, k) fails
                   "ouest,10,5\n", "t.csv.sdc.csv")  # a negative total: a person judges
    report = check_file(table)
    by_row = {f.row: f for f in report.findings if f.rule == "dominance"}
    assert report.structure["kind"] == "magnitude" and report.structure["top"] == ["top1", "top2"]
    assert "p% rule" in by_row[1].message and 2 not in by_row and "(n, k) rule" in by_row[3].message
    assert by_row[4].outcome == "review"
    assert {f.rule for f in report.findings} == {"dominance"}  # the evidence itself is not in the table


def test_largest_contributions_never_travel_in_the_table(tmp_path):
    report = check_file(_csv(tmp_path, "region,n,total,top1,top2\nsud,30,1000,450,440\n"))
    [inside] = [f for f in report.findings if f.rule == "evidence_inside"]
    assert inside.outcome == "blocked" and "t.csv.sdc.csv" in inside.message
    evidence = check_file(_csv(tmp_path, "region,top1,top2\nsud,450,440\n", "t.csv.sdc.csv"))
    assert evidence.status == "blocked" and evidence.findings[0].rule == "gate"  # it stays in the workspace


def test_evidence_without_the_table_dimensions_is_unreadable(tmp_path):
    table = _csv(tmp_path, "region,n,total\nsud,30,1000\n")
    _csv(tmp_path, "zone,top1,top2\nsud,450,440\n", "t.csv.sdc.csv")
    report = check_file(table)
    assert report.status == "blocked" and "lacks region" in report.findings[0].message


def test_a_magnitude_table_without_its_contributors_goes_to_a_person(tmp_path):
    report = check_file(_csv(tmp_path, "region,n,total\nnord,25,1000\n"))
    assert report.status == "review" and _rules(report) == ["dominance"]


def test_missing_values_are_for_review(tmp_path):
    report = check_file(_csv(tmp_path, "region,n\nnord,25\nsud,NA\n"))
    assert report.status == "review" and _rules(report) == ["missing"]


@pytest.mark.parametrize("column", ["BEN_NIR_PSA", "NUM_ENQ", "PFS_EXE_NUM", "patient_id"])
def test_identifier_columns_are_blocked(tmp_path, column):
    report = check_file(_csv(tmp_path, f"{column},n\nA,25\nB,30\n"))
    assert report.status == "blocked" and report.findings[0].column == column


def test_a_column_of_pseudonyms_is_blocked_whatever_its_name(tmp_path):
    rows = "".join(f"{pseudonym(b'k' * 32, str(i))},{20 + i}\n" for i in range(3))
    report = check_file(_csv(tmp_path, "who,n\n" + rows))
    [found] = [f for f in report.findings if f.rule == "identifiers"]
    assert found.outcome == "blocked" and found.column == "who" and found.row == 1


def test_a_model_with_few_residual_degrees_of_freedom_is_blocked(tmp_path):
    summary = "OLS Regression Results\nDep. Variable: y\nNo. Observations: 12\nDf Residuals: 9\nDf Model: 2\n"
    report = check_file(_csv(tmp_path, summary, "model.txt"))
    assert report.status == "blocked" and _rules(report, "blocked") == ["degrees_of_freedom"]
    ok = check_file(_csv(tmp_path, json.dumps({"df_resid": 240}), "model.json"))
    assert ok.status == "review" and _rules(ok) == ["human_review"]


def test_images_and_text_go_to_a_person(tmp_path):
    (tmp_path / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    report = check_file(tmp_path / "plot.png")
    assert report.status == "review" and "an image" in report.findings[0].message


# -- bad input: each refused cleanly, with what was wrong -----------------------------------------

@pytest.mark.parametrize(("text", "says"), [
    ("", "is empty"),
    ("sex,n\n", "no rows"),
    ("sex,n\n1,25\n2,30,7\n", "not a well-formed table"),  # a row with a column too many
    ("sex,n\n1,lots\n", "neither a number nor a suppression marker"),
])
def test_unreadable_tables_are_blocked_with_the_reason(tmp_path, text, says):
    report = check_file(_csv(tmp_path, text))
    assert report.status == "blocked" and says in report.findings[0].message



def test_a_refused_or_unreadable_file_is_said_in_each_language(tmp_path):
    """Issue 18, item 4: the gate's refusals and an unreadable table are findings by code, worded by
    the catalogues (French written by hand here), the English text kept for the API and the reports."""
    unreadable = check_file(_csv(tmp_path, "sex,n\n1,lots\n")).findings[0].to_dict()
    assert unreadable["said"] == "cell_not_a_number"
    assert unreadable["values"] == {"row": "1", "column": "n", "text": "lots"}
    assert said("fr", "finding_cell_not_a_number", unreadable["values"], unreadable["message"]) == \
        "ligne 1, colonne n : « lots » n'est ni un nombre ni une marque de cellule masquée"
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "table.exe").write_text("MZ")
    refused = check_file(outputs / "table.exe", root=outputs).findings[0].to_dict()
    assert refused["said"] == "gate_extension" and refused["parameters"] == {"allowed": list(ALLOWED)}
    assert said("fr", "finding_gate_extension", refused["values"], refused["message"]).startswith(
        "les fichiers .exe ne peuvent pas sortir : sont admis .csv, .parquet")
    (outputs / "README").write_text("no extension")
    assert check_file(outputs / "README", root=outputs).findings[0].to_dict()["said"] == "gate_no_extension"
    with pytest.raises(UnreadableTable) as raised:  # the same words when the error itself reaches a page
        read(_csv(tmp_path, "", name="empty.csv"))
    error = raised.value
    assert error.words == "finding_table_empty" and said("fr", error.words, error.details, error.message) == \
        "empty.csv est vide"

def test_a_2_gb_file_is_refused_without_being_read(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.truncate(2 * 1024**3)  # sparse: no disk used
    report = check_file(big)
    assert report.status == "blocked" and report.findings[0].rule == "gate" and "2048 MiB" in report.findings[0].message


def test_too_many_rows_is_record_level_data(tmp_path):
    rows = "".join(f"{i},{i % 50 + 10}\n" for i in range(5001))
    report = check_file(_csv(tmp_path, "id_row,n\n" + rows))
    assert report.status == "blocked" and "more than 5000 rows" in report.findings[0].message


def test_only_files_of_the_outputs_folder_leave(tmp_path):
    outputs, extract = tmp_path / "outputs", tmp_path / "extract"
    outputs.mkdir()
    extract.mkdir()
    (extract / "ER_PRS_F.csv").write_text("BEN_NIR_PSA,n\nx,1\n")
    os.symlink(extract / "ER_PRS_F.csv", outputs / "innocent.csv")
    for path in (outputs / "innocent.csv", outputs / ".." / "extract" / "ER_PRS_F.csv", extract / "ER_PRS_F.csv"):
        report = check_file(path, root=outputs)
        assert report.status == "blocked" and report.findings[0].rule == "gate", path
    (outputs / "table.exe").write_text("MZ")
    assert "cannot leave" in check_file(outputs / "table.exe", root=outputs).findings[0].message


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_a_csv_is_read_whatever_its_separator_and_encoding(tmp_path, delimiter, encoding):
    """Issue 14 "Why" 5: a ';'-separated file (Excel's default in French) was one column to the
    checks, and its cell of 7 went to review where the ',' version is blocked."""
    rows = [["région", "sexe", "n", "montant"], ["Île-de-France", "1", "120", "12,5" if delimiter != "," else "12.5"],
            ["Île-de-France", "2", "7", "3,25" if delimiter != "," else "3.25"], ["Corse", "1", "45", "1"],
            ["Corse", "2", "60", "2"]]
    path = tmp_path / "t.csv"
    path.write_bytes(("\n".join(delimiter.join(r) for r in rows) + "\n").encode(encoding))
    report = check_file(path)
    small = [f for f in report.findings if f.rule == "min_count" and f.outcome == "blocked"]
    assert report.status == "blocked" and small and "région=Île-de-France" in small[0].message
