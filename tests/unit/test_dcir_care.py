"""Care coded in the DCIR's detail tables, cancellations netted by their sign (issue 15, items 3,
5 and 9). Expected answers worked out by hand from documentation-snds:
- fiches/sas_prestation_dcir.md: each detail table's code and quantity — ER_CAM_F CAM_PRS_IDE
  with ER_PRS_F.PRS_ACT_QTE (« il n'y a pas de variable quantité dans ER_CAM_F »), ER_BIO_F
  BIO_ACT_QSN, ER_UCD_F UCD_UCD_COD / UCD_DLV_NBR, ER_TIP_F TIP_PRS_IDE / TIP_ACT_QSN;
- schema-snds: PRS_ACT_QTE has a minimum of 0, so a cancellation's sign is the prestation's
  BSE_REM_SGN (nomenclature IR_SGN_V: 1 « POSITIF », 2 « NEGATIF »); PHA_ACT_QSN is « signée ».

| person | prestations | events |
|---|---|---|
| P1 | CCAM act AAFA001 on 5 Jan; the same act, same day, later flux, sign 2 (quantity 1, unsigned) | none |
| P2 | CCAM act AAFA001 twice on 5 Jan (two prestations, sign 1) | one dcir_ccam_act, weight 2 |
| P3 | UCD 9231824, 3 units | drug_ucd 9231824, weight 3 |
| P4 | LPP 1255096, 2; then its cancellation: -2, sign 2 | none |
| P5 | LPP 1255096, 1 | medical_device 1255096, weight 1 |
| P6 | 2 boxes of a drug; its cancellation written +2 with sign 2 (the sign alone says it) | none |
"""

from __future__ import annotations

from datetime import date

import duckdb

from bastide.analytics.dcir import signed
from tests.unit.test_analytics import _keys, _load, _prs, _rows, _table

LATER = date(2023, 2, 1)


def _line(n, flux=date(2023, 1, 1), **values):
    return {**_keys(n, flux), "ORG_CLE_NEW": "x", **values}


CARE = {
    "ER_PRS_F": _table([
        _prs(1, "P1", BSE_REM_SGN=1), _prs(2, "P1", flux=LATER, BSE_REM_SGN=2),
        _prs(3, "P2", BSE_REM_SGN=1), _prs(4, "P2", BSE_REM_SGN=1),
        _prs(5, "P3", BSE_REM_SGN=1),
        _prs(6, "P4", BSE_REM_SGN=1), _prs(7, "P4", flux=LATER, BSE_REM_SGN=2),
        _prs(8, "P5", BSE_REM_SGN=1),
        _prs(9, "P6", BSE_REM_SGN=1), _prs(10, "P6", flux=LATER, BSE_REM_SGN=2),
    ]),
    "ER_CAM_F": _table([_line(1, CAM_PRS_IDE="AAFA001"), _line(2, LATER, CAM_PRS_IDE="AAFA001"),
                        _line(3, CAM_PRS_IDE="AAFA001"), _line(4, CAM_PRS_IDE="AAFA001")]),
    "ER_UCD_F": _table([_line(5, UCD_UCD_COD="0000009231824", UCD_DLV_NBR=3)]),
    "ER_TIP_F": _table([_line(6, TIP_PRS_IDE=1255096, TIP_ACT_QSN=2), _line(7, LATER, TIP_PRS_IDE=1255096, TIP_ACT_QSN=-2),
                        _line(8, TIP_PRS_IDE=1255096, TIP_ACT_QSN=1)]),
    "ER_PHA_F": _table([_line(9, PHA_PRS_IDE=3595583, PHA_ACT_QSN=2), _line(10, LATER, PHA_PRS_IDE=3595583, PHA_ACT_QSN=2)]),
    "IR_CIP_V": _table([{"PHA_PRS_IDE": 3595583, "PHA_ATC_CLA": "N02"}]),
}


def _events(engine, *categories):
    _load(engine, CARE)
    chosen = ", ".join(f"'{c}'" for c in categories)
    return _rows(engine, f"SELECT person, category, value, weight FROM events WHERE category IN ({chosen}) "
                         "ORDER BY person, category")


def test_a_cancelled_ccam_act_is_no_act_and_two_acts_are_two(engine):
    assert _events(engine, "dcir_ccam_act") == [("P2", "dcir_ccam_act", "AAFA001", 2.0)]


def test_hospital_drugs_and_devices_are_events_with_their_cancellations_netted(engine):
    assert _events(engine, "drug_ucd", "medical_device") == [("P3", "drug_ucd", "0000009231824", 3.0),
                                                            ("P5", "medical_device", "1255096", 1.0)]


def test_a_dispensation_cancelled_by_its_sign_alone_is_no_dispensation(engine):
    _load(engine, CARE)
    assert _rows(engine, "SELECT person FROM drug_dispensations") == []


def test_a_quantity_takes_its_prestations_sign_once():
    for written, sign, expected in ((2, 1, 2), (2, 2, -2), (-2, 2, -2), (-2, 1, -2)):
        sql = signed(str(written), {"BSE_REM_SGN"}).replace("BSE_REM_SGN", str(sign))
        assert duckdb.connect().execute(f"SELECT {sql}").fetchone()[0] == expected
    assert signed("PRS_ACT_QTE", {"PRS_ACT_QTE"}) == "PRS_ACT_QTE"  # no sign delivered: as written
