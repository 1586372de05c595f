"""What the dictionary tells of a variable's values (issue 18, item 1), counted from the batches as
they are written (base/profile.py). Each answer below is worked out by hand from the batch."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

from bastide.base import profile
from bastide.base.profile import CODES_KEPT, Profile
from bastide.base.schema import Column, TableSchema

SCHEMA = TableSchema(name="T", title="", product="", primary_key=(), foreign_keys=(), missing_values=(),
                     schema_hash="", columns=(Column("BEN_NIR_PSA", "string"),  # an identifier: no nomenclature
                                              Column("DGN_PAL", "string", nomenclature="IR_CIM_V"),
                                              Column("EXE_SOI_DTD", "date"), Column("FLX_TRT_DTD", "datetime"),
                                              Column("PRS_NAT_REF", "integer", nomenclature="IR_NAT_V")))


def batch(**columns) -> pa.RecordBatch:
    return pa.record_batch(columns)


def test_a_dates_real_span_and_its_placeholders():
    """1600-01-01 and 2600-01-01 are the SNDS's « no date » (base/deviations.py): counted apart,
    never the span's ends; an empty value is neither."""
    seen = Profile()
    seen.add(batch(EXE_SOI_DTD=pa.array([date(2023, 1, 15), date(1600, 1, 1), None, date(2024, 6, 30),
                                         date(2600, 1, 1)])), SCHEMA)
    assert seen.dates["EXE_SOI_DTD"] == ["2023-01-15", "2024-06-30", 2]
    assert seen.nulls["EXE_SOI_DTD"] == 1
    assert seen.summary()["EXE_SOI_DTD"] == {"first": "2023-01", "last": "2024-06", "placeholders": 2}


def test_a_timestamp_is_a_date_too_and_a_column_of_placeholders_has_no_span():
    seen = Profile()
    seen.add(batch(FLX_TRT_DTD=pa.array([datetime(2024, 2, 29, 23, 59), None]),
                   EXE_SOI_DTD=pa.array([date(1, 1, 1), date(1600, 1, 1)])), SCHEMA)
    assert seen.dates["FLX_TRT_DTD"] == ["2024-02-29", "2024-02-29", 0]
    assert seen.summary()["EXE_SOI_DTD"] == {"first": None, "last": None, "placeholders": 2}


def test_the_codes_a_column_uses_are_counted_across_batches_and_identifiers_are_never_kept():
    seen = Profile()
    seen.add(batch(BEN_NIR_PSA=pa.array(["P1", "P2"]), DGN_PAL=pa.array(["E11", "I10"]),
                   PRS_NAT_REF=pa.array([1111, 1111])), SCHEMA)
    seen.add(batch(BEN_NIR_PSA=pa.array(["P3", "P3"]), DGN_PAL=pa.array(["E11", None]),
                   PRS_NAT_REF=pa.array([3311, None])), SCHEMA)
    assert seen.codes == {"DGN_PAL": {"E11", "I10"}, "PRS_NAT_REF": {"1111", "3311"}}
    assert "BEN_NIR_PSA" not in seen.values()["codes"] and "P1" not in str(seen.values())
    assert seen.summary()["DGN_PAL"] == {"codes": 2, "capped": False}
    assert seen.nulls == {"DGN_PAL": 1, "PRS_NAT_REF": 1}


def test_more_codes_than_kept_are_many():
    seen = Profile()
    seen.add(batch(DGN_PAL=pa.array([f"C{i:05d}" for i in range(CODES_KEPT + 1)])), SCHEMA)
    assert seen.codes["DGN_PAL"] is None
    assert seen.summary()["DGN_PAL"] == {"codes": CODES_KEPT, "capped": True}
    seen.add(batch(DGN_PAL=pa.array(["E11"])), SCHEMA)  # stays many
    assert seen.codes["DGN_PAL"] is None


def test_a_tables_profile_is_the_union_of_its_folders():
    january, february = Profile(), Profile()
    january.add(batch(DGN_PAL=pa.array(["E11", "I10"]), EXE_SOI_DTD=pa.array([date(2023, 1, 3), None])), SCHEMA)
    february.add(batch(DGN_PAL=pa.array(["I10", "J45"]), EXE_SOI_DTD=pa.array([date(2023, 2, 9), date(1600, 1, 1)])),
                 SCHEMA)
    table = profile.of_table([january, february])
    assert table.summary() == {"EXE_SOI_DTD": {"first": "2023-01", "last": "2023-02", "placeholders": 1},
                               "DGN_PAL": {"codes": 3, "capped": False}}  # E11, I10, J45: I10 once


def test_a_reused_folder_keeps_its_profile_and_an_older_one_only_its_empty_values():
    seen = Profile()
    seen.add(batch(DGN_PAL=pa.array(["E11", None]), EXE_SOI_DTD=pa.array([date(2023, 1, 3), None])), SCHEMA)
    again = Profile.kept(dict(seen.nulls), seen.values())
    assert again.summary() == seen.summary() and again.nulls == seen.nulls
    older = Profile.kept({"DGN_PAL": 1}, None)
    assert older.nulls == {"DGN_PAL": 1} and older.summary() is None
    assert profile.of_table([seen, older]).summary() is None  # one folder unknown: the table's values unknown
    assert Profile.kept(None, None) is None and profile.of_table([seen, None]) is None
