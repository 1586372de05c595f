"""The `QueryEngine` on Spark: the extract's SQL, unchanged but for the dialect, run by a cluster
that reads and writes Bastide's encrypted Parquet itself (through the key broker), so that no
row passes through this process on the way from the snapshot to the workspace."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bastide.config import Settings
from bastide.keys.broker import broker
from bastide.keys.parquet import decryption_properties
from bastide.query.dialect import SPARK
from bastide.query.parts import Written
from bastide.query.source import ParquetSource, file_uri
from bastide.workspaces.spark import plans
from bastide.workspaces.spark.session import root_session

# how Spark encrypts what it writes: as pyarrow does (keys/parquet.py), one key for the whole file
ENCRYPTION = {"parquet.encryption.double.wrapping": "false", "parquet.encryption.algorithm": "AES_GCM_V1",
              "parquet.encryption.data.key.length.bits": "256"}

# the plans a query parses to; a command (SET, CREATE, INSERT, CACHE, ADD JAR…) is none of them
QUERY_PLANS = {"Project", "Aggregate", "Filter", "Sort", "GlobalLimit", "LocalLimit", "Offset", "Distinct", "Union",
               "Join", "Except", "Intersect", "UnresolvedWith", "SubqueryAlias", "Window", "WithWindowDefinition",
               "Deduplicate", "Sample", "UnresolvedRelation", "Generate", "Pivot", "UnresolvedHint", "Tail",
               "OneRowRelation", "UnresolvedInlineTable"}
# reflect() and java_method() call any static Java method: never from a workspace
JAVA_CALLS = re.compile(r"\b(reflect|java_method|try_reflect)\s*\(", re.IGNORECASE)


class SparkEngine:
    dialect = SPARK

    def __init__(self, settings: Settings):
        self.spark = root_session(settings).newSession()  # its own views, settings and token
        self.grant = broker(settings.key_broker_bind).grant({})
        self.file_rows = settings.parquet_file_rows
        for key, value in {"parquet.encryption.kms.instance.id": "bastide",
                           "parquet.encryption.kms.instance.url": self.grant.url,
                           "parquet.encryption.key.access.token": self.grant.token}.items():
            self.spark.conf.set(key, value)
        self.group = f"bastide-{secrets.token_hex(6)}"
        self._sealed = False
        self._views: list[str] = []
        self._cached: list = []

    def _sql(self, sql: str):
        # jobs started from this thread belong to this engine's group, so that `interrupt` stops them
        self.spark.sparkContext.setJobGroup(self.group, "bastide", interruptOnCancel=True)
        return self.spark.sql(sql)

    def _view(self, name: str, frame) -> None:
        frame.createOrReplaceTempView(name)
        self._views.append(name)

    def register(self, name: str, data: pa.Table) -> None:
        self._view(name, self.spark.createDataFrame(data))

    def register_source(self, name: str, source: ParquetSource) -> None:
        for key_id, key in source.keys.items():
            self.grant.add(key_id, key)
        # the files are listed, not discovered: their folders (flx_month=…) are no columns
        self._view(name, self.spark.read.option("recursiveFileLookup", "true").parquet(*source.uris))

    def define_view(self, name: str, sql: str) -> None:
        self._view(name, self.spark.sql(sql))

    def materialise(self, name: str, sql: str) -> int:
        frame = self._sql(sql).persist()
        self._cached.append(frame)
        self._view(name, frame)
        return frame.count()

    def stream(self, sql: str, batch_rows: int, limit: int | None = None) -> pa.RecordBatchReader:
        """The result gathered on the driver (at most `limit` rows): for results a person reads.
        On a sealed engine (a researcher's) every node of the analysed plan is checked first."""
        frame = self._sql(sql)
        if self._sealed:
            plans.check(frame._jdf.queryExecution().analyzed().toJSON())
        table = (frame if limit is None else frame.limit(limit)).toArrow()
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(batch_rows))

    def write_parquet(self, sql: str, folder: Path, *, key_id: str, key: bytes, batch_rows: int,
                      parts: int) -> Written:
        """Written by the executors, one file per task (`parts` is DuckDB's), under the data key."""
        self.grant.add(key_id, key)
        frame = self._sql(sql)
        out = folder / "spark"
        (frame.write.options(**ENCRYPTION).option("parquet.encryption.uniform.key", key_id)
         .option("maxRecordsPerFile", self.file_rows).mode("errorifexists").parquet(file_uri(out)))
        files = []
        for i, produced in enumerate(sorted(out.glob("part-*.parquet"))):
            path = produced.rename(folder / f"part-{i}.parquet")
            # pyarrow opens each file with the key: the rows counted, and the format checked
            rows = pq.ParquetFile(path, decryption_properties=decryption_properties({key_id: key})).metadata.num_rows
            files.append((path, rows))
        return Written(frame.columns, files)

    def seal(self) -> None:
        self.spark.conf.set("spark.sql.runSQLOnFiles", "false")
        self._sealed = True

    def read_only(self, sql: str) -> bool:
        """One statement whose plan is a query (Spark's own parser), calling no Java by reflection."""
        if JAVA_CALLS.search(sql):
            return False
        session = self.spark._jsparkSession
        # the parser reads its settings (quoted names as identifiers) from the thread's active session
        self.spark._jvm.org.apache.spark.sql.SparkSession.setActiveSession(session)
        try:
            plan = session.sessionState().sqlParser().parsePlan(sql)
        except Exception:  # noqa: BLE001 - a parse error (several statements among them) reads nothing
            return False
        return plan.getClass().getSimpleName() in QUERY_PLANS

    def interrupt(self) -> None:
        self.spark.sparkContext.cancelJobGroup(self.group)

    def failure(self, exc: Exception) -> str | None:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        if isinstance(exc, plans.PlanRefused):
            return str(exc)
        if not isinstance(exc, (PySparkException, Py4JJavaError)):
            return None
        text = str(exc)
        if "cancelled" in text and self.group in text or "SPARK_JOB_CANCELLED" in text:
            return "interrupted"
        # the error's own line, never the JVM's stack
        return next((line.strip() for line in text.splitlines() if line.strip() and not line.startswith("\t")), "error")

    def close(self) -> None:
        for frame in self._cached:
            frame.unpersist()
        for name in self._views:
            self.spark.catalog.dropTempView(name)
        self.grant.revoke()
