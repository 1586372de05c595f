"""Issue 18, item 1: a public data dictionary, French and English — releases, tables, variables
with their type, description and nomenclature (the shipped ones browsable by code or label),
and a search — so that researchers can choose variables before they apply."""

from __future__ import annotations

import re

import pytest

from bastide.server import create_app
from bastide.base import nomenclatures
from bastide.catalogue import dictionary
from bastide.catalogue import service as catalogue
from bastide.errors import InvalidInput, NotFound
from bastide.platform import operator_actor
from tests.portal import client_for

REF = "snds@2024-12"


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request, tmp_path, tiny_delivery):
    from tests.conftest import _copied_world

    platform, _ = _copied_world(request, f"{request.param}+local", tiny_delivery, tmp_path, people=False)
    yield platform, client_for(create_app(platform))
    platform.close()


def test_the_releases_their_tables_and_each_variables_description(site):
    _platform, anonymous = site
    index = anonymous.get("/dictionary")
    assert index.status_code == 200 and index.headers["x-egress-rule"] == "public"
    assert "<h1>Dictionnaire des données</h1>" in index.text and f'href="/dictionary/{REF}"' in index.text
    assert "<h1>Data dictionary</h1>" in anonymous.get("/dictionary?lang=en").text
    tables = anonymous.get(f"/dictionary/{REF}?lang=en").text
    assert f'href="/dictionary/{REF}/IR_BEN_R"' in tables and f'href="/dictionary/{REF}/ER_PRS_F"' in tables
    ben = anonymous.get(f"/dictionary/{REF}/IR_BEN_R?lang=fr").text
    row = re.search(r'<tr id="BEN_SEX_COD">(.*?)</tr>', ben, re.DOTALL).group(1)
    # schema-snds (IR_BEN_R.json): BEN_SEX_COD, "Code sexe du bénéficiaire", IR_SEX_V:SEX_COD (shipped: linked)
    assert "Code sexe du bénéficiaire" in row and 'href="/dictionary/nomenclatures/IR_SEX_V"' in row
    unshipped = re.search(r'<tr id="BEN_RNG_GEM">(.*?)</tr>', ben, re.DOTALL).group(1)
    assert "IR_BER_V" in unshipped and "non fournie" in unshipped and "href=" not in unshipped
    assert 'href="/dictionary"' in anonymous.get("/").text  # from the header and the catalogue


def test_a_search_finds_tables_and_variables_by_name_or_description(site):
    platform, anonymous = site
    with platform.db.unit_of_work() as s:
        hits = dictionary.search(s, "ben_nai")  # `_` is searched as itself, any case
        assert {(h.table, h.variable) for h in hits} >= {("IR_BEN_R", "BEN_NAI_ANN")}
        assert all("BEN_NAI" in (h.variable or "") or "ben_nai" in h.description.lower() for h in hits)
        assert dictionary.search(s, "%%") == []  # not "everything"
        # accented capitals fold on both databases (SQLite's own lower() folds ASCII only)
        assert {h.variable for h in dictionary.search(s, "CODE SEXE DU BÉNÉFICIAIRE")} >= {"BEN_SEX_COD"}
        assert {h.variable for h in dictionary.search(s, "IR_BEN_R") if h.table == "IR_BEN_R"} == {None}
        with pytest.raises(InvalidInput, match="2 characters"):
            dictionary.search(s, " a ")
    page = anonymous.get("/dictionary?q=BEN_NAI_ANN")
    assert page.status_code == 200 and f'href="/dictionary/{REF}/IR_BEN_R#BEN_NAI_ANN"' in page.text
    short = anonymous.get("/dictionary?q=a")
    assert short.status_code == 422 and 'class="error"' in short.text and 'id="releases"' in short.text
    assert "Cherchez avec au moins 2 caractères." in short.text


def test_the_shipped_nomenclatures_are_browsed_and_searched_accents_aside(site):
    _platform, anonymous = site
    # CCAM: AHQP001 is the surface electromyography without video (the shipped IR_CCAM_V63)
    found = anonymous.get("/dictionary/nomenclatures/IR_CCAM_V63?q=electromyographie&lang=en")
    assert found.status_code == 200 and "AHQP001" in found.text and "Électromyographie par électrode de surface" in found.text
    assert "ZZZZ999" not in found.text and "AAFA001" not in found.text  # only what matches
    icd = anonymous.get("/dictionary/nomenclatures/IR_CIM_V")
    assert 'rel="next" href="?q=&amp;page=2"' in icd.text and len(re.findall(r"<tr><td>", icd.text)) == nomenclatures.PAGE
    second = anonymous.get("/dictionary/nomenclatures/IR_CIM_V?page=2")
    assert 'rel="prev"' in second.text and "page 2 /" in second.text
    assert anonymous.get("/dictionary/nomenclatures/IR_CIM_V?page=100000").status_code == 422
    assert anonymous.get("/dictionary/nomenclatures/IR_BER_V").status_code == 404  # referenced, not shipped
    assert anonymous.get("/dictionary/nomenclatures/..%2F..%2Fschema").status_code == 404


