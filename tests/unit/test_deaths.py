"""Deaths as the SNDS holds them (issue 15, item 4; requirement SNDS rules in
../shared/research/snds-rules.md): each expected row below is worked out by hand from
documentation-snds, formation_snds/documents_cnam/guide_cepidc/2-Chap2CausesDeces.md:

- IR_BEN_R.BEN_DCD_DTE is 1 January 1600 for the living and for deaths whose scheme does not
  send the date (« elle est forcée au 1er janvier 1600 »): no death;
- the CépiDc certificate meets the person through BEN_IDT_ANO, filled only when matched;
- a stay whose discharge mode is death (SOR_MOD '9', MS_SOR_V « Décès ») ends within a day of
  the death in more than 99 % of cases; the guide uses its end when IR_BEN_R has no date.
The date is the referential's, else the certificate's, else the stay's."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

from bastide.analytics.sql import real_date
from tests.unit.test_analytics import _chain, _load, _rows, _stay, _table

SENTINEL = date(1600, 1, 1)


def _ben(person, died, idt=None, rank=1):
    return {"BEN_NIR_PSA": person, "BEN_RNG_GEM": rank, "BEN_IDT_ANO": idt or f"I{person}", "BEN_DCD_DTE": died}


def _certificate(idt, died, cause="I219"):
    return {"BEN_IDT_ANO": idt, "DCD_CIM_COD": cause, "BEN_DCD_DTE": died}


def _ended(rsa, person, day, mode):
    """A stay of 2023 and its chaining, ending on `day` with discharge mode `mode`."""
    return _stay(1, rsa, SOR_MOD=mode), _chain(1, rsa, person, EXE_SOI_DTD=day, EXE_SOI_DTF=day)


STAYS = [_ended(1, "P3", date(2023, 3, 10), "9"), _ended(2, "P4", date(2023, 4, 20), "9"),
         _ended(3, "P5", date(2023, 2, 5), "9"), _ended(4, "P6", date(2023, 5, 2), "8")]
DEATHS = {
    "IR_BEN_R": _table([
        _ben("P1", SENTINEL),  # alive
        _ben("P2", date(2023, 6, 1)),  # known to the referential and to CépiDc
        _ben("P3", SENTINEL),  # scheme sends no date; died in hospital; certificate matched (step 2)
        _ben("P4", SENTINEL),  # scheme sends no date; died in hospital; certificate not matched
        _ben("P5", date(2023, 2, 1)),  # the referential and the stay disagree
        _ben("P6", None),  # alive, left home after a stay
        _ben("P7", date(1, 1, 1)),  # another placeholder date
        _ben("P8", date(2023, 9, 9)), _ben("P8", date(2023, 9, 9), rank=2),  # two rows of one pseudo-NIR
    ]),
    "KI_CCI_R": _table([_certificate("IP2", date(2023, 6, 1)), _certificate("IP3", date(2023, 3, 9)),
                        _certificate(None, date(2023, 4, 20))]),  # P4's certificate, unmatched
    "T_MCOaaB": _table([b for b, _c in STAYS]),
    "T_MCOaaC": _table([c for _b, c in STAYS]),
}


def test_a_sentinel_date_is_no_date(engine):
    for text, expected in (("1600-01-01", None), ("0001-01-01", None), ("2600-01-01", None),
                           ("1799-12-31", None), ("1800-01-01", date(1800, 1, 1)), ("2023-06-01", date(2023, 6, 1))):
        assert _rows(engine, f"SELECT {real_date(f'DATE {chr(39)}{text}{chr(39)}')}") == [(expected,)], text


def test_deaths_are_reconciled_from_the_referential_cepidc_and_hospital_stays(engine):
    _load(engine, DEATHS)
    got = _rows(engine, "SELECT person, death_date, source, in_referential, in_cepidc, in_hospital, sources, "
                        "dates_agree FROM deaths ORDER BY person")
    assert got == [
        ("P2", date(2023, 6, 1), "referential", True, True, False, 2, True),
        ("P3", date(2023, 3, 9), "cepidc", False, True, True, 2, True),  # the stay ended the next day
        ("P4", date(2023, 4, 20), "hospital", False, False, True, 1, None),
        ("P5", date(2023, 2, 1), "referential", True, False, True, 2, False),  # 4 days apart
        ("P8", date(2023, 9, 9), "referential", True, False, False, 1, None),
    ]


def test_one_death_event_per_dead_person_and_none_for_the_living(engine):
    _load(engine, DEATHS)
    got = _rows(engine, "SELECT person, \"start\", \"end\" FROM events WHERE category = 'death' ORDER BY person")
    assert got == [("P2", date(2023, 6, 1), date(2023, 6, 1)), ("P3", date(2023, 3, 9), date(2023, 3, 9)),
                   ("P4", date(2023, 4, 20), date(2023, 4, 20)), ("P5", date(2023, 2, 1), date(2023, 2, 1)),
                   ("P8", date(2023, 9, 9), date(2023, 9, 9))]
    # the unmatched certificate gives no cause to anyone; the matched ones do
    causes = _rows(engine, "SELECT person FROM events WHERE category = 'death_cause' ORDER BY person")
    assert causes == [("P2",), ("P3",)]


def test_the_referential_alone_still_gives_its_deaths(engine):
    _load(engine, {"IR_BEN_R": DEATHS["IR_BEN_R"]})
    assert _rows(engine, "SELECT person, source FROM deaths ORDER BY person") == \
        [("P2", "referential"), ("P5", "referential"), ("P8", "referential")]


def test_a_timestamp_column_of_placeholders_is_read_as_no_date(engine):
    """Some tables deliver their dates as timestamps (01JAN1600:00:00:00 once parsed)."""
    stamps = pa.array([datetime(1600, 1, 1), datetime(2023, 6, 1, 14, 30)], pa.timestamp("s"))
    table = pa.table({"BEN_NIR_PSA": ["P1", "P2"], "BEN_DCD_DTE": stamps})
    _load(engine, {"IR_BEN_R": table})
    assert _rows(engine, "SELECT person, death_date FROM deaths") == [("P2", date(2023, 6, 1))]
