"""A hand-made SNDS delivery of a dozen persons, its answers worked out by hand from the
documentation, extracted on DuckDB and on Spark (issue 15, item 7). Each person carries one of
real data's traps; the rule each expectation applies names its page (documentation-snds):

| person | rows | trap | rule |
|---|---|---|---|
| P01 | IR_BEN_R (N01A, 1), (N01B, 1), BEN_IDT_ANO I01; born March 1960 | two pseudo-NIRs; metformin on N01A in March 2023, gliclazide on N01B in December 2023 paid in March 2024 | fiche_beneficiaire: one person; sas_prestation_dcir: care year, flux lag |
| P02 | (N02, 1) | metformin in May 2023 cancelled by a negative line in July; a 2023 stay E119 numbered 1000000001 | sas_prestation_dcir: netting; concepts_PMSI: RSA_NUM per year |
| P03, P04 | twins (N03, 1), (N03, 2) | a 2023 stay I10 under N03 with RNG_NAI 2 | fiche_beneficiaire: twins, birth rank |
| P05 | (N05, 1) | a 2022 stay E119 with the same ETA_NUM, RSA_NUM as P02's 2023 one | concepts_PMSI |
| P06 | (N06, 1), BEN_CDI_NIR 01 | metformin | fiche_beneficiaire: fictitious NIR |
| P07 | (N07, 1) | metformin on an information line (DPN_QLF 71) | sas_prestation_dcir |
| P08 | (N08, 1), BEN_DCD_DTE 1600-01-01 | a stay I219 ended in death (SOR_MOD 9) on 15 September 2023; certificate of 14 September matched | guide_cepidc ch. 2 |
| P09 | (N09, 1), BEN_DCD_DTE 1600-01-01 | alive | guide_cepidc ch. 2 |
| — | a stay E119 of NIR_ANO_17 xxxxxxxxxxxxxxxxx | placeholder patient | fiche_beneficiaire |
| P10 | (N10, 1) | a stay E119 with NIR_RET in error | fiche_beneficiaire, requete_type_pmsi_mco |
| P11 | (N11, 1) | metformin on 28 December 2022, paid in January 2023 | sas_prestation_dcir: care year |
| P12 | (N12, 1) | metformin in November 2023 paid in September 2024, past the 6-month lag | sas_prestation_dcir |
| P13 | (N13, 1) | a 2023 stay R060 whose second medical unit's main diagnosis is J189 | requete_type_pmsi_mco: T_MCOaaUM, a DP per unit |
| P02, P10 | as above | an outpatient visit each in a public hospital on 3 October 2023 (ATU, then fees C and K the next day); P10's with NIR_RET in error | sas_prestation_dcir: ACE billed directly; requete_type_pmsi_mco: the chaining filter |
| P14 | (N14A, 1) in IR_BEN_R, (N14B, 1) in IR_BEN_R_ARC only, BEN_IDT_ANO I14 | metformin in April 2023 under N14B | guide_cepidc ch. 3: IR_BEN_R then IR_BEN_R_ARC |
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from bastide.analytics.views import workspace_views
from bastide.base.ingest import IngestRequest, ingest
from bastide.base.schema import snds_registry
from bastide.base.synth.writer import DeliveryWriter
from bastide.catalogue import service as catalogue
from bastide.platform import operator_actor
from bastide.workspaces import extract
from bastide.query.engine import DuckDBEngine
from bastide.workspaces.pseudonym import pseudonym
from bastide.workspaces.spark.engine import SparkEngine
from bastide.workspaces.spec import ExtractSpec, Population
from tests.conftest import make_platform
from tests.integration.test_spark import _tables_of
from tests.workspace_fixtures import SPARK_TIME

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark"), SPARK_TIME]
pytest.importorskip("pyspark")

KEY, DATA_KEY = b"p" * 32, b"d" * 32
MET, GLI = ("3400930000011", "3000001", "A10BA02"), ("3400930000028", "3000002", "A10BB09")
ETA = "100000001"


def nir(tag: str) -> str:
    return tag.ljust(17, "0")  # pseudo-NIRs and BEN_IDT_ANO have 17 characters


PERSONS = [  # (pseudo-NIR, rank, BEN_IDT_ANO, sex, birth year, month, BEN_CDI_NIR, BEN_DCD_DTE)
    ("N01A", 1, "I01", 2, 1960, "03", "00", "1600-01-01"), ("N01B", 1, "I01", 2, 1960, "03", "00", "1600-01-01"),
    ("N02", 1, "I02", 1, 1950, "07", "00", "1600-01-01"), ("N03", 1, "I03", 2, 1990, "01", "00", "1600-01-01"),
    ("N03", 2, "I04", 2, 1990, "01", "00", "1600-01-01"), ("N05", 1, "I05", 1, 1945, "11", "00", "1600-01-01"),
    ("N06", 1, "I06", 2, 1985, "05", "01", "1600-01-01"), ("N07", 1, "I07", 1, 1970, "02", "00", "1600-01-01"),
    ("N08", 1, "I08", 1, 1940, "09", "00", "1600-01-01"), ("N09", 1, "I09", 2, 1975, "06", "00", "1600-01-01"),
    ("N10", 1, "I10", 1, 1955, "04", "00", "1600-01-01"), ("N11", 1, "I11", 2, 1965, "08", "00", "1600-01-01"),
    ("N12", 1, "I12", 1, 1980, "12", "00", "1600-01-01"), ("N13", 1, "I13", 1, 1950, "10", "00", "1600-01-01"),
    ("N14A", 1, "I14", 2, 1970, "05", "00", "1600-01-01"),
]
ARCHIVED = [("N14B", 1, "I14", 2, 1970, "05", "00", "1600-01-01")]  # IR_BEN_R_ARC
CARE = [  # (prestation, pseudo-NIR, care day, flux month, drug, boxes, DPN_QLF); 8 repeats 7's care, negated
    (1, "N01A", "2023-03-10", "2023-04-01", MET, 2, 0), (2, "N01B", "2023-12-20", "2024-03-01", GLI, 1, 0),
    (3, "N02", "2023-05-02", "2023-06-01", MET, 1, 0), (4, "N02", "2023-05-02", "2023-07-01", MET, -1, 0),
    (5, "N06", "2023-02-01", "2023-03-01", MET, 1, 0), (6, "N07", "2023-02-01", "2023-03-01", MET, 1, 71),
    (7, "N11", "2022-12-28", "2023-01-01", MET, 1, 0), (8, "N12", "2023-11-05", "2024-09-01", MET, 1, 0),
    (9, "N14B", "2023-04-03", "2023-05-01", MET, 1, 0),
]
STAYS = [  # (year, RSA_NUM, NIR_ANO_17, RNG_NAI, DGN_PAL, SOR_MOD, end day, NIR_RET)
    (2023, 1000000001, "N02", 1, "E119", "8", "2023-04-12", False),
    (2023, 1000000002, "N03", 2, "I10", "8", "2023-06-03", False),
    (2022, 1000000001, "N05", 1, "E119", "8", "2022-10-20", False),
    (2023, 1000000003, "N08", 1, "I219", "9", "2023-09-15", False),
    (2023, 1000000004, "xxxxxxxxxxxxxxxxx", None, "E119", "8", "2023-02-08", False),
    (2023, 1000000005, "N10", 1, "E119", "8", "2023-07-21", True),
    (2023, 1000000006, "N13", 1, "R060", "8", "2023-11-02", False),
]
UNITS = [(1000000006, 1, "R060"), (1000000006, 2, "J189")]  # T_MCO23UM: (RSA_NUM, UM_ORD_NUM, DGN_PAL)
VISITS = [("00000001", "N02", False), ("00000002", "N10", True)]  # T_MCO23CSTC: (SEQ_NUM, NIR_ANO_17, NIR_RET)
FEES = [("00000001", "C", 1), ("00000001", "K", 1), ("00000002", "C", 0)]  # T_MCO23FCSTC: (SEQ_NUM, ACT_COD, DEL_DAT_ENT)


def _text(values) -> pa.Array:
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def _deliver(out) -> None:
    schemas, writer = snds_registry(), DeliveryWriter(out)
    for table, rows in (("IR_BEN_R", PERSONS), ("IR_BEN_R_ARC", ARCHIVED)):
        ben = list(zip(*rows, strict=True))
        writer.write(schemas.get(table), table, table, {
            "BEN_NIR_PSA": _text(nir(n) for n in ben[0]), "BEN_RNG_GEM": _text(ben[1]),
            "BEN_IDT_ANO": _text(nir(i) for i in ben[2]), "BEN_SEX_COD": _text(ben[3]), "BEN_NAI_ANN": _text(ben[4]),
            "BEN_NAI_MOI": _text(ben[5]), "BEN_CDI_NIR": _text(ben[6]), "BEN_DCD_DTE": _text(ben[7]),
            "BEN_NIR_ANO": _text(None if c == "01" else nir("A" + i) for i, c in zip(ben[2], ben[6], strict=True))})
    keys = {"FLX_EMT_NUM": "1", "FLX_EMT_ORD": "0", "FLX_EMT_TYP": "1", "ORG_CLE_NUM": "017500001", "PRS_ORD_NUM": "1",
            "REM_TYP_AFF": "1"}

    def key_columns(rows):
        return {"DCT_ORD_NUM": _text(r[0] for r in rows), "FLX_DIS_DTD": _text(r[3] for r in rows),
                "FLX_TRT_DTD": _text(r[3] for r in rows), **{k: _text([v] * len(rows)) for k, v in keys.items()}}
    writer.write(schemas.get("ER_PRS_F"), "ER_PRS_F", "ER_PRS_F", {
        **key_columns(CARE), "BEN_NIR_PSA": _text(nir(r[1]) for r in CARE), "BEN_RNG_GEM": _text([1] * len(CARE)),
        "BEN_CDI_NIR": _text("01" if r[1] == "N06" else "00" for r in CARE), "EXE_SOI_DTD": _text(r[2] for r in CARE),
        "DPN_QLF": _text(r[6] for r in CARE), "BSE_PRS_NAT": _text([3311] * len(CARE)),
        "PRS_ACT_QTE": _text([1] * len(CARE)), "PRS_PAI_MNT": _text(10 * r[5] for r in CARE)})
    writer.write(schemas.get("ER_PHA_F"), "ER_PHA_F", "ER_PHA_F", {
        **key_columns(CARE), "ORG_CLE_NEW": _text(["017500001"] * len(CARE)), "PHA_PRS_C13": _text(r[4][0] for r in CARE),
        "PHA_PRS_IDE": _text(r[4][1] for r in CARE), "PHA_ACT_QSN": _text(r[5] for r in CARE)})
    writer.write(schemas.get("IR_PHA_R"), "IR_PHA_R", "IR_PHA_R", {
        "PHA_CIP_C13": _text([MET[0], GLI[0]]), "PHA_PRS_IDE": _text([MET[1], GLI[1]]),
        "PHA_ATC_C07": _text([MET[2], GLI[2]])})
    for year in (2022, 2023):
        mine = [s for s in STAYS if s[0] == year]
        end = [date.fromisoformat(s[6]) for s in mine]
        writer.write(schemas.get("T_MCOaaB"), f"T_MCO{year % 100}B", f"T_MCO{year % 100}B", {
            "ETA_NUM": _text([ETA] * len(mine)), "RSA_NUM": _text(s[1] for s in mine), "DGN_PAL": _text(s[4] for s in mine),
            "SOR_MOD": _text(s[5] for s in mine), "GRG_GHM": _text(["05M09T"] * len(mine)),
            "GHS_NUM": _text([1000] * len(mine)), "SOR_ANN": _text([year] * len(mine)), "SEJ_NBJ": _text([0] * len(mine))})
        writer.write(schemas.get("T_MCOaaC"), f"T_MCO{year % 100}C", f"T_MCO{year % 100}C", {
            "ETA_NUM": _text([ETA] * len(mine)), "RSA_NUM": _text(s[1] for s in mine),
            "NIR_ANO_17": _text(s[2] if s[2].startswith("x") else nir(s[2]) for s in mine),
            "RNG_NAI": _text(s[3] for s in mine), "NIR_RET": _text("true" if s[7] else "false" for s in mine),
            "EXE_SOI_DTD": _text(f"{d:%d%b%Y}:00:00:00".upper() for d in end),
            "EXE_SOI_DTF": _text(f"{d:%d%b%Y}:00:00:00".upper() for d in end),
            "SOR_ANN": _text([year] * len(mine))})
    writer.write(schemas.get("T_MCOaaUM"), "T_MCO23UM", "T_MCO23UM", {
        "ETA_NUM": _text([ETA] * len(UNITS)), "RSA_NUM": _text(u[0] for u in UNITS),
        "UM_ORD_NUM": _text(u[1] for u in UNITS), "DGN_PAL": _text(u[2] for u in UNITS)})
    _deliver_visits(writer, schemas)
    writer.write(schemas.get("KI_CCI_R"), "KI_CCI_R", "KI_CCI_R", {
        "DCD_IDT_ENC": _text(["C08"]), "BEN_IDT_ANO": _text([nir("I08")]), "BEN_DCD_DTE": _text(["2023-09-14"]),
        "DCD_CIM_COD": _text(["I219"])})


def _deliver_visits(writer, schemas) -> None:
    """Public hospitals' outpatient visits of 2023 (ACE): patient, invoice, charge, fees."""
    visit = {"ETA_NUM": _text([ETA] * len(VISITS)), "SEQ_NUM": _text(v[0] for v in VISITS)}
    writer.write(schemas.get("T_MCOaaFASTC"), "T_MCO23FASTC", "T_MCO23FASTC", {
        **visit, "NIR_ANO_17": _text(nir(v[1]) for v in VISITS), "SOR_ANN": _text(["2023"] * len(VISITS))})
    writer.write(schemas.get("T_MCOaaCSTC"), "T_MCO23CSTC", "T_MCO23CSTC", {
        **visit, "NIR_ANO_17": _text(nir(v[1]) for v in VISITS), "RNG_NAI": _text(["1"] * len(VISITS)),
        "EXE_SOI_DTD": _text(["2023-10-03"] * len(VISITS)), "NIR_RET": _text("true" if v[2] else "false" for v in VISITS)})
    writer.write(schemas.get("T_MCOaaFBSTC"), "T_MCO23FBSTC", "T_MCO23FBSTC", {
        **visit, "ACT_COD": _text(["ATU"] * len(VISITS)), "ACT_NBR": _text(["1"] * len(VISITS))})
    writer.write(schemas.get("T_MCOaaFCSTC"), "T_MCO23FCSTC", "T_MCO23FCSTC", {
        "ETA_NUM": _text([ETA] * len(FEES)), "SEQ_NUM": _text(f[0] for f in FEES), "ACT_COD": _text(f[1] for f in FEES),
        "NIR_ANO_17": _text(nir({v[0]: v[1] for v in VISITS}[f[0]]) for f in FEES),
        "ACT_NBR": _text(["1"] * len(FEES)), "DEL_DAT_ENT": _text(f[2] for f in FEES)})


