"""The synthetic SNDS: deterministic, coherent across tables, codes from real nomenclatures."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from bastide.base.synth import generate, parse_years
from bastide.base.synth.codes import load_codes
from bastide.errors import InvalidInput


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.csv")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_same_seed_same_delivery(tmp_path):
    a = generate(tmp_path / "a", beneficiaries=200, years=[2023], seed=3)
    b = generate(tmp_path / "b", beneficiaries=200, years=[2023], seed=3)
    generate(tmp_path / "c", beneficiaries=200, years=[2023], seed=4)
    assert a.rows == b.rows and _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")


def test_coherent_across_tables(small_delivery):
    con = duckdb.connect()

    def t(name):
        return f"read_csv('{small_delivery}/{name}/*.csv', delim=';', header=true, all_varchar=true)"

    keys = "DCT_ORD_NUM, FLX_DIS_DTD, FLX_EMT_NUM, FLX_EMT_ORD, FLX_EMT_TYP, FLX_TRT_DTD, ORG_CLE_NUM, PRS_ORD_NUM, REM_TYP_AFF"
    orphans = con.sql(f"SELECT count(*) FROM {t('ER_PHA_F')} ANTI JOIN {t('ER_PRS_F')} USING ({keys})").fetchall()
    assert orphans == [(0,)]
    stays = con.sql(f"SELECT count(*) FROM {t('T_MCO23C')} c ANTI JOIN {t('IR_BEN_R')} b "
                    "ON c.NIR_ANO_17 = b.BEN_NIR_PSA").fetchall()
    assert stays == [(0,)]
    early = con.sql(f"SELECT count(*) FROM {t('IR_BEN_R')} WHERE BEN_DCD_DTE <> '1600-01-01' AND "
                    "make_date(BEN_NAI_ANN::INT, BEN_NAI_MOI::INT, 1) > BEN_DCD_DTE::DATE + 31").fetchall()
    assert early == [(0,)]
    per_person = con.sql(f"SELECT count(*) / count(DISTINCT BEN_NIR_PSA) FROM {t('ER_PRS_F')}").fetchall()[0][0]
    assert per_person > 3  # several prestations per person per year over two years
    drugs = {int(r[0]) for r in con.sql(f"SELECT DISTINCT PHA_PRS_IDE FROM {t('ER_PHA_F')}").fetchall()}
    assert drugs <= set(load_codes().cip7.tolist())
    # every dispensation's CIP13 is in IR_PHA_R, with the CIP7 the line carries (fiches/medicament.md)
    unknown = con.sql(f"SELECT count(*) FROM {t('ER_PHA_F')} f ANTI JOIN {t('IR_PHA_R')} r "
                      "ON r.PHA_CIP_C13 = f.PHA_PRS_C13 AND r.PHA_PRS_IDE = f.PHA_PRS_IDE").fetchall()
    assert unknown == [(0,)]
    classes = con.sql(f"SELECT count(*), count(PHA_ATC_C07), count(*) FILTER (length(PHA_ATC_C07) = 7) "
                      f"FROM {t('IR_PHA_R')}").fetchall()[0]
    assert classes[0] > 9000 and classes[1] == classes[2] > 0.9 * classes[0]  # real ATC7; a few drugs have none


def test_bad_arguments(tmp_path):
    with pytest.raises(InvalidInput):
        parse_years("2024-2022")
    with pytest.raises(InvalidInput):
        generate(tmp_path / "x", beneficiaries=0, years=[2023], seed=1)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(InvalidInput, match="not empty"):
        generate(tmp_path / "full", beneficiaries=10, years=[2023], seed=1)


def test_cancellations_append_to_columns_held_in_several_chunks():
    """A large delivery's text columns pass what one Arrow array holds (2 GiB) and come chunked;
    appending the cancellation lines to them failed at 850,000 beneficiaries."""
    import numpy as np
    import pyarrow as pa

    from bastide.base.synth.values import append_rows

    columns = {"DCT_ORD_NUM": pa.chunked_array([[1, 2], [3]]), "ORG_CLE_NUM": pa.array(["a", "b", "c"])}
    append_rows(columns, np.array([0, 2]), {"DCT_ORD_NUM": pa.array([10, 30])})
    assert columns["DCT_ORD_NUM"].to_pylist() == [1, 2, 3, 10, 30]
    assert columns["ORG_CLE_NUM"].to_pylist() == ["a", "b", "c", "a", "c"]


@pytest.fixture(scope="module")
def deaths_of_5000(tmp_path_factory):
    """Enough deaths (about 150 over two years) to see the sources' proportions."""
    out = tmp_path_factory.mktemp("deaths") / "delivery"
    generate(out, beneficiaries=5000, years=[2022, 2023], seed=11)
    con = duckdb.connect()
    for name in ("IR_BEN_R", "KI_CCI_R", "KI_ECD_R"):
        con.sql(f"CREATE VIEW {name} AS SELECT * FROM read_csv('{out}/{name}/*.csv', delim=';', header=true, "
                "all_varchar=true)")
    con.sql(f"CREATE VIEW stays AS SELECT * FROM read_csv('{out}/T_MCO2?B/*.csv', delim=';', header=true, "
            f"all_varchar=true) b JOIN read_csv('{out}/T_MCO2?C/*.csv', delim=';', header=true, all_varchar=true) c "
            "USING (ETA_NUM, RSA_NUM, SOR_ANN)")  # RSA_NUM restarts every year
    return con


