"""The SNDS analytics layer on hand-made rows (issue 6): DCIR flattening and its filters, flux
slices and care years, cancellations netted, PMSI stays without row explosion and their
filters, and each events extractor. DuckDB here; the same SQL on Spark is in the integration tests."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from bastide.analytics import dcir, events, pmsi
from bastide.analytics.views import used_by, workspace_views
from bastide.workspaces.compile import DCIR_KEYS
from bastide.query.dialect import DUCKDB


def _keys(n: int, flux: date = date(2023, 1, 1)) -> dict:
    """The 9 DCIR keys of prestation number n in a flux month."""
    values = {k: 1 for k in DCIR_KEYS}
    values.update(DCT_ORD_NUM=n, FLX_DIS_DTD=flux, FLX_TRT_DTD=flux, ORG_CLE_NUM="01751")
    return values


def _table(rows: list[dict], types: dict[str, pa.DataType] | None = None) -> pa.Table:
    names = list(dict.fromkeys(k for r in rows for k in r))
    types = types or {}
    return pa.table({n: pa.array([r.get(n) for r in rows], types.get(n)) for n in names})


def _prs(n, person="P1", care=date(2023, 1, 5), flux=date(2023, 1, 1), **extra):
    return {**_keys(n, flux), "BEN_NIR_PSA": person, "EXE_SOI_DTD": care, "PRS_ACT_QTE": 1.0, "PRS_PAI_MNT": 10.0,
            "DPN_QLF": 0, "BSE_PRS_NAT": 1111, "CPL_MAJ_TOP": 0, **extra}


def _pha(n, cip, boxes=1, flux=date(2023, 1, 1)):
    return {**_keys(n, flux), "PHA_PRS_IDE": cip, "PHA_ACT_QSN": boxes, "ORG_CLE_NEW": "x"}


def _load(engine, tables: dict[str, pa.Table]) -> dict[str, pa.Schema]:
    for name, table in tables.items():
        engine.register(name, table)
    views = workspace_views({n: t.schema for n, t in tables.items()}, engine.dialect)
    for name, sql in views:
        engine.define_view(name, sql)
    return {n: t.schema for n, t in tables.items()}


def _rows(engine, sql: str) -> list[tuple]:
    return engine.con.execute(sql).fetchall()


DCIR_TABLES = {
    "ER_PRS_F": _table([_prs(1), _prs(2, person="P2"), _prs(3, DPN_QLF=71), _prs(4, CPL_MAJ_TOP=2),
                        _prs(5, person="P3", flux=date(2023, 2, 1)), _prs(6, BSE_PRS_NAT=0)]),
    "ER_PHA_F": _table([_pha(1, 3400001), _pha(1, 3400002, boxes=2), _pha(3, 3400003)]),
    "ER_BIO_F": _table([{**_keys(2), "BIO_PRS_IDE": 1104, "BIO_ACT_QSN": 1, "ORG_CLE_NEW": "x"}]),
    "ER_ETE_F": _table([{**_keys(2), "ETE_IND_TAA": 0, "PRS_PAI_MNT": 3.0}]),
}


def test_detail_tables_join_on_the_nine_keys_and_the_standard_filters_apply(engine):
    _load(engine, DCIR_TABLES)
    flat = _rows(engine, 'SELECT DCT_ORD_NUM, PHA_PRS_IDE, BIO_PRS_IDE, "ER_ETE_F__PRS_PAI_MNT" FROM dcir_flat '
                         "ORDER BY 1, 2")
    # prestation 1 has two dispensation lines (two rows); 3 is an information line, 6 has no
    # nature (both dropped); 4, a majoration, stays by default; a taken name gets its table's prefix
    assert flat == [(1, 3400001, None, None), (1, 3400002, None, None), (2, None, 1104, 3.0), (4, None, None, None),
                    (5, None, None, None)]


def test_filters_are_options(engine):
    for name, table in DCIR_TABLES.items():
        engine.register(name, table)
    columns = {n: t.schema.names for n, t in DCIR_TABLES.items()}
    counting_visits = dcir.flat_dcir_sql(columns, filters=dcir.DcirFilters(majorations=True))
    assert sorted({r[0] for r in _rows(engine, f"SELECT DCT_ORD_NUM FROM ({counting_visits})")}) == [1, 2, 5]
    nothing = dcir.DcirFilters(information_lines=False, no_nature=False, direct_taa=False)
    everything = dcir.flat_dcir_sql(columns, filters=nothing)
    assert sorted({r[0] for r in _rows(engine, f"SELECT DCT_ORD_NUM FROM ({everything})")}) == [1, 2, 3, 4, 5, 6]
    engine.register("ER_ETE_F", _table([{**_keys(2), "ETE_IND_TAA": 1, "PRS_PAI_MNT": 3.0}]))
    taa = dcir.flat_dcir_sql(columns)
    assert 2 not in {r[0] for r in _rows(engine, f"SELECT DCT_ORD_NUM FROM ({taa})")}  # billed directly: PMSI's


def test_a_flux_month_slice_reads_that_month_on_both_sides(engine):
    _load(engine, DCIR_TABLES)
    columns = {n: t.schema.names for n, t in DCIR_TABLES.items()}
    january = dcir.flat_dcir_sql(columns, flux_month=date(2023, 1, 1))
    february = dcir.flat_dcir_sql(columns, flux_month=date(2023, 2, 1))
    assert {r[0] for r in _rows(engine, f"SELECT DCT_ORD_NUM FROM ({january})")} == {1, 2, 4}
    assert {r[0] for r in _rows(engine, f"SELECT DCT_ORD_NUM FROM ({february})")} == {5}
    assert dcir.flat_dcir_sql(columns, flux_month=date(2023, 12, 1)).count("DATE '2024-01-01'") == 4  # each side


def test_a_care_year_spans_its_eighteen_flux_months(engine):
    tables = {"ER_PRS_F": _table([_prs(1, care=date(2023, 12, 20), flux=date(2024, 6, 1)),
                                  _prs(2, care=date(2023, 12, 20), flux=date(2024, 7, 1)),
                                  _prs(3, care=date(2023, 1, 2), flux=date(2022, 12, 1))])}
    _load(engine, tables)
    assert _rows(engine, "SELECT DCT_ORD_NUM, CARE_YEAR FROM dcir_care_year") == [(1, 2023)]


def test_cancellation_lines_net_out(engine):
    tables = {"ER_PRS_F": _table([_prs(1), _prs(2, flux=date(2023, 2, 1)), _prs(3), _prs(4, flux=date(2023, 2, 1))]),
              "ER_PHA_F": _table([_pha(1, 3400001, boxes=2), _pha(2, 3400001, boxes=-2, flux=date(2023, 2, 1)),
                                  _pha(3, 3400009, boxes=3), _pha(4, 3400009, boxes=-1, flux=date(2023, 2, 1))]),
              "IR_CIP_V": _table([{"PHA_PRS_IDE": 3400009, "PHA_ATC_CLA": "A10BA02"}])}
    _load(engine, tables)
    # the first drug was cancelled entirely; two of the second's three boxes remain
    assert _rows(engine, "SELECT person, cip, atc, boxes FROM drug_dispensations") == [("P1", "3400009", "A10BA02", 2)]
    drug_events = _rows(engine, "SELECT category, value, weight FROM events ORDER BY category")
    assert drug_events == [("drug_atc1", "A", 2.0), ("drug_atc3", "A10", 2.0), ("drug_atc4", "A10B", 2.0),
                           ("drug_atc5", "A10BA", 2.0), ("drug_atc7", "A10BA02", 2.0), ("drug_cip", "3400009", 2.0)]
    flat = {n: t.schema.names for n, t in tables.items()}
    netted = dcir.netted_sql({c for _t, _c, c in dcir.flat_columns(flat)}, ["BEN_NIR_PSA", "PHA_PRS_IDE"])
    assert _rows(engine, netted) == [("P1", 3400009, 2, 2)]


def _stay(eta, rsa, **b):
    return {"ETA_NUM": eta, "RSA_NUM": rsa, "DGN_PAL": "E11", "DGN_REL": None, "GRG_GHM": "10M02T", "GHS_NUM": 1,
            "SEJ_TYP": None, "SEJ_NBJ": 3, "SOR_ANN": 2023, **b}


def _chain(eta, rsa, person="P1", **c):
    return {"ETA_NUM": eta, "RSA_NUM": rsa, "NIR_ANO_17": person, "EXE_SOI_DTD": date(2023, 3, 1),
            "EXE_SOI_DTF": date(2023, 3, 4), "NIR_RET": "0", "SEJ_RET": False, **c}


MCO = {
    "T_MCOaaB": _table([_stay(1, 1), _stay(130780521, 2, SOR_ANN=2017), _stay(130780521, 3, SOR_ANN=2018),
                        _stay(4, 4, SEJ_TYP="B"), _stay(5, 5, SEJ_TYP="B", GRG_GHM="28Z04Z"),
                        _stay(6, 6, GRG_GHM="90Z00Z"), _stay(7, 7, GHS_NUM=9999), _stay(8, 8),
                        _stay(9, 9, SEJ_TYP="B", GRG_GHM="28Z14Z"), _stay(10, 10), _stay(11, 11), _stay(12, 12)]),
    "T_MCOaaC": _table([_chain(n, n) for n in (1, 4, 5, 6, 7, 9)] + [_chain(130780521, 2), _chain(130780521, 3),
                                                                     _chain(8, 8, NIR_RET="1"),
                                                                     _chain(10, 10, NAI_RET="2", COH_SEX_RET=False),
                                                                     _chain(11, 11, COH_SEX_RET=True),
                                                                     _chain(12, 12, "XXXXXXXXXXXXXXXXD")]),
    "T_MCOaaD": _table([{"ETA_NUM": "1", "RSA_NUM": "1", "ASS_DGN": d} for d in ("I10", "E78", "N18")]),
    "T_MCOaaA": _table([{"ETA_NUM": "1", "RSA_NUM": "1", "CDC_ACT": a, "ENT_DAT_DEL": 1} for a in
                        ("YYYY001", "DEQP003", "ZBQK002", "EBQH001")]),
}


def test_pmsi_stays_keep_one_row_each_and_the_quality_filters_apply(engine):
    _load(engine, MCO)
    # fiches/scalpel_pipeline.md and fiche_beneficiaire.md: 2 duplicate FINESS until 2017; 4 an
    # inter-facility stay; 5 an inter-facility haemodialysis session (28Z04Z) kept, 9 a transfusion
    # session (28Z14Z) not; 6 error GHM; 7 not reimbursed; 8, 10, 11 a chaining code in error (NIR,
    # birth date, sex coherence); 12 the placeholder patient
    assert sorted(r[0] for r in _rows(engine, "SELECT RSA_NUM FROM mco_stays")) == [1, 3, 5]
    stacked = dict(_rows(engine, "SELECT SOURCE, count(*) FROM mco_flat WHERE RSA_NUM = 1 GROUP BY 1"))
    assert stacked == {"B": 1, "D": 3, "A": 4}  # 8 rows, not the 12 of a join of D and A
    assert _rows(engine, 'SELECT count(*) FROM mco_flat WHERE SOURCE = \'D\' AND "A__CDC_ACT" IS NOT NULL') == [(0,)]
    kept = pmsi.stays_sql({n: t.schema.names for n, t in MCO.items()}, filters=pmsi.McoFilters(
        duplicate_finess=False, inter_facility=False, errors=False, not_reimbursed=False, chaining=False))
    assert len(_rows(engine, kept)) == 12


def test_pmsi_events_diagnoses_acts_and_stays(engine):
    _load(engine, MCO)
    got = _rows(engine, 'SELECT category, value, weight, "start", "end", group_id FROM events WHERE group_id = \'1_1_2023\' '
                        "ORDER BY category, value")
    stay = (date(2023, 3, 1), date(2023, 3, 4), "1_1_2023")
    assert got == [("mco_associated_diagnosis", d, None, *stay) for d in ("E78", "I10", "N18")] + \
        [("mco_ccam_act", a, None, date(2023, 3, 2), None, "1_1_2023") for a in ("DEQP003", "EBQH001", "YYYY001", "ZBQK002")] + \
        [("mco_hospital_stay", "10M02T", 3.0, *stay), ("mco_main_diagnosis", "E11", None, *stay)]


def test_long_term_illnesses_deaths_and_dcir_acts(engine):
    tables = {
        "IR_IMB_R": _table([{"BEN_NIR_PSA": "P1", "IMB_ETM_NAT": 41, "MED_MTF_COD": "E11", "IMB_ALD_NUM": 8,
                             "IMB_ALD_DTD": date(2020, 1, 1), "IMB_ALD_DTF": date(2030, 1, 1)},
                            {"BEN_NIR_PSA": "P2", "IMB_ETM_NAT": 11, "MED_MTF_COD": "S72", "IMB_ALD_NUM": None,
                             "IMB_ALD_DTD": date(2021, 1, 1), "IMB_ALD_DTF": None}]),
        "IR_BEN_R": _table([{"BEN_NIR_PSA": "P1", "BEN_RNG_GEM": 1, "BEN_IDT_ANO": "I1", "BEN_DCD_DTE": None},
                            {"BEN_NIR_PSA": "P2", "BEN_RNG_GEM": 1, "BEN_IDT_ANO": "I2", "BEN_DCD_DTE": date(2023, 6, 1)},
                            {"BEN_NIR_PSA": "P2", "BEN_RNG_GEM": 2, "BEN_IDT_ANO": "I2", "BEN_DCD_DTE": date(2023, 6, 1)}]),
        "KI_CCI_R": _table([{"BEN_IDT_ANO": "I2", "DCD_CIM_COD": "I219", "BEN_DCD_DTE": date(2023, 6, 1)},
                            {"BEN_IDT_ANO": None, "DCD_CIM_COD": "C349", "BEN_DCD_DTE": date(2023, 7, 1)}]),
        "KI_ECD_R": _table([{"BEN_IDT_ANO": "I2", "CER_LIG_NUM": 1, "ECD_CAU_RNG": r, "ECD_CIM_COD": c,
                             "BEN_DCD_DTE": date(2023, 6, 1)} for r, c in ((1, "I219"), (2, "E119"), (3, None))]),
        "ER_PRS_F": _table([_prs(1)]),
        "ER_CAM_F": _table([{**_keys(1), "CAM_PRS_IDE": "QZFA036", "ORG_CLE_NEW": "x"}]),
    }
    _load(engine, tables)
    got = _rows(engine, 'SELECT person, category, value, group_id, "start", "end" FROM events ORDER BY category, weight')
    assert got == [("P1", "ald", "E11", "8", date(2020, 1, 1), date(2030, 1, 1)),  # work accident (11): not an ALD
                   ("P1", "dcir_ccam_act", "QZFA036", "2023-01-01_2023-01-01_1_1_1_01751_1", date(2023, 1, 5), None),
                   ("P2", "death", "death", None, date(2023, 6, 1), date(2023, 6, 1)),  # once per person
                   ("P2", "death_cause", "I219", None, date(2023, 6, 1), date(2023, 6, 1)),  # an unlinked death: none
                   ("P2", "death_certificate_cause", "I219", "1", date(2023, 6, 1), date(2023, 6, 1)),
                   ("P2", "death_certificate_cause", "E119", "1", date(2023, 6, 1), date(2023, 6, 1))]  # no empty cause
    ranks = _rows(engine, "SELECT value, weight FROM events WHERE category = 'death_certificate_cause' ORDER BY weight")
    assert ranks == [("I219", 1.0), ("E119", 2.0)]


def test_views_follow_the_tables_the_extract_has():
    only_people = workspace_views({"IR_BEN_R": pa.schema([("BEN_NIR_PSA", pa.string()),
                                                          ("BEN_DCD_DTE", pa.date32())])}, DUCKDB)
    assert [name for name, _sql in only_people] == ["persons", "deaths", "events"]
    assert workspace_views({"IR_NAT_V": pa.schema([("PRS_NAT", pa.int64())])}, DUCKDB) == []
    assert events.events_sql(set(), set(), DUCKDB) is None


def test_a_flattening_is_written_month_by_month_and_encrypted(engine, tmp_path):
    import secrets

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from bastide.analytics.flatten import flatten_dcir, months_of
    from bastide.keys.parquet import decryption_properties

    def month(table: str, m: date):  # each month's rows only, as a month's folder of the base holds them
        rows = DCIR_TABLES[table].filter(pc.equal(DCIR_TABLES[table]["FLX_DIS_DTD"], m))
        return rows if rows.num_rows else None

    key = secrets.token_bytes(32)
    months = months_of(2023)[:2]
    written = flatten_dcir(engine, month=month, schemas={n: t.schema for n, t in DCIR_TABLES.items()}, months=months,
                           folder=tmp_path, key_id="dk-flat", key=key)
    rows = {m: sum(r for _p, r in w.files) for m, w in written.items()}
    assert rows == {date(2023, 1, 1): 4, date(2023, 2, 1): 1}  # as dcir_flat, month by month
    first = written[date(2023, 1, 1)].files[0][0]
    assert first.parent.name == "flx_month=2023-01" and "PHA_PRS_IDE" in written[date(2023, 1, 1)].columns
    with pytest.raises(OSError):
        pq.read_table(first)  # encrypted
    assert pq.read_table(first, decryption_properties=decryption_properties({"dk-flat": key})).num_rows > 0
    assert months_of(2023, care_year=True)[-1] == date(2024, 6, 1) and len(months_of(2023, care_year=True)) == 18


def test_a_query_gets_the_views_it_reads_and_theirs_only():
    views = workspace_views({**{n: t.schema for n, t in DCIR_TABLES.items()}, **{n: t.schema for n, t in MCO.items()},
                             "IR_CIP_V": pa.schema([("PHA_PRS_IDE", pa.int64()), ("PHA_ATC_CLA", pa.string())])}, DUCKDB)
    names = lambda sql: [n for n, _body in used_by(views, sql)]  # noqa: E731
    assert names("SELECT count(*) FROM ER_PRS_F") == []
    assert names("SELECT * FROM dcir_care_year") == ["dcir_flat", "dcir_care_year"]
    assert names('SELECT * FROM "MCO_FLAT"') == ["mco_stays", "mco_flat"]
    assert names("SELECT * FROM events") == ["dcir_flat", "drug_dispensations", "mco_stays", "events"]
    assert names("SELECT 'my_events' FROM dcir_flatter") == []  # whole names only


def _yearly(rows: list[dict]) -> pa.Table:
    return _table(rows, {"year": pa.int32()})


# The same establishment numbers its stays 1, 2… again every year (fiches/concepts_PMSI.md, « L'identification
# d'un séjour »: T_MCOaaB of year AA holds the stays ended in AA). An extract's PMSI tables carry their year.
TWO_YEARS = {
    "T_MCOaaB": _yearly([_stay(1, 1, DGN_PAL="J18", SOR_ANN=2022, year=2022), _stay(1, 1, year=2023)]),
    "T_MCOaaC": _yearly([_chain(1, 1, person="P1", year=2022), _chain(1, 1, person="P2", year=2023)]),
    "T_MCOaaD": _yearly([{"ETA_NUM": "1", "RSA_NUM": "1", "ASS_DGN": "I10", "year": 2022},
                         {"ETA_NUM": "1", "RSA_NUM": "1", "ASS_DGN": "N18", "year": 2023},
                         {"ETA_NUM": "1", "RSA_NUM": "1", "ASS_DGN": "E78", "year": 2023}]),
    "T_MCOaaA": _yearly([{"ETA_NUM": "1", "RSA_NUM": "1", "CDC_ACT": "DEQP003", "ENT_DAT_DEL": 0, "year": 2023}]),
}


def test_a_stay_number_used_again_the_next_year_is_another_stay(engine):
    _load(engine, TWO_YEARS)
    # worked out by hand: one stay of P1 in 2022 (J18; I10), one of P2 in 2023 (E11; N18, E78; DEQP003)
    assert sorted(_rows(engine, 'SELECT "year", NIR_ANO_17, DGN_PAL FROM mco_stays')) == \
        [(2022, "P1", "J18"), (2023, "P2", "E11")]
    assert sorted(_rows(engine, "SELECT person, category, value FROM events WHERE category LIKE 'mco%' "
                                "AND category <> 'mco_hospital_stay'")) == [
        ("P1", "mco_associated_diagnosis", "I10"), ("P1", "mco_main_diagnosis", "J18"),
        ("P2", "mco_associated_diagnosis", "E78"), ("P2", "mco_associated_diagnosis", "N18"),
        ("P2", "mco_ccam_act", "DEQP003"), ("P2", "mco_main_diagnosis", "E11")]
    assert dict(_rows(engine, "SELECT SOURCE, count(*) FROM mco_flat GROUP BY 1")) == {"B": 2, "D": 3, "A": 1}


def test_without_the_year_the_same_numbers_would_mix_two_patients(engine):
    """What the year prevents: the tables without it, as a yearly file read back whole gave them."""
    _load(engine, {name: table.drop_columns(["year"]) for name, table in TWO_YEARS.items()})
    assert len(_rows(engine, "SELECT * FROM mco_stays")) == 4  # each 2022/2023 summary with both patients


def test_sessions_are_counted_apart_from_stays(engine):
    """GHM of CMD 28 are sessions (MS_GM9_V: « Hémodialyse, en séances »), not hospitalisations."""
    _load(engine, MCO)
    got = _rows(engine, "SELECT category, value FROM events WHERE category IN ('mco_hospital_stay', 'mco_session') "
                        "ORDER BY category, value")
    assert got == [("mco_hospital_stay", "10M02T"), ("mco_hospital_stay", "10M02T"), ("mco_session", "28Z04Z")]


def test_prestations_of_a_fictitious_nir_are_left_out(engine):
    """fiches/fiche_beneficiaire.md: a fictitious NIR (IVG, STI, flat-rate payments…) names no
    person; a provisional one (03, 04) does."""
    _load(engine, {"ER_PRS_F": _table([_prs(1, BEN_CDI_NIR="00"), _prs(2, BEN_CDI_NIR="01"), _prs(3, BEN_CDI_NIR="04"),
                                       _prs(4, BEN_CDI_NIR=None)])})
    assert [r[0] for r in _rows(engine, "SELECT DCT_ORD_NUM FROM dcir_flat ORDER BY 1")] == [1, 3, 4]


def test_each_medical_units_diagnoses_are_events_of_the_stay(engine):
    """fiches/requete_type_pmsi_mco.md: T_MCOaaUM has « une ligne par diagnostic principal d'UM »,
    with the unit's DP and DR (from 2008). Stay 1 went through two units: the stay's DP E11 was
    the first's; the intensive-care unit's DP was J96 with DR I50. A stay the filters drop (6, GHM
    90) gives no unit event."""
    units = _table([{"ETA_NUM": "1", "RSA_NUM": "1", "UM_ORD_NUM": 1, "DGN_PAL": "E11", "DGN_REL": None},
                    {"ETA_NUM": "1", "RSA_NUM": "1", "UM_ORD_NUM": 2, "DGN_PAL": "J96", "DGN_REL": "I50"},
                    {"ETA_NUM": "6", "RSA_NUM": "6", "UM_ORD_NUM": 1, "DGN_PAL": "C61", "DGN_REL": None}])
    _load(engine, {**MCO, "T_MCOaaUM": units})
    got = _rows(engine, "SELECT category, value, group_id FROM events WHERE category LIKE 'mco_unit%' ORDER BY 1, 2")
    assert got == [("mco_unit_linked_diagnosis", "I50", "1_1_2023"), ("mco_unit_main_diagnosis", "E11", "1_1_2023"),
                   ("mco_unit_main_diagnosis", "J96", "1_1_2023")]
