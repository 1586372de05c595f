"""The analytics layer as views over a workspace's extract: the same list for the SQL console,
the jobs (`bastide.workspace.duckdb()`) and Spark, each engine defining them its own way."""

from __future__ import annotations

import re

import pyarrow as pa

from bastide.analytics.dcir import care_year_sql, flat_columns, flat_dcir_sql
from bastide.analytics.deaths import deaths_sql
from bastide.analytics.events import PMSI_YEARS, drug_dispensations_sql, events_sql
from bastide.analytics.persons import persons_sql
from bastide.analytics.pmsi import flat_mco_sql, stays_sql, visits_sql, yearly
from bastide.query.dialect import Dialect

VIEWS = ("persons", "dcir_flat", "dcir_care_year", "drug_dispensations", "mco_stays", "mco_flat", "mco_visits", "deaths",
         "events")


def workspace_views(schemas: dict[str, pa.Schema], dialect: Dialect) -> list[tuple[str, str]]:
    """(name, SELECT) in the order they must be defined, for the tables the extract has."""
    columns = {t: s.names for t, s in schemas.items()}
    views, flat, have, stays = [], set(), set(columns), set()
    persons = persons_sql(columns)
    if persons:
        views.append(("persons", persons))
    if "ER_PRS_F" in columns:
        flat = {name for _t, _c, name in flat_columns(columns)}
        views += [("dcir_flat", flat_dcir_sql(columns)), ("dcir_care_year", care_year_sql())]
        drugs = drug_dispensations_sql(flat, set(columns))
        if drugs:
            views.append(("drug_dispensations", drugs))
            have.add("drug_dispensations")
    if yearly(columns, *(t for t in columns if t.startswith("T_MCOaa"))):  # every PMSI table carries its year
        have.add(PMSI_YEARS)
    if {"T_MCOaaB", "T_MCOaaC"} <= have:
        views += [("mco_stays", stays_sql(columns)), ("mco_flat", flat_mco_sql(schemas))]
        have.add("mco")
        stays = set(columns["T_MCOaaB"]) | set(columns["T_MCOaaC"])
    if "T_MCOaaCSTC" in have:
        views.append(("mco_visits", visits_sql(columns)))
        have.add("mco_visits")
    deaths = deaths_sql(columns, stays, dialect)
    if deaths:
        views.append(("deaths", deaths))
        have.add("deaths")
    events = events_sql(have, flat, dialect)
    if events:
        views.append(("events", events))
    return views


def used_by(views: list[tuple[str, str]], sql: str) -> list[tuple[str, str]]:
    """The views `sql` reads and the views those read, in definition order. Defining all of them
    for every console query cost about 200 ms (DuckDB binds each view, and `events` binds the
    others again); a query that reads none pays nothing."""
    texts, chosen = [sql.lower()], set()
    for name, body in reversed(views):  # a view reads only views defined before it
        if any(re.search(rf"\b{name}\b", text) for text in texts):
            chosen.add(name)
            texts.append(body.lower())
    return [(name, body) for name, body in views if name in chosen]