def test_living_persons_and_unsent_deaths_carry_the_1600_sentinel(deaths_of_5000):
    """guide_cepidc ch. 2: a missing date of death is forced to 1600-01-01 in IR_BEN_R; no row is empty."""
    con = deaths_of_5000
    assert con.execute("SELECT count(*) FROM IR_BEN_R WHERE BEN_DCD_DTE IS NULL").fetchall() == [(0,)]
    alive, dead = con.execute("SELECT count(*) FILTER (BEN_DCD_DTE = '1600-01-01'), "
                          "count(*) FILTER (BEN_DCD_DTE <> '1600-01-01') FROM IR_BEN_R").fetchone()
    certificates = con.execute("SELECT count(*) FROM KI_CCI_R").fetchone()[0]
    assert alive > 4500 and 0 < dead < certificates  # some schemes send no date


def test_a_death_in_hospital_ends_its_stay_on_that_day_with_discharge_mode_9(deaths_of_5000):
    con = deaths_of_5000
    ended = con.execute("SELECT NIR_ANO_17, SOR_DAT FROM stays WHERE SOR_MOD = '9'").fetchall()
    certificates = con.execute("SELECT count(*) FROM KI_CCI_R").fetchone()[0]
    assert 0.3 * certificates < len(ended) < 0.7 * certificates
    assert len({p for p, _d in ended}) == len(ended)  # one death each
    # where the referential has the date, the stay ends that very day (SOR_DAT is DDMMYYYY)
    mismatched = con.execute("SELECT count(*) FROM stays s JOIN IR_BEN_R b ON s.NIR_ANO_17 = b.BEN_NIR_PSA "
                             "AND s.RNG_NAI = b.BEN_RNG_GEM "  # twins share a pseudo-NIR
                         "WHERE s.SOR_MOD = '9' AND b.BEN_DCD_DTE <> '1600-01-01' "
                         "AND strptime(s.SOR_DAT, '%d%m%Y')::DATE <> b.BEN_DCD_DTE::DATE").fetchone()[0]
    assert mismatched == 0
    after = con.execute("SELECT count(*) FROM stays s JOIN IR_BEN_R b ON s.NIR_ANO_17 = b.BEN_NIR_PSA "
                        "AND s.RNG_NAI = b.BEN_RNG_GEM "
                    "WHERE b.BEN_DCD_DTE <> '1600-01-01' AND strptime(s.SOR_DAT, '%d%m%Y')::DATE > b.BEN_DCD_DTE::DATE")
    assert after.fetchone()[0] == 0  # no stay ends after its patient's death


