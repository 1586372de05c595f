"""Staging a delivery in a scratch DuckDB database: load, check, quarantine.

DuckDB reads the CSV with the schema's types and keeps rejected lines (with their line
numbers) instead of guessing; every other rule is an SQL query over the staged table.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from bastide.base.checks import Rule, lit, q, row_rules, unique_keys
from bastide.base.delivery import DeliveredFolder, read_header
from bastide.base.drift import DRIFT_HINT, essential
from bastide.base.report import Problem, Report
from bastide.base.schema import ForeignKey, TableSchema
from bastide.errors import InvalidInput

REJECT_RULES = {"CAST": "type", "MISSING COLUMNS": "missing_value", "TOO MANY COLUMNS": "too_many_values",
                "INVALID UNICODE": "encoding", "INVALID ENCODING": "encoding",
                "UNQUOTED VALUE": "quoting", "LINE SIZE OVER MAXIMUM": "line_too_long"}


def connect(work: Path, *, threads: int, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB (staged data lives in Parquet files) that spills into `work`."""
    work.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(":memory:", config={
        "threads": threads, "memory_limit": memory_limit, "temp_directory": str(work / "spill"),
        "autoinstall_known_extensions": False, "autoload_known_extensions": False,
    })


ORPHANED = "orphaned_by_release"  # a reused table's rows that a changed parent no longer has: never set aside