def _drift(delivery) -> None:
    """The producer changed T_MCOaaB between the years: 2022's file has no GHS_NUM, 2023's a column
    RSA_VER the schema does not declare (accepted with --schema-drift accept)."""
    for year in (22, 23):
        path = delivery / f"T_MCO{year}B" / f"T_MCO{year}B.csv"
        lines = [line.split(";") for line in path.read_text().splitlines()]
        if year == 22:
            gone = lines[0].index("GHS_NUM")
            lines = [cells[:gone] + cells[gone + 1:] for cells in lines]
        else:
            lines = [lines[0] + ["RSA_VER"]] + [cells + ["V2023"] for cells in lines[1:]]
        path.write_text("\n".join(";".join(cells) for cells in lines) + "\n")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("known")
    _deliver(root / "delivery")
    _drift(root / "delivery")
    platform = make_platform(root, engine="spark")
    ingest(platform, actor=operator_actor(), request=IngestRequest(str(root / "delivery"), "snds", "known",
                                                                   schema_drift="accept"))
    yield platform
    platform.close()


ENGINES = {"duckdb": lambda p: DuckDBEngine(memory_limit="1GB", threads=2), "spark": lambda p: SparkEngine(p.settings)}


def _extract(platform, engine: str, population: Population, tables=("IR_BEN_R",), years=(2023,)) -> dict:
    with platform.db.unit_of_work() as s:
        snapshot = catalogue.get_snapshot(s, "snds@known")
        spec = ExtractSpec("PRM-known", "snds@known", snapshot.merkle_root, tuple(tables), years, population=population)
        built = ENGINES[engine](platform)
        try:
            body = extract.build(s, engine=built, store=platform.store, keys=platform.keys, snapshot=snapshot,
                                 spec=spec, pseudonym_key=KEY, excluded=[],
                                 target=extract.Target(platform.store, f"known/{engine}/{id(spec)}", "dk", DATA_KEY))
        finally:
            built.close()
        s.rollback()
    return _tables_of(platform, body, DATA_KEY, "dk")


