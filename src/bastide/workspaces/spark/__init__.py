"""The Spark engine: the same extracts and workspace SQL as DuckDB, on a cluster (issue 6).

`session.py` starts the one SparkSession of this process (local mode on a laptop and in tests,
a standalone or Kubernetes master in production); `engine.py` is the `QueryEngine` over a
session of it; `jar.py` compiles the KMS client that lets Spark read and write Bastide's
encrypted Parquet through the key broker (keys/broker.py)."""