def test_between_80_and_90_percent_of_certificates_are_matched_and_only_those_that_can_be(deaths_of_5000):
    """guide_cepidc ch. 2: matching needs IR_BEN_R's date or a stay ended in death."""
    con = deaths_of_5000
    matched, total = con.execute("SELECT count(BEN_IDT_ANO), count(*) FROM KI_CCI_R").fetchone()
    assert 0.75 <= matched / total <= 0.95
    # a person (BEN_IDT_ANO, all their pseudo-NIRs) without a date in IR_BEN_R nor a stay ended in death
    unmatchable = con.execute("SELECT count(*) FROM KI_CCI_R k WHERE BEN_IDT_ANO IN (SELECT BEN_IDT_ANO FROM IR_BEN_R "
                              "GROUP BY 1 HAVING bool_and(BEN_DCD_DTE = '1600-01-01') AND bool_and(BEN_NIR_PSA NOT IN "
                              "(SELECT NIR_ANO_17 FROM stays WHERE SOR_MOD = '9')))").fetchone()[0]
    assert unmatchable == 0
    lines = con.execute("SELECT count(*) FROM KI_ECD_R e ANTI JOIN KI_CCI_R c USING (DCD_IDT_ENC)").fetchone()[0]
    assert lines == 0  # every certificate line belongs to a certificate, matched or not


def test_diagnoses_fit_their_patients_sex_and_age_and_an_ald_its_reason(tmp_path_factory):
    """ICD-10 chapter O (pregnancy) for women of 15-49 only, the prostate (N40) and its cancer (C61)
    for men only; an ALD's medical reason is a code of that illness (IR_ALD_V: 8 is diabetes)."""
    out = tmp_path_factory.mktemp("plausible") / "delivery"
    generate(out, beneficiaries=3000, years=[2023], seed=5)
    con = duckdb.connect()

    def t(name):
        return f"read_csv('{out}/{name}/*.csv', delim=';', header=true, all_varchar=true)"
    wrong = con.execute(f"SELECT count(*) FILTER (DGN_PAL LIKE 'O%' AND (COD_SEX = '1' OR AGE_ANN::INT NOT BETWEEN 15 AND "
                        "49)), count(*) FILTER ((DGN_PAL LIKE 'N40%' OR DGN_PAL LIKE 'C61%') AND COD_SEX = '2'), "
                        f"count(*) FILTER (DGN_PAL LIKE 'O%') FROM {t('T_MCO23B')}").fetchone()
    assert wrong[:2] == (0, 0) and wrong[2] > 0
    diabetes = con.execute(f"SELECT count(*), count(*) FILTER (MED_MTF_COD LIKE 'E10%' OR MED_MTF_COD LIKE 'E11%') "
                           f"FROM {t('IR_IMB_R')} WHERE IMB_ALD_NUM = '8'").fetchone()
    assert diabetes[0] > 0 and diabetes[0] == diabetes[1]


@pytest.fixture(scope="module")
def flaws_of_3000(tmp_path_factory):
    out = tmp_path_factory.mktemp("flaws") / "delivery"
    generate(out, beneficiaries=3000, years=[2023], seed=5)
    con = duckdb.connect()
    for folder in sorted(p.name for p in out.iterdir()):
        con.sql(f"CREATE VIEW {folder} AS SELECT * FROM read_csv('{out}/{folder}/*.csv', delim=';', header=true, "
                "all_varchar=true)")
    return con


