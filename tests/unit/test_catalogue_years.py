"""The years a release covers, for the catalogue's temporal coverage (issue 18, item 13)."""

from __future__ import annotations

from types import SimpleNamespace

from bastide.catalogue.dcat import years_of


def test_the_years_a_release_covers_come_from_its_yearly_folders():
    """A yearly PMSI table (T_MCOaaB) is delivered in one folder a year, the year's two digits in
    place of `aa` (T_MCO23B: 2023; documentation-snds, PMSI tables); other folders name no year."""
    sources = [SimpleNamespace(folder=f, table_name=t) for f, t in (
        ("T_MCO23B", "T_MCOaaB"), ("T_MCO24CSTC", "T_MCOaaCSTC"), ("IR_BEN_R", "IR_BEN_R"), ("T_MCOaaD", "T_MCOaaD"),
        ("ER_PRS_F", "ER_PRS_F"))]
    assert years_of(SimpleNamespace(sources=sources)) == {2023, 2024}
