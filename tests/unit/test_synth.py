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
    early = con.sql(f"SELECT count(*) FROM {t('IR_BEN_R')} WHERE BEN_DCD_DTE IS NOT NULL AND "
                    "make_date(BEN_NAI_ANN::INT, BEN_NAI_MOI::INT, 1) > BEN_DCD_DTE::DATE + 31").fetchall()
    assert early == [(0,)]
    per_person = con.sql(f"SELECT count(*) / count(DISTINCT BEN_NIR_PSA) FROM {t('ER_PRS_F')}").fetchall()[0][0]
    assert per_person > 3  # several prestations per person per year over two years
    drugs = {int(r[0]) for r in con.sql(f"SELECT DISTINCT PHA_PRS_IDE FROM {t('ER_PHA_F')}").fetchall()}
    assert drugs <= set(load_codes().cip7.tolist())


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

    from bastide.base.synth.dcir import _append

    columns = {"DCT_ORD_NUM": pa.chunked_array([[1, 2], [3]]), "ORG_CLE_NUM": pa.array(["a", "b", "c"])}
    _append(columns, np.array([0, 2]), {"DCT_ORD_NUM": pa.array([10, 30])})
    assert columns["DCT_ORD_NUM"].to_pylist() == [1, 2, 3, 10, 30]
    assert columns["ORG_CLE_NUM"].to_pylist() == ["a", "b", "c", "a", "c"]
