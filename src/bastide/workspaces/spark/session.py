"""The one SparkSession of this process. A JVM starts once (10-15 s); each engine then works in
its own `newSession()`: its views, its SQL settings and its key-broker token are its own, the
cluster and its cache are shared."""

from __future__ import annotations

import threading

from bastide.config import Settings
from bastide.errors import ConfigError
from bastide.workspaces.spark.jar import CLASS, kms_jar

CRYPTO_FACTORY = "org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory"
_LOCK = threading.Lock()
_ROOT = None


def _conf(settings: Settings) -> dict[str, str]:
    jar = str(kms_jar())
    scratch = settings.resolved_work_dir / "spark"  # shuffle and spill files, the JVM's temporary files
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    conf = {
        "spark.local.dir": str(scratch),
        "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={scratch / 'tmp'}",
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.jars": jar,  # shipped to the executors of a cluster
        "spark.driver.extraClassPath": jar,  # Parquet loads the KMS client with the driver's class loader
        "spark.executor.extraClassPath": jar,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # the SQL written for DuckDB quotes names with "…", which Spark reads as strings otherwise
        "spark.sql.ansi.enabled": "true",
        "spark.sql.ansi.doubleQuotedIdentifiers": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.parquet.compression.codec": "zstd",
        # the cohort (person, pseudonym: ~100 bytes a person) is joined to every person-keyed table;
        # broadcast up to ~2.5 M persons rather than shuffle 10 M-row, 123-column scans to meet it
        # (ER_PRS_F of a 200 k-person cohort: 53 s shuffled, 37 s broadcast, on 2 cores)
        "spark.sql.autoBroadcastJoinThreshold": str(256 << 20),
        "spark.sql.adaptive.autoBroadcastJoinThreshold": str(256 << 20),
        # every Parquet file is read and written through Bastide's KMS client (KEY-01)
        "spark.hadoop.parquet.crypto.factory.class": CRYPTO_FACTORY,
        "spark.hadoop.parquet.encryption.kms.client.class": CLASS,
    }
    if settings.spark_master.startswith("local"):
        conf |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    return conf


def root_session(settings: Settings):
    """The process's SparkSession, started on first use with the settings of that first use."""
    global _ROOT
    with _LOCK:
        if _ROOT is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError:
                raise ConfigError("BASTIDE_ENGINE=spark needs pyspark: pip install 'bastide[spark]'") from None
            builder = SparkSession.builder.master(settings.spark_master).appName("bastide")
            for key, value in _conf(settings).items():
                builder = builder.config(key, value)
            _ROOT = builder.getOrCreate()
            _ROOT.sparkContext.setLogLevel("ERROR")
        return _ROOT


def stop() -> None:
    global _ROOT
    with _LOCK:
        if _ROOT is not None:
            _ROOT.stop()
            _ROOT = None