def test_every_kind_of_prestation_is_sometimes_cancelled_with_its_sign_and_its_lines(flaws_of_3000):
    """fiches/sas_prestation_dcir.md, IR_SGN_V: a cancellation is the prestation again, sign 2
    (« NEGATIF »), each detail line again; the signed quantities (…_QSN) are negative, PRS_ACT_QTE
    (minimum 0) is not."""
    con = flaws_of_3000
    keys = "DCT_ORD_NUM, FLX_DIS_DTD, FLX_EMT_NUM, FLX_EMT_ORD, FLX_EMT_TYP, FLX_TRT_DTD, ORG_CLE_NUM, PRS_ORD_NUM, REM_TYP_AFF"
    signs = dict(con.execute("SELECT BSE_REM_SGN, count(*) FROM ER_PRS_F GROUP BY 1").fetchall())
    assert set(signs) == {"1", "2"} and 0.01 < signs["2"] / (signs["1"] + signs["2"]) < 0.03
    assert con.execute("SELECT count(*) FROM ER_PRS_F WHERE PRS_ACT_QTE::DOUBLE < 0").fetchone() == (0,)
    for table, quantity in (("ER_PHA_F", "PHA_ACT_QSN"), ("ER_BIO_F", "BIO_ACT_QSN"), ("ER_TIP_F", "TIP_ACT_QSN"),
                            ("ER_UCD_F", "UCD_DLV_NBR"), ("ER_CAM_F", "1"), ("ER_ETE_F", "1")):
        negative = con.execute(f"SELECT count(*), count(*) FILTER ({quantity}::INT < 0) FROM {table} "
                               f"JOIN ER_PRS_F USING ({keys}) WHERE BSE_REM_SGN = '2'").fetchone()
        assert negative[0] > 0, table  # every detail table has cancelled lines
        assert negative[1] == (negative[0] if quantity.endswith("QSN") else 0), table


def test_hospital_drugs_devices_and_professionals_are_real_codes(flaws_of_3000):
    con = flaws_of_3000
    codes = load_codes()
    assert {r[0] for r in con.execute("SELECT DISTINCT UCD_UCD_COD FROM ER_UCD_F").fetchall()} <= set(codes.ucd)
    lpp = {int(r[0]) for r in con.execute("SELECT DISTINCT TIP_PRS_IDE FROM ER_TIP_F").fetchall()}
    assert lpp and lpp <= set(codes.lpp.tolist())
    unknown = con.execute("SELECT count(*) FROM ER_PRS_F p ANTI JOIN DA_PRA_R d ON p.PFS_EXE_NUM = d.PFS_PFS_NUM")
    assert unknown.fetchone() == (0,)  # every executing professional is in DA_PRA_R, 8 characters as it declares
    assert con.execute("SELECT DISTINCT length(PFS_PFS_NUM) FROM DA_PRA_R").fetchall() == [(8,)]


def test_some_pseudo_nirs_are_only_in_the_archive_and_still_have_care(flaws_of_3000):
    """IR_BEN_R_ARC (guide CépiDc, ch. 3): a person's other pseudo-NIR, with their BEN_IDT_ANO."""
    con = flaws_of_3000
    archived = con.execute("SELECT count(*), count(*) FILTER (BEN_IDT_ANO IN (SELECT BEN_IDT_ANO FROM IR_BEN_R)) "
                           "FROM IR_BEN_R_ARC a ANTI JOIN IR_BEN_R b USING (BEN_NIR_PSA, BEN_RNG_GEM)").fetchone()
    assert archived[0] > 0 and archived[0] == archived[1]  # every archived row's person is in IR_BEN_R too
    care = con.execute("SELECT count(*) FROM ER_PRS_F WHERE BEN_NIR_PSA IN (SELECT BEN_NIR_PSA FROM IR_BEN_R_ARC)")
    assert care.fetchone()[0] > 0


def test_each_stay_has_its_medical_units_the_first_with_the_stays_main_diagnosis(flaws_of_3000):
    con = flaws_of_3000
    stays = con.execute("SELECT count(*), count(*) FILTER (b.NBR_RUM::INT = u.units AND b.DGN_PAL = u.first) FROM T_MCO23B b "
                        "JOIN (SELECT ETA_NUM, RSA_NUM, count(*) AS units, min(DGN_PAL) FILTER (UM_ORD_NUM = '1') AS first "
                        "FROM T_MCO23UM GROUP BY ALL) u USING (ETA_NUM, RSA_NUM)").fetchone()
    assert stays[0] == con.execute("SELECT count(*) FROM T_MCO23B").fetchone()[0] == stays[1]
    assert con.execute("SELECT max(NBR_RUM::INT) FROM T_MCO23B").fetchone()[0] > 1


