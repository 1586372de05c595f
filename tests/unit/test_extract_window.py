"""What an extract reads and whom it selects, by the dates (issue 15, item 4). Worked out by hand:
- fiches/sas_prestation_dcir.md: DCIR is stored by flux month, care of a year is paid in that
  year and the months after; a permit's years are care years, read from their flux months and
  `flux_lag_months` more (6 by default, sndsTools' dis_dtd_lag_months);
- age at the reference date from the birth year and month (IR_BEN_R.BEN_NAI_MOI; no day in the
  base: the birthday is the first of the month);
- fiches/fiche_beneficiaire.md: a fictitious NIR (IR_NIR_V TOP_NIR_SNI 1) names no person; a
  provisional one (03, 04) does."""

from __future__ import annotations

from datetime import date

import pytest

from bastide.base.manifest import FileEntry
from bastide.errors import InvalidInput
from bastide.workspaces.compile import COHORT, claims_sql, cohort_sql, table_plan
from bastide.query.source import SnapshotFiles
from bastide.workspaces.spec import ExtractSpec, Population
from tests.extract_sql import as_sources, persons_table
from tests.unit.test_analytics import _prs, _rows, _table

KEY = b"k" * 32


def _spec(years=(2023,), lag=6, population=Population()) -> ExtractSpec:
    return ExtractSpec("permit", "snds@r", "root", ("ER_PRS_F", "IR_BEN_R"), years, population=population,
                       flux_lag_months=lag)


def test_the_last_flux_month_read_is_the_lag_after_the_last_care_year():
    assert [_spec(lag=6).last_flux_month, _spec(lag=0).last_flux_month, _spec((2023, 2024), 12).last_flux_month] == \
        ["2024-06", "2023-12", "2025-12"]


def test_the_lag_comes_from_the_permit_and_is_checked():
    permit = {"permit": "P", "issued_at": "2024-01-01", "data": {"snapshot": "s", "merkle_root": "r",
                                                                  "tables": ["ER_PRS_F"], "years": [2023]}}
    assert ExtractSpec.from_permit(permit).flux_lag_months == 6
    assert ExtractSpec.from_permit({**permit, "data": {**permit["data"], "flux_lag_months": 9}}).last_flux_month == \
        "2024-09"
    with pytest.raises(InvalidInput, match="flux_lag_months"):
        ExtractSpec.from_permit({**permit, "data": {**permit["data"], "flux_lag_months": 99}})


def test_the_files_read_are_the_years_and_the_lag_after_them():
    def entry(partition):
        return FileEntry(f"p/{partition}", "0" * 64, 1, 1, "T", "T", partition, "k")
    partitions = ["flx_month=2022-12", "flx_month=2023-01", "flx_month=2023-12", "flx_month=2024-06",
                  "flx_month=2024-07", "year=2023", "year=2024", None]
    files = SnapshotFiles("snds@r", [entry(p) for p in partitions])
    chosen = [f.partition for f in files.of("T", (2023,), "2024-06")]
    assert chosen == ["flx_month=2023-01", "flx_month=2023-12", "flx_month=2024-06", "year=2023", None]


def test_an_extract_keeps_care_of_its_years_whenever_it_was_paid(engine):
    prs = _table([
        _prs(1, "P1", care=date(2023, 12, 20), flux=date(2024, 3, 1)),  # 2023 care paid in 2024: kept
        _prs(2, "P1", care=date(2022, 12, 28), flux=date(2023, 1, 1)),  # 2022 care paid in 2023: not
        _prs(3, "P1", care=date(2024, 1, 5), flux=date(2024, 2, 1)),  # 2024 care: not
        _prs(4, "P1", care=date(2023, 6, 1), flux=date(2023, 6, 1)),  # kept
        _prs(5, "P2", care=date(2023, 6, 1), flux=date(2023, 6, 1)),  # not in the cohort
    ])
    as_sources(engine, {"ER_PRS_F": prs, "IR_BEN_R": persons_table("P1", "P2")})
    engine.register(COHORT, _table([{"person": "P1", "pseudonym": "x"}]))
    sql = claims_sql(_spec(), {"ER_PRS_F": prs.schema}, KEY, engine.dialect)
    assert sorted(r[0] for r in _rows(engine, f"SELECT DCT_ORD_NUM FROM ({sql}) AS c")) == [1, 4]