def _analysed(tables: dict[str, pa.Table], sql: str) -> list[tuple]:
    """`sql` over the analytics views of an extract's tables, as a workspace defines them."""
    views = DuckDBEngine(memory_limit="512MB", threads=1)
    try:
        for name, table in tables.items():
            views.register(name, table)
        for name, view in workspace_views({n: t.schema for n, t in tables.items()}, views.dialect):
            views.define_view(name, view)
        return views.con.execute(sql).fetchall()
    finally:
        views.close()


def persons(*ids: str) -> set[str]:
    return {pseudonym(KEY, nir(i)) for i in ids}


COHORTS = [  # (criteria, years, expected persons, also on Spark)
    # A10B in 2023: P01 (both pseudo-NIRs, one person; December care paid in March counts); not
    # P02 (cancelled), P06 (fictitious), P07 (information line), P11 (2022 care), P12 (past the lag)
    # P14 too, by the pseudo-NIR only IR_BEN_R_ARC holds
    ({"atc": ("A10B",)}, (2023,), ("I01", "I14"), True),
    ({"atc": ("A10BB09",)}, (2023,), ("I01",), False),  # gliclazide: on P01's other pseudo-NIR
    ({"atc": ("A10",)}, (2022,), ("I11",), False),  # 2022 care: P11 only
    # E11 in 2023: P02; not P05 (2022, the same numbers), the placeholder, P10 (chaining error)
    ({"icd10": ("E11",)}, (2023,), ("I02",), False),
    ({"icd10": ("E11",)}, (2022, 2023), ("I02", "I05"), True),
    ({"icd10": ("I10",)}, (2023,), ("I04",), True),  # twin 2 by the stay's birth rank, not twin 1
    ({"icd10": ("J18",)}, (2023,), ("I13",), True),  # a medical unit's main diagnosis
    # 63 on 15 March 2023: born March 1960 (P01), counted once
    ({"age_min": 63, "age_max": 63, "age_on": "2023-03-15"}, (2023,), ("I01",), False),
]
# every case on DuckDB; on Spark (14 s an extract) those that exercise each kind of join
CASES = [pytest.param(engine, *case[:3], id=f"{engine}-{i}") for i, case in enumerate(COHORTS)
         for engine in ENGINES if engine == "duckdb" or case[3]]


