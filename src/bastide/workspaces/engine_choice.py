"""Which engine builds a workspace's extract: the permit's choice (67(2)(i), its processing
environment) or else the platform's (BASTIDE_ENGINE). Here, in the workspaces, because Spark's
engine lives with them (workspaces/spark); bastide.query holds the engines both analytics and
workspaces use (issue 18, item 12)."""

from __future__ import annotations

from bastide.errors import Unavailable
from bastide.query.engine import DuckDBEngine, QueryEngine


class EngineUnavailable(Unavailable):
    code = "engine_unavailable"


def configured_engine(settings, name: str | None = None) -> QueryEngine:
    """The engine `name` (a permit's choice) or else the one the settings name (BASTIDE_ENGINE)."""
    if (name or settings.engine) == "spark":
        try:
            from bastide.workspaces.spark.engine import SparkEngine  # pyspark only where Spark is used
        except ImportError:
            raise EngineUnavailable("this work runs on Spark and this platform has no Spark: install "
                                    "bastide[spark] and a JDK, and set BASTIDE_SPARK_MASTER (docs/scale.md)") from None
        return SparkEngine(settings)
    return DuckDBEngine(memory_limit=settings.duckdb_memory_limit, threads=settings.duckdb_threads)
