"""The public register's CSV never carries a formula (issue 14 "Why" 8; OWASP CSV injection): a
title an applicant typed as =HYPERLINK(…) or +cmd|… is shown as text by a spreadsheet."""

import csv
import io

import pytest

from bastide.governance.register import FIELDS, to_csv

ATTACKS = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tx", "\rx"]


@pytest.mark.parametrize("title", ATTACKS)
def test_a_formula_is_quoted(title):
    row = {f: None for f in FIELDS} | {"reference": "APP-000001", "title": title}
    read = list(csv.DictReader(io.StringIO(to_csv([row]), newline="")))[0]
    assert read["title"] == "'" + title  # the leading quote makes it text; the rest is kept


def test_ordinary_values_are_left_as_they_are():
    row = {f: None for f in FIELDS} | {"reference": "APP-000002", "title": "Diabète et grossesse", "call": 3,
                                       "valid_until": "2027-12-31"}
    read = list(csv.DictReader(io.StringIO(to_csv([row]), newline="")))[0]
    assert (read["title"], read["call"], read["valid_until"]) == ("Diabète et grossesse", "3", "2027-12-31")
