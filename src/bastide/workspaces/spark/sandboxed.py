"""A Spark workspace's engine inside its sandbox (enginehost.py): Spark in local mode, its JVM
started by this process as the workspace's unprivileged uid, with no network but the sandbox's
own loopback, reading the extract bound at /extract through a key broker of its own that holds
this extract's key and nothing else. Each connection is a sealed session (SparkEngine.seal):
SQL on files off, one read-only statement, every node of its plan checked (plans.py).

On a cluster the same boundary is kept by running this process — the driver — in the sandbox
and giving the executors, on other nodes, only what the workspace holds: docs/security.md."""

from __future__ import annotations

from pathlib import Path

from bastide.config import Settings
from bastide.workspaces.answer import Scope
from bastide.workspaces.enginehost import Config, Connections
from bastide.query.source import ParquetSource
from bastide.workspaces.spark.engine import SparkEngine


def spark_connections(config: Config, tables: dict[str, ParquetSource]) -> Connections:
    spark = config.spark
    settings = Settings(home=Path("/scratch/home"), engine="spark", spark_master=f"local[{spark['threads']}]",
                        spark_driver_memory=spark["driver_memory"], spark_shuffle_partitions=spark["shuffle_partitions"],
                        key_broker_bind="127.0.0.1")

    def connect() -> Scope:
        engine = SparkEngine(settings)
        engine.seal()
        return Scope(engine, tables)

    return Connections(connect, config.connections)
