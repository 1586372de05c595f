"""Evidence that carries what the disclosure rules need (issue 14, item 6; SPE-08).

Against ACRO 1.0.2 our dominance rules passed cells whose negative contributions lay below the two
largest, skipped magnitude cells with blank evidence, and `workspace.release_table` dropped empty
combinations and ranked NaN among the values. Every expected figure below is worked out by hand
from the rows written in the test, never from the code's output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from bastide.airlock.check import check_file
from bastide.airlock.rules import Parameters
from bastide.workspace import release_table


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _table(folder: Path, table: str, evidence: str) -> Path:
    _write(folder, "t.csv.sdc.csv", evidence)
    return _write(folder, "t.csv", table)


def _by_cell(report, rule: str) -> dict[str, object]:
    return {f.cell: f for f in report.findings if f.rule == rule}


TABLE = "region,n,total\nnord,30,1000\nsud,30,1000\n"


def test_a_negative_contribution_below_the_two_largest_goes_to_a_person(tmp_path):
    # sud: 450 + 440 of 1000 pass both rules on the two largest; a -50 further down makes dominance undefined
    path = _table(tmp_path, TABLE, "region,top1,top2,smallest,negatives\nnord,300,250,5,0\nsud,450,440,-50,1\n")
    dominance = _by_cell(check_file(path), "dominance")
    assert dominance["region=sud"].outcome == "review" and "negative" in dominance["region=sud"].message
    assert "region=nord" not in dominance  # (1000 - 550) / 300 = 1.5 >= 0.10, 550 / 1000 < 0.90


def test_a_negative_smallest_alone_is_enough(tmp_path):
    path = _table(tmp_path, TABLE, "region,top1,top2,smallest\nnord,300,250,5\nsud,450,440,-1\n")
    assert _by_cell(check_file(path), "dominance")["region=sud"].outcome == "review"


def test_a_cell_shown_without_evidence_is_never_passed(tmp_path):
    path = _table(tmp_path, TABLE, "region,top1,top2\nnord,300,250\n")  # no row for sud
    report = check_file(path)
    [sud] = [f for f in report.findings if f.rule == "dominance"]
    assert (sud.cell, sud.outcome, report.status) == ("region=sud", "review", "review")
    assert "without the evidence" in sud.message


def test_blank_evidence_for_a_cell_is_not_skipped(tmp_path):
    path = _table(tmp_path, TABLE, "region,top1,top2\nnord,300,250\nsud,,\n")
    assert _by_cell(check_file(path), "dominance")["region=sud"].outcome == "review"


def test_evidence_for_cells_the_table_lacks_does_not_belong_to_it(tmp_path):
    path = _table(tmp_path, TABLE, "region,top1,top2\nnord,300,250\nsud,450,440\nest,10,5\n")
    report = check_file(path)
    assert report.status == "blocked" and report.findings[0].rule == "readable"
    assert "does not match its table" in report.findings[0].message and "(est)" in report.findings[0].message


def test_an_all_zero_cell_tells_every_contribution(tmp_path):
    # 12 contributors whose total is 0 and none negative: each gave 0 (ACRO's p-ratio flags it too)
    path = _table(tmp_path, "region,n,total\nnord,12,0\nsud,30,1000\n",
                  "region,top1,top2,smallest,negatives\nnord,0,0,0,0\nsud,300,250,5,0\n")
    dominance = _by_cell(check_file(path), "dominance")
    assert dominance["region=nord"].outcome == "blocked" and "every contribution is zero" in dominance[
        "region=nord"].message


def test_all_values_the_same_goes_to_a_person(tmp_path):
    # 20 acts at 25 each: the total (500) and n tell each act's amount; a tariff may be public, a person judges
    path = _table(tmp_path, "acte,n,total\nC,20,500\nG,20,610\n",
                  "acte,top1,top2,smallest\nC,25,25,25\nG,40,35,25\n")
    same = _by_cell(check_file(path, params=Parameters(p_ratio=0.0, nk_k=1.01)), "same_values")
    assert list(same) == ["acte=C"] and same["acte=C"].outcome == "review" and same["acte=C"].value == 25


def test_a_total_resting_on_fewer_values_than_the_threshold_goes_to_a_person(tmp_path):
    # 12 rows, 5 without a value: the total is made of 7 contributions
    path = _table(tmp_path, "region,n,total\nnord,12,700\nsud,30,1000\n",
                  "region,top1,top2,missing\nnord,150,140,5\nsud,300,250,2\n")
    [nord] = [f for f in check_file(path).findings if f.rule == "missing"]
    assert (nord.cell, nord.outcome, nord.value) == ("region=nord", "review", 7)


def test_the_smallest_contribution_never_travels_in_the_table(tmp_path):
    report = check_file(_write(tmp_path, "t.csv", "region,n,total,smallest\nsud,30,1000,3\n"))
    assert [f.outcome for f in report.findings if f.rule == "evidence_inside"] == ["blocked"]


def test_a_table_of_means_takes_its_total_from_the_evidence(tmp_path):
    path = _table(tmp_path, "region,n,mean\nnord,20,50\n", "region,top1,top2,total\nnord,950,20,1000\n")
    _write(tmp_path, "t.csv.sdc.json", json.dumps({"dimensions": ["region"], "count": "n", "mean": "mean"}))
    report = check_file(path)
    assert report.structure["kind"] == "magnitude" and report.structure["total"] == "total"
    assert "p% rule" in _by_cell(report, "dominance")["region=nord"].message  # (1000-970)/950 = 3 % < 10 %


def test_a_declared_mean_column_must_exist(tmp_path):
    path = _table(tmp_path, "region,n,avg\nnord,20,50\n", "region,top1,top2,total\nnord,950,20,1000\n")
    _write(tmp_path, "t.csv.sdc.json", json.dumps({"dimensions": ["region"], "count": "n", "mean": "mean"}))
    report = check_file(path)
    assert report.status == "blocked" and "'mean' is not in the table" in report.findings[0].message


# release_table: what a researcher's script calls in the workspace

ROWS = pd.DataFrame({
    "sex": ["1", "1", "1", "1", "2", "2", "2"],
    "age": ["young", "young", "old", "old", "young", "young", "young"],
    "paid": [5.0, math.nan, 3.0, 9.0, -2.0, 7.0, 4.0],
    "person": ["a", "a", "b", "c", "d", "e", "e"],
})


def _read(path: Path) -> dict[tuple, dict]:
    frame = pd.read_csv(path, dtype={"sex": str})
    return {(r["sex"], r["age"]): r for r in frame.to_dict("records")}


def test_release_table_writes_the_full_grid_with_its_empty_cells(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = _read(release_table(ROWS, ["sex", "age"], name="t.csv"))
    assert {k: v["n"] for k, v in table.items()} == {("1", "old"): 2, ("1", "young"): 2, ("2", "old"): 0,
                                                    ("2", "young"): 3}
    report = check_file(tmp_path / "t.csv", params=Parameters(threshold=2))
    assert [f.cell for f in report.findings if f.rule == "zeros"] == ["sex=2, age=old"]


def test_release_table_keeps_declared_levels_nobody_has(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = ROWS.assign(age=pd.Categorical(ROWS["age"], categories=["young", "middle", "old"]))
    table = pd.read_csv(release_table(rows, ["age"], name="t.csv"))
    assert dict(zip(table["age"], table["n"], strict=True)) == {"young": 5, "middle": 0, "old": 2}


def test_release_table_evidence_leaves_missing_values_out_and_counts_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = _read(release_table(ROWS, ["sex", "age"], name="t.csv", value="paid"))
    evidence = _read(tmp_path / "t.csv.sdc.csv")
    # (1, young): 5 and a missing value -> total 5, top1 5, top2 0 (one value), smallest 5, 1 missing
    assert table[("1", "young")]["total"] == 5 and table[("1", "young")]["n"] == 2
    young = evidence[("1", "young")]
    assert (young["top1"], young["top2"], young["smallest"], young["missing"]) == (5, 0, 5, 1)
    # (2, young): -2, 7, 4 -> total 9, top1 7, top2 4, smallest -2, one negative
    men = evidence[("2", "young")]
    assert (table[("2", "young")]["total"], men["top1"], men["top2"], men["smallest"], men["negatives"]) == \
        (9, 7, 4, -2, 1)
    # the empty cell: zeros, no smallest
    empty = evidence[("2", "old")]
    assert (empty["top1"], empty["top2"], empty["missing"]) == (0, 0, 0) and math.isnan(empty["smallest"])


def test_release_table_ranks_contributors_not_rows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    release_table(ROWS, ["sex"], name="t.csv", value="paid", contributor="person")
    evidence = pd.read_csv(tmp_path / "t.csv.sdc.csv", dtype={"sex": str}).set_index("sex")
    # sex 1: a gives 5 (and a missing value), b 3, c 9 -> 9, 5, smallest 3; sex 2: d -2, e 7 + 4 = 11
    assert tuple(evidence.loc["1", ["top1", "top2", "smallest", "missing"]]) == (9, 5, 3, 1)
    assert tuple(evidence.loc["2", ["top1", "top2", "smallest", "negatives"]]) == (11, -2, -2, 1)


def test_release_table_of_means_divides_by_the_values_present(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = _read(release_table(ROWS, ["sex", "age"], name="t.csv", value="paid", statistic="mean"))
    evidence = _read(tmp_path / "t.csv.sdc.csv")
    assert table[("1", "old")]["mean"] == 6 and table[("1", "young")]["mean"] == 5  # 5 over 1 value, not 2 rows
    assert math.isnan(table[("2", "old")]["mean"]) and evidence[("2", "young")]["total"] == 9
    assert "total" not in table[("1", "old")]
    assert json.loads((tmp_path / "t.csv.sdc.json").read_text())["mean"] == "mean"


def test_release_table_refuses_an_unknown_statistic(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="statistic must be"):
        release_table(ROWS, ["sex"], name="t.csv", value="paid", statistic="median")
    with pytest.raises(ValueError, match="rename that grouping column"):
        release_table(ROWS.rename(columns={"age": "n"}), ["sex", "n"], name="t.csv")


def test_release_table_output_passes_through_the_checks_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = release_table(ROWS, ["sex", "age"], name="t.csv", value="paid")
    report = check_file(path, params=Parameters(threshold=2))
    dominance = _by_cell(report, "dominance")
    assert dominance["sex=2, age=young"].outcome == "review"  # the -2
    assert "sex=2, age=old" not in dominance  # empty: the zeros rule judges it
    assert [f.cell for f in report.findings if f.rule == "missing"] == ["sex=1, age=young"]


def test_a_count_table_does_not_inherit_the_evidence_of_an_earlier_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    release_table(ROWS, ["sex"], name="t.csv", value="paid")
    release_table(ROWS, ["sex", "age"], name="t.csv")
    assert not (tmp_path / "t.csv.sdc.csv").exists()
    assert check_file(tmp_path / "t.csv", params=Parameters(threshold=2)).structure["kind"] == "frequency"