def _ben(person, year, month, cdi="00", sex=1):
    return {"BEN_NIR_PSA": person, "BEN_RNG_GEM": 1, "BEN_IDT_ANO": person, "BEN_NAI_ANN": year, "BEN_NAI_MOI": month,
            "BEN_CDI_NIR": cdi, "BEN_SEX_COD": sex}


def _cohort(engine, people: list[dict], population: Population) -> list[str]:
    schemas = as_sources(engine, {"IR_BEN_R": _table(people)})
    sql = cohort_sql(_spec(population=population), schemas, KEY, engine.dialect)
    return sorted(r[0] for r in _rows(engine, f"SELECT person FROM ({sql}) AS c"))


def test_age_on_the_reference_date_counts_the_birth_month(engine):
    people = [_ben("march", 1960, "03"), _ben("april", 1960, "04"), _ben("february", 1960, "02"),
              _ben("april59", 1959, "04"), _ben("unknown", 1960, None), _ben("bad", 1960, "99")]
    sixty_three = Population(age_min=63, age_max=63, age_on="2023-03-15")
    # on 15 March 2023: born March 1960 -> 63 (the first of March is past), April 1960 -> 62,
    # April 1959 -> 63; without a month, the year alone: 63
    assert _cohort(engine, people, sixty_three) == ["april59", "bad", "february", "march", "unknown"]


def test_a_fictitious_nir_is_never_in_a_cohort_and_a_provisional_one_is(engine):
    people = [_ben("certified", 1980, "05"), _ben("abortion", 1990, "01", cdi="01"),
              _ben("provisional", 1985, "07", cdi="04"), _ben("other", 1970, "02", cdi="08")]
    assert _cohort(engine, people, Population(sex=(1,))) == ["certified", "provisional"]
    assert _cohort(engine, people, Population()) == ["certified", "provisional"]


def test_an_acts_delay_goes_with_exact_dates_only(engine):
    """PSE-05: care dates to the month. ENT_DAT_DEL, the days from a stay's first day to an act,
    added to a first day given as the first of its month would make up a day (1 March + 3 = 4
    March): without exact dates the extract has no delay (the act is in its stay's month); with
    them, the delay and the exact day."""
    stays = _table([{"ETA_NUM": "1", "RSA_NUM": "1", "NIR_ANO_17": "A1", "EXE_SOI_DTD": date(2023, 3, 17)}])
    acts = _table([{"ETA_NUM": "1", "RSA_NUM": "1", "CDC_ACT": "DEQP003", "ENT_DAT_DEL": 3}])
    tables = {"IR_BEN_R": persons_table("A1"), "T_MCOaaC": stays, "T_MCOaaA": acts}
    for allowed, expected in (((), [(None,)]), (("exact_dates",), [(3,)])):
        schemas = as_sources(engine, tables)
        spec = ExtractSpec("permit", "snds@r", "root", tuple(tables), (2023,), allowed_identifiers=allowed)
        engine.materialise(COHORT, cohort_sql(spec, schemas, KEY, engine.dialect))
        assert _rows(engine, f'SELECT "ENT_DAT_DEL" FROM ({table_plan("T_MCOaaA", schemas["T_MCOaaA"], spec, KEY).sql})') \
            == expected
        day = _rows(engine, f'SELECT "EXE_SOI_DTD" FROM ({table_plan("T_MCOaaC", schemas["T_MCOaaC"], spec, KEY).sql})')
        assert day == ([(date(2023, 3, 17),)] if allowed else [(date(2023, 3, 1),)])