class Stage:
    """Each staged folder is a Parquet file in scratch space behind a view of the folder's name.

    Parsing the CSV once into Parquet and checking the columns there is about twice as fast
    as a DuckDB table on disk, and needs no memory in proportion to the delivery. The view
    adds `rn`, the row's position in the staged file, to name lines and set rows aside.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, report: Report, *, quarantine: bool, directory: Path,
                 delimiter: str = ""):
        self.con, self.report, self.quarantine = con, report, quarantine
        self.directory, self.delimiter = directory, delimiter  # "": each file's header says
        self.delimiters: dict[str, str] = {}  # folder -> the delimiter its CSV files use
        self.directory.mkdir(parents=True, exist_ok=True)
        self.types: dict[str, dict[str, str]] = {}
        self._serial = 0

    def _copy(self, name: str, select: str) -> None:
        """Materialise `select` as the folder's staged Parquet file and point its view at it."""
        self._serial += 1  # a new file each time: a view must never read a file being written
        path = self.directory / f"{self._serial}.parquet"
        self.con.execute(f"COPY ({select}) TO {lit(path)} (FORMAT parquet, COMPRESSION snappy)")
        self.con.execute(f"CREATE OR REPLACE VIEW {q(name)} AS SELECT * EXCLUDE (file_row_number), "
                         f"file_row_number AS rn FROM read_parquet({lit(path)}, file_row_number=true)")

    # -- loading ---------------------------------------------------------------------------------------
    def load(self, folder: DeliveredFolder, encoding: str) -> bool:
        """Stage one folder; False when its files cannot be read at all (problems reported)."""
        loaded = self._load_parquet(folder) if folder.format == "parquet" else self._load_csv(folder, encoding)
        if loaded:  # only a staged table can take part in link checks
            self.types[folder.name] = {c.name: c.read_type for c in folder.table.schema.columns}
        return loaded

    def _load_csv(self, folder: DeliveredFolder, encoding: str) -> bool:
        schema = folder.table.schema
        header = self._common_header(folder, encoding)
        if header is None:
            return False
        delimiter = self.delimiters[folder.name]
        columns = "{" + ", ".join(f"{lit(c)}: {lit(schema.column(c).read_type)}" for c in header) + "}"
        files = "[" + ", ".join(lit(f) for f in folder.files) + "]"
        select = (
            f"SELECT {', '.join(q(c) for c in schema.column_names)}, filename "
            f"FROM read_csv({files}, delim={lit(delimiter)}, header=true, auto_detect=false, columns={columns}, "
            f"dateformat='%Y-%m-%d', timestampformat='%Y-%m-%d %H:%M:%S', encoding={lit(encoding)}, "
            f"quote='\"', escape='\"', nullstr='', filename=true, store_rejects=true, "
            f"rejects_table='rej', rejects_scan='rej_scan')"
        )
        try:
            self._copy(folder.name, select)
        except duckdb.Error as exc:
            rule = "encoding" if "encoded" in str(exc) else "unreadable"
            self.report.add(Problem(folder.name, rule, _reason(exc), file=folder.files[0].name))
            return False
        self._report_rejects(folder)
        return True

    def _common_header(self, folder: DeliveredFolder, encoding: str) -> list[str] | None:
        schema, header, ok = folder.table.schema, None, True
        for path in folder.files:
            try:
                this, delimiter = read_header(path, encoding, self.delimiter)
            except InvalidInput as exc:
                self.report.add(Problem(folder.name, exc.details.get("rule", "unreadable"), exc.message, file=path.name))
                ok = False
                continue
            if len(this) == 1 and len(schema.columns) > 1:
                self.report.add(Problem(folder.name, "delimiter", f"the header is one name ({this[0][:60]}…): the "
                                        "file is not separated by ; , tab or |: name its delimiter with --delimiter",
                                        file=path.name, line=1))
                ok = False
                continue
            ok &= self._check_columns(folder.name, schema, this, path.name)
            if header is not None and (this, delimiter) != (header, self.delimiters[folder.name]):
                self.report.add(Problem(folder.name, "header_mismatch", "files of one table must share one header "
                                        "and one delimiter", file=path.name))
                ok = False
            if header is None:
                header, self.delimiters[folder.name] = this, delimiter
        return header if ok else None

    def _check_columns(self, table: str, schema: TableSchema, header: list[str], file: str) -> bool:
        known = set(schema.column_names)
        for col in header:
            if col not in known:
                self.report.add(Problem(table, "unknown_column", f"column {col} is not in table {schema.name}"
                                        f"{DRIFT_HINT}", file=file, line=1, column=col))
        for col in schema.column_names:
            if col not in header:
                self.report.add(Problem(table, "missing_column", f"column {col} of {schema.name} is missing"
                                        f"{DRIFT_HINT if col not in essential(schema) else ' (a key: always needed)'}",
                                        file=file, line=1, column=col))
        dupes = {c for c in header if header.count(c) > 1}
        for col in dupes:
            self.report.add(Problem(table, "duplicate_column", f"column {col} appears twice", file=file, line=1, column=col))
        return set(header) == known and not dupes

    def _load_parquet(self, folder: DeliveredFolder) -> bool:
        schema = folder.table.schema
        files = "[" + ", ".join(lit(f) for f in folder.files) + "]"
        try:
            names = [r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM read_parquet({files})").fetchall()]
        except duckdb.Error as exc:
            self.report.add(Problem(folder.name, "unreadable", _reason(exc)))
            return False
        if not self._check_columns(folder.name, schema, names, folder.files[0].name):
            return False
        casts = ", ".join(f"TRY_CAST({q(c.name)} AS {c.read_type}) AS {q(c.name)}" for c in schema.columns)
        bad = " OR ".join(f"({q(c.name)} IS NOT NULL AND TRY_CAST({q(c.name)} AS {c.read_type}) IS NULL)"
                          for c in schema.columns)
        source = f"read_parquet({files}, filename=true)"
        count = self.con.execute(f"SELECT count(*) FROM {source} WHERE {bad}").fetchall()[0][0]
        if count:
            self.report.add(Problem(folder.name, "type", f"{count} rows hold values of the wrong type"), count=count)
            if not self.quarantine:
                return False
        self._copy(folder.name, f"SELECT {casts}, filename FROM {source} WHERE NOT ({bad})")
        return True

    def _report_rejects(self, folder: DeliveredFolder) -> None:
        rows = self.con.execute(
            "SELECT s.file_path, e.line, e.column_name, e.error_type, e.csv_line, e.error_message, e.column_idx "
            "FROM rej e JOIN rej_scan s USING (scan_id, file_id) ORDER BY s.file_path, e.line"
        ).fetchall()
        for path, line, column, kind, csv_line, message, idx in rows:
            rule = REJECT_RULES.get(str(kind), "unreadable")
            value = _field(csv_line, idx) if rule == "type" else None
            text = _reject_message(rule, column, message)
            self.report.add(Problem(folder.name, rule, text, file=Path(path).name, line=int(line),
                                    column=column or None, value=value))
        if rows:
            self.report.quarantined[folder.name] += len(rows)
        self.con.execute("DROP TABLE IF EXISTS rej; DROP TABLE IF EXISTS rej_scan")

    # -- rules -----------------------------------------------------------------------------------------
    def check_rows(self, folder: DeliveredFolder) -> None:
        rules = row_rules(folder.table.schema)
        if not rules:
            return
        t = q(folder.name)
        # sum(cond::INT) over one scan is ~15x faster in DuckDB than as many count(*) FILTERs.
        counts = self.con.execute(
            "SELECT " + ", ".join(f"sum(({r.condition})::INT)" for r in rules) + f" FROM {t}"
        ).fetchall()[0]
        failing = [(r, n) for r, n in zip(rules, counts, strict=True) if n]
        for rule, n in failing:
            self._examples(folder.name, rule, n)
        if failing and self.quarantine:
            self._quarantine(folder.name, " OR ".join(f"({r.condition})" for r, _ in failing))

    def _examples(self, table: str, rule: Rule, total: int) -> None:
        rows = self.con.execute(
            f"WITH firsts AS (SELECT filename, min(rn) AS first FROM {q(table)} GROUP BY filename) "
            f"SELECT t.filename, t.rn - f.first + 2, CAST({q(rule.column)} AS VARCHAR) FROM {q(table)} t "
            f"JOIN firsts f USING (filename) WHERE {rule.condition} ORDER BY t.rn LIMIT {self.report.limit}"
        ).fetchall()
        self.report.extend([Problem(table, rule.rule, rule.message, file=Path(f).name, line=int(line),
                                    column=rule.column, value=v) for f, line, v in rows], total=total)

    def _quarantine(self, table: str, condition: str) -> None:
        """Set the rows matching `condition` aside: the staged file is rewritten without them."""
        before = self.count(table)
        self._copy(table, f"SELECT * EXCLUDE (rn) FROM {q(table)} WHERE NOT coalesce({condition}, false)")
        self.report.quarantined[table] += before - self.count(table)

    def check_unique(self, folder: DeliveredFolder) -> None:
        t = q(folder.name)
        for key in unique_keys(folder.table.schema):
            cols = ", ".join(q(c) for c in key)
            dupes = self.con.execute(
                f"SELECT {cols}, count(*) - 1 FROM {t} GROUP BY ALL HAVING count(*) > 1 LIMIT {self.report.limit}"
            ).fetchall()
            if not dupes:
                continue
            total = self.con.execute(f"SELECT sum(n - 1) FROM (SELECT count(*) AS n FROM {t} GROUP BY {cols} "
                                     f"HAVING count(*) > 1)").fetchall()[0][0]
            rule = "primary_key" if key == folder.table.schema.primary_key else "unique"
            self.report.extend([Problem(folder.name, rule, f"{'+'.join(key)} is not unique", column="+".join(key),
                                        value="|".join(str(v) for v in d[:-1])) for d in dupes], total=int(total))
            if self.quarantine:
                self._quarantine(folder.name, f"rn IN (SELECT rn FROM (SELECT rn, row_number() OVER "
                                              f"(PARTITION BY {cols} ORDER BY rn) AS n FROM {t}) WHERE n > 1)")

    def check_link(self, child: str, fk: ForeignKey, parents: list[str], *, fix: bool = True) -> int:
        """Rows of `child` whose foreign key finds no row in any of `parents` (the referential, and
        its archive where delivered; nulls are not links). `fix=False`: reported, never set aside
        (a table reused from an earlier snapshot is not rewritten; its orphans stop the ingest)."""
        ctypes = self.types[child]

        def side(alias: str, col: str, mine: dict, other: str) -> str:
            if mine[col] == other or mine[col] == "BIGINT" and other == "VARCHAR":
                return f"{alias}.{q(col)}"
            if mine[col] == "VARCHAR" and other == "BIGINT":
                # a code written as text against one declared an integer: '0000009231824' (ER_UCD_F's
                # 13 characters) is the UCD 9231824 of NU_UCD_R, and text compared as text would not find it
                return f"TRY_CAST({alias}.{q(col)} AS BIGINT)"
            return f"CAST({alias}.{q(col)} AS VARCHAR)"

        def on(alias: str, ptypes: dict) -> str:
            return " AND ".join(f"{side('c', f, ctypes, ptypes[r])} = {side(alias, r, ptypes, ctypes[f])}"
                                for f, r in zip(fk.fields, fk.ref_fields, strict=True))

        anti = " ".join(f"ANTI JOIN {q(p)} p{i} ON {on(f'p{i}', self.types[p])}" for i, p in enumerate(parents))
        parent = parents[0]
        not_null = " AND ".join(f"c.{q(f)} IS NOT NULL" for f in fk.fields)
        if fk.unlinked:  # placeholders that name nobody (base.deviations)
            not_null += f" AND CAST(c.{q(fk.fields[0])} AS VARCHAR) NOT IN ({', '.join(lit(v) for v in fk.unlinked)})"
        if len(fk.fields) == 1 and not self._distinct_orphans(child, fk.fields[0], anti, not_null):
            return 0
        orphans = f"SELECT {'c.rn' if fix else 'NULL'} AS rid, {', '.join('c.' + q(f) for f in fk.fields)} FROM {q(child)} c " \
                  f"{anti} WHERE {not_null}"
        total = self.con.execute(f"SELECT count(*) FROM ({orphans})").fetchall()[0][0]
        if total:
            rows = self.con.execute(f"{orphans} LIMIT {self.report.limit}").fetchall()
            message = (f"{fk.fields[0]} is not a code of the nomenclature {parent}" if fk.kind == "nomenclature"
                       else f"{'+'.join(fk.fields)} has no matching row in {parent}")
            rule = "nomenclature" if fk.kind == "nomenclature" else "foreign_key"
            if not fix:
                message += f" ({child} is unchanged since the last release: the new {' or '.join(parents)} lost rows it needs)"
                rule = ORPHANED
            self.report.extend([Problem(child, rule, message, column="+".join(fk.fields),
                                        value="|".join(str(v) for v in r[1:])) for r in rows], total=total)
            if self.quarantine and fix:
                self._quarantine(child, f"rn IN (SELECT rid FROM ({orphans}))")
                return total
        return 0  # rows set aside

    def _distinct_orphans(self, child: str, column: str, anti: str, wanted: str) -> int:
        """Codes of one column that the parents lack (`anti`: their ANTI JOINs), counted over distinct
        values: a coded column of 20 M rows has a few thousand codes, so this is one cheap column scan."""
        return self.con.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT {q(column)} FROM {q(child)} c WHERE {wanted}) c {anti}"
        ).fetchall()[0][0]

    def register(self, name: str, dataset, types: dict[str, str]) -> None:
        """A folder reused from an earlier snapshot, readable for link checks."""
        self.con.register(name, dataset)
        self.types[name] = types

    def count(self, name: str) -> int:
        return self.con.execute(f"SELECT count(*) FROM {q(name)}").fetchall()[0][0]


def _field(csv_line: str | None, idx) -> str | None:
    if not csv_line or not idx:
        return None
    parts = csv_line.split(";")
    return parts[int(idx) - 1] if 0 < int(idx) <= len(parts) else None


def _reject_message(rule: str, column: str | None, message: str) -> str:
    if rule == "encoding":
        return "the line is not valid in this encoding: if the delivery is Latin-1, pass --encoding latin-1"
    if rule == "type":
        return f"{column} does not hold a value of its declared type"
    return str(message).splitlines()[0][:300]


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "gzip" in text.lower() or "compress" in text.lower():
        return "the file is not a complete gzip file (truncated or corrupt)"
    if "unicode" in text.lower() or "utf-8" in text.lower():
        return "the file is not valid UTF-8: if the delivery is Latin-1, pass --encoding latin-1"
    if "encoded" in text.lower():
        return f"{text.splitlines()[0][:200]}: every file of a delivery must use the one --encoding given"
    return text.splitlines()[0][:300]