@pytest.mark.parametrize(("engine", "criteria", "years", "expected"), CASES)
def test_cohorts(base, engine, criteria, years, expected):
    tables = _extract(base, engine, Population(**criteria), years=years)
    assert set(tables["IR_BEN_R"]["BEN_NIR_PSA"].to_pylist()) == persons(*expected)


@pytest.mark.parametrize("engine", ENGINES)
def test_extract_rows_and_the_analytics_over_them(base, engine):
    """A10B in 2023: P01's two prestations (under both pseudo-NIRs, one pseudonym), her two
    IR_BEN_R rows, and P14's under her archived pseudo-NIR, with its archived row; everyone (no
    criterion): thirteen persons (not the fictitious P06), P08's death from the certificate, to
    the month, agreeing with the stay, and P09 alive."""
    drugs = _extract(base, engine, Population(atc=("A10B",)), tables=("IR_BEN_R", "ER_PRS_F", "ER_PHA_F"))
    assert sorted(drugs["ER_PRS_F"]["BEN_NIR_PSA"].to_pylist()) == sorted([*persons("I01")] * 2 + [*persons("I14")])
    assert sorted(drugs["ER_PHA_F"]["PHA_ACT_QSN"].to_pylist()) == [1, 1, 2]
    assert drugs["IR_BEN_R"].num_rows == 4  # N01A, N01B; N14A and the archive's N14B
    everyone = _extract(base, engine, Population(), tables=("IR_BEN_R", "T_MCOaaB", "T_MCOaaC", "KI_CCI_R"),
                        years=(2022, 2023))
    # T_MCOaaB's columns changed between the years (2022 has no GHS_NUM, 2023 adds RSA_VER): each year's
    # columns, NULL where a year lacks them (Spark reads each year's files as they are: stacked by
    # position they would not line up)
    stays = {(r["year"], r["GHS_NUM"], r["RSA_VER"]) for r in everyone["T_MCOaaB"].to_pylist()}
    assert stays == {(2022, None, None), (2023, 1000, "V2023")}
    assert set(everyone["IR_BEN_R"]["BEN_NIR_PSA"].to_pylist()) == persons(
        "I01", "I02", "I03", "I04", "I05", "I07", "I08", "I09", "I10", "I11", "I12", "I13", "I14")
    deaths = _analysed(everyone, "SELECT person, death_date, source, in_hospital, dates_agree FROM deaths")
    assert deaths == [(pseudonym(KEY, nir("I08")), date(2023, 9, 1), "cepidc", True, True)]


