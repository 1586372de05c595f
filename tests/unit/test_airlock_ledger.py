"""Differencing against the release ledger (SPE-08): a table that differs from a released one by
fewer persons than the threshold isolates them, whatever the tables' shapes."""

from pathlib import Path

from bastide.airlock.ledger import Released, differencing, entry
from bastide.airlock.rules import Parameters
from bastide.airlock.tables import read


def _table(tmp_path: Path, text: str, name: str = "new.csv"):
    path = tmp_path / name
    path.write_text(text)
    return read(path)


def _released(tmp_path: Path, text: str) -> Released:
    kept = entry(_table(tmp_path, text, "old.csv"))
    return Released("REL-000001", "old.csv", tuple(kept["dimensions"]),
                    tuple((tuple(k), c) for k, c in kept["cells"]))


ALL = "sex,n\n1,120\n2,130\n"


def test_a_population_three_smaller_is_caught_on_the_total(tmp_path):
    """All diabetics by sex, then those not over 90 by sex: 3 persons over 90 are isolated."""
    [found] = differencing(_table(tmp_path, "sex,n\n1,118\n2,129\n"), [_released(tmp_path, ALL)], Parameters())
    assert found.rule == "differencing" and found.outcome == "blocked" and found.value == 3
    assert "the total" in found.message and found.parameters["released"] == "REL-000001"


def test_another_cut_of_the_same_population_is_fine(tmp_path):
    by_age = "age,n\n0-64,140\n65+,110\n"  # the same 250 persons by age: nothing new about anyone
    assert list(differencing(_table(tmp_path, by_age), [_released(tmp_path, ALL)], Parameters())) == []


def test_a_shared_dimension_margin_is_compared(tmp_path):
    released = _released(tmp_path, "sex,age,n\n1,young,60\n1,old,60\n2,young,65\n2,old,65\n")
    new = "sex,region,n\n1,nord,62\n1,sud,62\n2,nord,65\n2,sud,65\n"  # 4 more men, the same women
    [found] = differencing(_table(tmp_path, new), [released], Parameters())
    assert "the total" in found.message or "sex=1" in found.message


def test_cells_of_identical_tables_are_compared_one_by_one(tmp_path):
    released = _released(tmp_path, "sex,age,n\n1,young,60\n1,old,60\n2,young,65\n2,old,65\n")
    shifted = "sex,age,n\n1,young,62\n1,old,58\n2,young,65\n2,old,65\n"  # same totals and sex margins
    [found] = differencing(_table(tmp_path, shifted), [released], Parameters())
    assert "age=young" in found.message or "age=old" in found.message


def test_a_suppressed_cell_hides_its_margins(tmp_path):
    released = _released(tmp_path, "sex,n\n1,120\n2,c\n")
    assert list(differencing(_table(tmp_path, "sex,n\n1,120\n2,127\n"), [released], Parameters())) == []


def test_large_differences_are_not_differencing(tmp_path):
    assert list(differencing(_table(tmp_path, "sex,n\n1,220\n2,330\n"), [_released(tmp_path, ALL)], Parameters())) == []


def test_renaming_a_column_and_padding_a_row_do_not_hide_a_difference(tmp_path):
    """Issue 14 "Why" 4: counts by sex released; the same minus one person, `sex` renamed `gender`
    and a padding row added, passed."""
    released = _released(tmp_path, "sex,n\n1,120\n2,130\n")
    for attempt, text in {
        "renamed": "gender,n\n1,119\n2,130\n",
        "renamed, padded": "gender,n\n1,119\n2,130\n9,40\n",
        "renamed, re-written codes": "GENDER,n\n01,119\n02 ,130\n",
        "renamed, another dimension beside": "gender,area,n\n1,north,60\n1,south,59\n2,north,65\n2,south,65\n",
    }.items():
        found = list(differencing(_table(tmp_path, text), [released], Parameters()))
        assert found and found[0].value == 1, (attempt, [f.message for f in found])


def test_a_padding_row_does_not_fake_a_large_difference_either(tmp_path):
    """The same people and a new category: nothing isolated, nothing reported."""
    released = _released(tmp_path, "sex,n\n1,120\n2,130\n")
    assert list(differencing(_table(tmp_path, "gender,n\n1,120\n2,130\n9,15\n"), [released], Parameters())) == []