def test_what_is_not_a_published_release_is_not_in_the_dictionary(site):
    platform, anonymous = site
    assert anonymous.get("/dictionary/snds@1999-01").status_code == 404
    assert anonymous.get(f"/dictionary/{REF}/NOT_A_TABLE").status_code == 404
    bad = anonymous.get("/dictionary/not a ref")
    assert bad.status_code == 422 and "n&#39;est pas une référence de version" in bad.text  # said in French
    with platform.db.unit_of_work() as s:  # a release being loaded: the public learns nothing of it
        catalogue.stage_snapshot(s, actor=operator_actor(), keys=platform.keys,
                                 dataset=catalogue.get_dataset(s, "snds"), release="2025-06")
    staging = anonymous.get("/dictionary/snds@2025-06")
    assert staging.status_code == 404 and staging.text.replace("2025-06", "x") == \
        anonymous.get("/dictionary/snds@2025-07").text.replace("2025-07", "x")  # the same as one that never was
    with platform.db.unit_of_work() as s:
        assert [r.ref for r in dictionary.latest(s)] == [REF]
        with pytest.raises(NotFound):
            dictionary.table(s, REF, "NOT_A_TABLE")


def test_every_shipped_nomenclature_names_its_code_column():
    shipped = nomenclatures.shipped()
    assert {"IR_CIM_V", "IR_CCAM_V63", "IR_SEX_V", "IR_NAT_V"} <= set(shipped)
    for name in shipped:
        loaded = nomenclatures.load(name)
        assert loaded.code in loaded.columns and loaded.rows, name
    # IR_SEX_V (schema-snds): 1 MASCULIN, 2 FEMININ, 0 unknown or a legal person, 9 unknown value
    assert {row[:2] for row in nomenclatures.load("IR_SEX_V").rows} == {
        ("1", "MASCULIN"), ("2", "FEMININ"), ("0", "INCONNU OU PERSONNE MORALE SANS CIVILITE"), ("9", "VALEUR INCONNUE")}


def test_each_variable_says_how_full_it_is_as_the_written_files_count(site):
    """Completeness (issue 18, item 1): the share of a table's rows that fill each variable, from
    the empty values counted as the files were written — checked here against a count of the
    stored files themselves, decrypted and read by pyarrow."""
    from tests.integration.test_workspaces import _snapshot_table

    platform, anonymous = site
    ben = _snapshot_table(platform, "IR_BEN_R")
    with platform.db.unit_of_work() as session:
        table = dictionary.table(session, REF, "IR_BEN_R")
        filled = {v.name: v.filled for v in table.variables}
        assert table.rows == ben.num_rows
    for column in ben.column_names:
        assert filled[column] == ben.num_rows - ben[column].null_count, column
    partly = next(c for c in ben.column_names if 0 < ben[c].null_count < ben.num_rows)
    share = 100 * (ben.num_rows - ben[partly].null_count) / ben.num_rows
    row = re.search(rf'<tr id="{partly}">(.*?)</tr>', anonymous.get(f"/dictionary/{REF}/IR_BEN_R").text, re.DOTALL)
    assert f"{share:.1f} %" in row.group(1)


def test_each_variable_says_which_codes_and_which_dates_it_holds_as_the_written_files_count(site):
    """The values' aggregates (issue 18, item 1), against the stored files read by pyarrow: the
    codes of IR_SEX_V that BEN_SEX_COD uses (IR_SEX_V has four: 0, 1, 2, 9), BEN_DCD_DTE's span
    to the month with its « no date » rows (1600-01-01 for the living: base/deviations.py) apart;
    an identifier says nothing of its values."""
    from datetime import date

    import pyarrow as pa
    import pyarrow.compute as pc

    from tests.integration.test_workspaces import _snapshot_table

    platform, anonymous = site
    ben = _snapshot_table(platform, "IR_BEN_R")
    with platform.db.unit_of_work() as session:
        said = {v.name: v.values() for v in dictionary.table(session, REF, "IR_BEN_R").variables}
    sexes = {str(v) for v in pc.unique(ben["BEN_SEX_COD"]).to_pylist() if v is not None}
    assert sexes <= {"0", "1", "2", "9"} and said["BEN_SEX_COD"] == {"codes": len(sexes), "capped": False}
    deaths = [d for d in ben["BEN_DCD_DTE"].to_pylist() if d is not None]
    assert said["BEN_DCD_DTE"]["placeholders"] == sum(not date(1800, 1, 1) <= d <= date(2500, 12, 31) for d in deaths)
    assert said["BEN_DCD_DTE"]["placeholders"] >= sum(d == date(1600, 1, 1) for d in deaths) > 0  # the living
    dated = next(c for c in ben.column_names if pa.types.is_date(ben[c].type) and c != "BEN_DCD_DTE"
                 and ben[c].null_count < ben.num_rows)
    days = sorted(d for d in ben[dated].to_pylist() if d is not None and date(1800, 1, 1) <= d <= date(2500, 12, 31))
    assert said[dated]["first"] == days[0].isoformat()[:7] and said[dated]["last"] == days[-1].isoformat()[:7]
    assert said["BEN_NIR_PSA"] == {}  # no nomenclature: its values are a person's, never counted
    page = anonymous.get(f"/dictionary/{REF}/IR_BEN_R").text
    row = re.search(rf'<tr id="{dated}">(.*?)</tr>', page, re.DOTALL).group(1)
    assert f"de {days[0].isoformat()[:7]} à {days[-1].isoformat()[:7]}" in row
    row = re.search(r'<tr id="BEN_DCD_DTE">(.*?)</tr>', page, re.DOTALL).group(1)
    assert f"{said['BEN_DCD_DTE']['placeholders']} lignes « sans date »" in row
    assert f"{len(sexes)} codes de la nomenclature" in re.search(r'<tr id="BEN_SEX_COD">(.*?)</tr>', page,
                                                                  re.DOTALL).group(1)
    api = anonymous.get("/api/catalogue/datasets/snds/snapshots/2024-12/tables/IR_BEN_R").json()
    assert next(v for v in api["variables"] if v["name"] == "BEN_SEX_COD")["values"]["codes"] == len(sexes)