def test_outpatient_visits_of_public_hospitals_link_their_tables_and_patients(flaws_of_3000):
    """ACE (fiches/sas_prestation_dcir.md): T_MCOaaCSTC gives each visit's patient, FASTC its
    invoice, FBSTC the hospital's charge, FCSTC the fees; SEQ_NUM restarts per establishment."""
    con = flaws_of_3000
    visits, invoices, charges = (con.execute(f"SELECT count(*) FROM T_MCO23{t}").fetchone()[0]
                                 for t in ("CSTC", "FASTC", "FBSTC"))
    assert visits == invoices == charges > 500
    orphans = con.execute("SELECT count(*) FROM T_MCO23FCSTC f ANTI JOIN T_MCO23CSTC c USING (ETA_NUM, SEQ_NUM)")
    assert orphans.fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM T_MCO23CSTC WHERE SEQ_NUM = '00000001'").fetchone()[0] > 1  # per establishment
    wrong = con.execute("SELECT avg((NIR_RET = 'true')::INT) FROM T_MCO23CSTC").fetchone()[0]
    assert 0.005 < wrong < 0.05  # some visits' patients are not chained
    codes = {r[0] for r in con.execute("SELECT DISTINCT ACT_COD FROM T_MCO23FCSTC UNION SELECT DISTINCT ACT_COD "
                                       "FROM T_MCO23FBSTC").fetchall()}
    assert codes <= {"ATU", "SE1", "FFM", "FTN", "G", "C", "CS", "APC", "K"}  # IR_NAT_V's codes of such care


def test_until_2017_some_stays_come_again_under_a_geographic_finess(tmp_path):
    """documentation-snds, « transmission en double dans le PMSI »: until 2017 AP-HP, AP-HM and HCL
    sent stays under their legal FINESS and again under geographic ones (analytics.pmsi's list,
    which mco_stays drops); each copy has its original's patient and dates, its own RSA_NUM, and
    every table's rows with it; from 2018, none."""
    from bastide.analytics.pmsi import DUPLICATE_FINESS

    out = tmp_path / "delivery"
    generate(out, beneficiaries=3000, years=[2017, 2018], seed=9)
    con = duckdb.connect()

    def t(name):
        return f"read_csv('{out}/{name}/*.csv', delim=';', header=true, all_varchar=true)"

    geographic = ", ".join(f"'{f}'" for f in DUPLICATE_FINESS)
    for year, resent in (("17", True), ("18", False)):
        copies = con.execute(f"SELECT count(*) FROM {t(f'T_MCO{year}B')} WHERE ETA_NUM IN ({geographic})").fetchone()[0]
        assert (copies > 0) == resent, year
    twins = con.execute(
        f"SELECT count(*), count(DISTINCT g.RSA_NUM) FROM {t('T_MCO17C')} g JOIN {t('T_MCO17C')} o "
        f"ON g.NIR_ANO_17 = o.NIR_ANO_17 AND g.EXE_SOI_DTD = o.EXE_SOI_DTD AND o.ETA_NUM NOT IN ({geographic}) "
        f"WHERE g.ETA_NUM IN ({geographic})").fetchone()
    copies = con.execute(f"SELECT count(*) FROM {t('T_MCO17C')} WHERE ETA_NUM IN ({geographic})").fetchone()[0]
    assert twins[0] >= copies > 0  # every copy's patient and entry are an original's
    units = con.execute(f"SELECT count(*) FROM {t('T_MCO17UM')} WHERE ETA_NUM IN ({geographic})").fetchone()[0]
    assert units >= copies  # a copy's medical units came with it
