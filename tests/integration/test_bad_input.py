"""Bad deliveries: each gets a clear, located error, and nothing becomes visible."""

from __future__ import annotations

import gzip
import shutil

import pytest

from bastide.base.ingest import IngestRequest, ingest
from bastide.catalogue import service as catalogue
from bastide.errors import InvalidInput, NotFound, StorageError, ValidationFailed
from tests.conftest import make_platform


@pytest.fixture
def local(tmp_path):
    p = make_platform(tmp_path)
    yield p
    p.close()


def _csv(delivery, table):
    return next((delivery / table).glob("*.csv"))


def _edit(path, line: int, column: str, value: str) -> None:
    """Set `column` on file line `line` (1 is the header)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(";")
    cells = lines[line - 1].split(";")
    cells[header.index(column)] = value
    lines[line - 1] = ";".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _fails(platform, actor, delivery, rule, **kw) -> dict:
    with pytest.raises(ValidationFailed) as exc:
        ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "r1", **kw))
    problems = [p for p in exc.value.details["problems"] if p["rule"] == rule]
    assert problems, exc.value.details["counts"]
    with platform.db.unit_of_work() as s, pytest.raises(NotFound):
        catalogue.get_snapshot(s, "snds@r1")
    assert platform.store.list("base/snds/r1") == []
    return problems[0]


def test_unknown_table(local, delivery, actor):
    shutil.copytree(delivery / "IR_BEN_R", delivery / "IR_XYZ_R")
    with pytest.raises(InvalidInput, match="unknown table IR_XYZ_R"):
        ingest(local, actor=actor, request=IngestRequest(str(delivery), "snds", "r1"))


def test_unknown_and_missing_column(local, delivery, actor):
    path = _csv(delivery, "IR_BEN_R")
    text = path.read_text().replace("BEN_RES_COM", "BEN_RES_XXX", 1)
    path.write_text(text)
    unknown = _fails(local, actor, delivery, "unknown_column")
    assert unknown["column"] == "BEN_RES_XXX" and unknown["line"] == 1
    missing = _fails(local, actor, delivery, "missing_column")
    assert missing["column"] == "BEN_RES_COM"


def test_text_in_numeric_column(local, delivery, actor):
    _edit(_csv(delivery, "IR_BEN_R"), 5, "BEN_SEX_COD", "X")
    problem = _fails(local, actor, delivery, "type")
    assert (problem["file"], problem["line"], problem["column"], problem["value"]) == ("IR_BEN_R.csv", 5, "BEN_SEX_COD", "X")


def test_text_in_date_column(local, delivery, actor):
    _edit(_csv(delivery, "IR_BEN_R"), 3, "BEN_DTE_INS", "2023-13-45")
    assert _fails(local, actor, delivery, "type")["column"] == "BEN_DTE_INS"


def test_value_over_declared_length(local, delivery, actor):
    _edit(_csv(delivery, "IR_BEN_R"), 7, "BEN_RES_DPT", "12345")
    problem = _fails(local, actor, delivery, "length")
    assert (problem["line"], problem["column"], problem["value"]) == (7, "BEN_RES_DPT", "12345")


def test_duplicate_primary_key(local, delivery, actor):
    path = _csv(delivery, "IR_BEN_R")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines + [lines[1]]) + "\n")
    assert _fails(local, actor, delivery, "primary_key")["column"] == "BEN_NIR_PSA+BEN_RNG_GEM"


def test_pharmacy_row_without_prestation(local, delivery, actor):
    _edit(next((delivery / "ER_PHA_F").glob("*.csv")), 2, "DCT_ORD_NUM", "99999999")
    problem = _fails(local, actor, delivery, "foreign_key")
    assert problem["table"] == "ER_PHA_F" and problem["column"].startswith("DCT_ORD_NUM+FLX_DIS_DTD")


def test_the_real_bases_placeholders_and_return_codes_pass_but_an_unknown_patient_does_not(local, delivery, actor):
    """base/deviations.py: NIR_ANO_17 placeholders name nobody (fiches/fiche_beneficiaire.md) and
    DAT_RET is a return code like the others, whatever schema-snds declares; any other NIR_ANO_17
    missing from IR_BEN_R is still a broken link."""
    chaining = _csv(delivery, "T_MCO23C")
    _edit(chaining, 2, "NIR_ANO_17", "xxxxxxxxxxxxxxxxx")
    _edit(chaining, 3, "NIR_ANO_17", "XXXXXXXXXXXXXXXXD")
    _edit(chaining, 4, "DAT_RET", "1")
    ingest(local, actor=actor, request=IngestRequest(str(delivery), "snds", "r0"))
    _edit(chaining, 5, "NIR_ANO_17", "ZZZZZZZZZZZZZZZZZ")
    problem = _fails(local, actor, delivery, "foreign_key")
    assert (problem["table"], problem["column"], problem["value"]) == ("T_MCO23C", "NIR_ANO_17", "ZZZZZZZZZZZZZZZZZ")


def test_a_drug_missing_from_ir_pha_r(local, delivery, actor):
    """ER_PHA_F's CIP13 is checked against IR_PHA_R's key, its CIP7 against IR_PHA_R.PHA_PRS_IDE
    (base/deviations.py: schema-snds points both at the CIP13)."""
    _edit(next((delivery / "ER_PHA_F").glob("*.csv")), 2, "PHA_PRS_C13", "3400999999999")
    problem = _fails(local, actor, delivery, "nomenclature")
    assert (problem["table"], problem["column"], problem["value"]) == ("ER_PHA_F", "PHA_PRS_C13", "3400999999999")
    assert "IR_PHA_R" in problem["message"]


def test_code_missing_from_its_delivered_nomenclature(local, delivery, actor):
    _edit(next((delivery / "ER_PRS_F").glob("*.csv")), 4, "PRS_NAT_REF", "9998")
    problem = _fails(local, actor, delivery, "nomenclature")
    assert (problem["table"], problem["column"], problem["value"]) == ("ER_PRS_F", "PRS_NAT_REF", "9998")
    assert "IR_NAT_V" in problem["message"]


def test_empty_file(local, delivery, actor):
    _csv(delivery, "KI_ECD_R").write_text("")
    assert _fails(local, actor, delivery, "empty_file")["file"] == "KI_ECD_R.csv"


def test_truncated_gzip(local, delivery, actor):
    path = _csv(delivery, "IR_BEN_R")
    packed = gzip.compress(path.read_bytes())
    path.unlink()
    (delivery / "IR_BEN_R" / "IR_BEN_R.csv.gz").write_bytes(packed[: len(packed) // 2])
    problem = _fails(local, actor, delivery, "unreadable")
    assert "gzip" in problem["message"]


def test_latin1_needs_its_encoding(local, delivery, actor):
    for path in delivery.rglob("*.csv"):  # a whole export in Latin-1, as SNDS extracts often are
        path.write_bytes(path.read_text(encoding="utf-8").replace("SYNTHETIQUE", "SYNTHÉTIQUE").encode("latin-1", "replace"))
    problem = _fails(local, actor, delivery, "encoding")
    assert "--encoding latin-1" in problem["message"]
    result = ingest(local, actor=actor, request=IngestRequest(str(delivery), "snds", "r1", encoding="latin-1"))
    assert result.tables["T_MCOaaE"] > 0


def test_utf8_delivery_declared_latin1_is_refused(local, delivery, actor):
    problem = _fails(local, actor, delivery, "encoding", encoding="latin-1")
    # the referentials with accented labels are the files that give the encoding away
    assert problem["table"] in {"IR_CCAM_V63", "IR_CIM_V", "IR_NAT_V", "IR_SPE_V"}
    assert "--encoding" in problem["message"]


def test_missing_delivery_folder(local, tmp_path, actor):
    with pytest.raises(InvalidInput, match="does not exist"):
        ingest(local, actor=actor, request=IngestRequest(str(tmp_path / "nope"), "snds", "r1"))


def test_quarantine_sets_bad_rows_aside(local, delivery, actor):
    _edit(_csv(delivery, "IR_BEN_R"), 5, "BEN_RES_DPT", "12345")
    result = ingest(local, actor=actor, request=IngestRequest(str(delivery), "snds", "r1", quarantine=True))
    assert result.quarantined.get("IR_BEN_R") == 1
    # the beneficiary's prestations and stays lost their parent: they are set aside too, never silently kept
    assert sum(result.quarantined.values()) > 1


def test_unreachable_store_leaves_nothing_visible(tmp_path, delivery, actor):
    platform = make_platform(tmp_path)
    platform.settings.__dict__["resolved_store_url"] = "s3://nobucket/x"
    platform.settings.s3_endpoint = "http://127.0.0.1:9"
    platform.__dict__.pop("store", None)
    with pytest.raises(StorageError):
        ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "r1"))
    with platform.db.unit_of_work() as s, pytest.raises(NotFound):
        catalogue.get_snapshot(s, "snds@r1")
    platform.close()


def test_a_prestation_finds_its_beneficiary_in_the_archive_but_not_nowhere(local, delivery, actor):
    """base/deviations.py: IR_BEN_R_ARC has IR_BEN_R's columns and holds the rows IR_BEN_R no
    longer does (guide CépiDc, chapters 3-4): a prestation whose (BEN_NIR_PSA, BEN_RNG_GEM) is only
    there is linked; one found in neither is still a broken link."""
    ben, archive = _csv(delivery, "IR_BEN_R"), _csv(delivery, "IR_BEN_R_ARC")
    lines = ben.read_text().splitlines()
    header = lines[0].split(";")
    nir, rank = header.index("BEN_NIR_PSA"), header.index("BEN_RNG_GEM")
    prs = _csv(delivery, "ER_PRS_F")
    prs_header = prs.read_text().splitlines()[0].split(";")
    claimed = {(c[prs_header.index("BEN_NIR_PSA")], c[prs_header.index("BEN_RNG_GEM")])
               for c in (line.split(";") for line in prs.read_text().splitlines()[1:])}
    moved = next(i for i, line in enumerate(lines[1:], 1)
                 if (line.split(";")[nir], line.split(";")[rank]) in claimed)  # a beneficiary with claims
    archive.write_text(archive.read_text() + lines[moved] + "\n")
    ben.write_text("\n".join(lines[:moved] + lines[moved + 1:]) + "\n")
    ingest(local, actor=actor, request=IngestRequest(str(delivery), "snds", "r0"))
    archive.write_text(archive.read_text().splitlines()[0] + "\n")  # the next release's archive loses it too
    problem = _fails(local, actor, delivery, "orphaned_by_release")  # ER_PRS_F is reused, and checked again
    assert (problem["table"], problem["column"]) == ("ER_PRS_F", "BEN_NIR_PSA+BEN_RNG_GEM")
    assert "unchanged since the last release" in problem["message"]
    # with --quarantine nothing is reused (the options differ): its prestations are set aside
    done = ingest(local, actor=actor, request=IngestRequest(str(delivery), "snds", "r2", quarantine=True))
    assert done.quarantined.get("ER_PRS_F", 0) >= 1


def test_a_hospital_drug_is_its_ucd_whether_written_with_leading_zeros_or_not(local, delivery, actor):
    """ER_UCD_F.UCD_UCD_COD is text of 13 characters, NU_UCD_R.UCD_UCD_COD an integer: the code
    0000009231824 is the UCD 9231824 (CEPROTIN 500 UI/5 ML, NU_UCD_R); a code the referential
    lacks is a nomenclature error."""
    ucd = next((delivery / "ER_UCD_F").glob("*.csv"))
    _edit(ucd, 2, "UCD_UCD_COD", "0000009231824")
    _edit(ucd, 3, "UCD_UCD_COD", "9231824")
    ingest(local, actor=actor, request=IngestRequest(str(delivery), "snds", "r0"))
    _edit(ucd, 2, "UCD_UCD_COD", "0000000000001")
    problem = _fails(local, actor, delivery, "nomenclature")
    assert (problem["table"], problem["value"]) == ("ER_UCD_F", "0000000000001")