@pytest.mark.parametrize("engine", ENGINES)
def test_outpatient_visits_come_for_the_cohort_and_their_acts_are_events(base, engine):
    """E11 in 2023 is P02: her visit's patient row, charge and fees come (FBSTC through the visit's
    (year, ETA_NUM, SEQ_NUM), T_MCOaaCSTC giving the patient), P10's do not; over everyone's
    visits, P10's is dropped by the chaining filter (NIR_RET in error)."""
    tables = ("IR_BEN_R", "T_MCOaaCSTC", "T_MCOaaFBSTC", "T_MCOaaFCSTC")
    mine = _extract(base, engine, Population(icd10=("E11",)), tables=tables)
    assert mine["T_MCOaaCSTC"]["NIR_ANO_17"].to_pylist() == [*persons("I02")]
    assert sorted(mine["T_MCOaaFCSTC"]["ACT_COD"].to_pylist()) == ["C", "K"]
    assert mine["T_MCOaaFBSTC"].num_rows == 1
    everyone = _extract(base, engine, Population(), tables=tables)
    assert everyone["T_MCOaaCSTC"].num_rows == 2
    got = _analysed(everyone, "SELECT person, category, value, \"start\" FROM events WHERE category LIKE "
                              "'mco_outpatient%' ORDER BY category, value")
    p02 = pseudonym(KEY, nir("I02"))
    october = date(2023, 10, 1)  # the extract's dates are to the month; the fees' delay of a day goes with them
    assert got == [(p02, "mco_outpatient_act", "ATU", october), (p02, "mco_outpatient_act", "C", october),
                   (p02, "mco_outpatient_act", "K", october), (p02, "mco_outpatient_visit", ETA, october)]
