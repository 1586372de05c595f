"""The query engines over a release's files, below both the analytics (the SNDS rules as SQL) and
the workspaces (extracts, queries, jobs): SQL dialects, the DuckDB engine, the encrypted Parquet
sources it reads and the parts it writes (issue 18, item 12: analytics never imports workspaces)."""
