"""Writes synthetic tables as CNAM delivers them: `;`-separated CSV with a header,
every schema column present (empty where the synthetic model has no value)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from bastide.base.schema import TableSchema


class DeliveryWriter:
    def __init__(self, out: Path, *, gzip: bool = False):
        self.out, self.gzip = Path(out), gzip
        self.rows: dict[str, int] = {}

    def write(self, schema: TableSchema, folder: str, stem: str, columns: dict[str, pa.Array]) -> int:
        unknown = set(columns) - set(schema.column_names)
        if unknown:  # a typo in the generator must not silently drop a column
            raise ValueError(f"{schema.name} has no columns {sorted(unknown)}")
        lengths = {len(a) for a in columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"{schema.name}: columns of different lengths {sorted(lengths)}")
        count = lengths.pop()
        arrays = [columns[c] if c in columns else pa.nulls(count, pa.string()) for c in schema.column_names]
        table = pa.table(arrays, names=schema.column_names)
        target = self.out / folder / (stem + (".csv.gz" if self.gzip else ".csv"))
        target.parent.mkdir(parents=True, exist_ok=True)
        # CNAM extracts have a bare header line and unquoted values.
        options = pacsv.WriteOptions(include_header=False, delimiter=";", quoting_style="none", batch_size=200_000)
        header = (";".join(schema.column_names) + "\n").encode()
        sink = pa.CompressedOutputStream(str(target), "gzip") if self.gzip else pa.OSFile(str(target), "wb")
        with sink:
            sink.write(header)
            pacsv.write_csv(table, sink, write_options=options)
        self.rows[folder] = self.rows.get(folder, 0) + count
        return count

    def copy_referential(self, source: Path) -> int:
        """Deliver a real nomenclature file as it is (public referential, no personal data)."""
        folder = source.stem
        target = self.out / folder / (folder + (".csv.gz" if self.gzip else ".csv"))
        target.parent.mkdir(parents=True, exist_ok=True)
        data = source.read_bytes()
        if self.gzip:
            with pa.CompressedOutputStream(str(target), "gzip") as sink:
                sink.write(data)
        else:
            target.write_bytes(data)
        count = sum(1 for line in data.splitlines() if line.strip()) - 1
        self.rows[folder] = count
        return count
