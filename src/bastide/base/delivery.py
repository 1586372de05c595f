"""A delivery as a data holder sends it: one folder per table (or TABLE.csv files at the
top), CSV with a header (optionally gzip), or Parquet; local or on S3. CNAM separates with `;`;
other producers use `,`, tab or `|`: the header says which (`--delimiter` forces one)."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

from bastide.base.schema import DeliveredTable, SchemaRegistry
from bastide.errors import InvalidInput, StorageError

SUFFIXES = (".csv", ".csv.gz", ".parquet")
DELIMITERS = {"auto": "", ";": ";", ",": ",", "tab": "\t", "\t": "\t", "|": "|"}  # option -> character
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1"}


@dataclass(frozen=True)
class DeliveredFolder:
    table: DeliveredTable
    files: tuple[Path, ...]

    @property
    def name(self) -> str:
        return self.table.folder

    @property
    def format(self) -> str:
        return "parquet" if self.files[0].name.endswith(".parquet") else "csv"


def normalise_delimiter(name: str) -> str:
    """The delimiter character, or "" to find it in each file's header."""
    try:
        return DELIMITERS[name]
    except KeyError:
        raise InvalidInput(f"unsupported --delimiter {name!r}: use auto, ';', ',', tab or '|'") from None


def sniff_delimiter(header: str) -> str:
    """The delimiter a header line uses: the candidate that splits it into the most names (a
    column name holds none of them); `;` for a header of one name."""
    counts = {d: header.count(d) for d in (";", ",", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def delimiter_name(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else delimiter


def normalise_encoding(name: str) -> str:
    try:
        return ENCODINGS[name.lower()]
    except KeyError:
        raise InvalidInput(f"unsupported --encoding {name!r}: use utf-8 or latin-1") from None


def _data_file(path: Path) -> bool:
    return path.is_file() and path.name.endswith(SUFFIXES) and not path.name.startswith(".")


def _table_name(path: Path) -> str:
    for suffix in SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.name


def discover(root: Path, registry: SchemaRegistry) -> list[DeliveredFolder]:
    root = Path(root)
    if not root.is_dir():
        raise InvalidInput(f"delivery folder {root} does not exist (or is not a folder)", details={"path": str(root)})
    folders: dict[str, list[Path]] = {}
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            files = sorted(p for p in entry.rglob("*") if _data_file(p))
            if files:
                folders.setdefault(entry.name, []).extend(files)
        elif _data_file(entry):
            folders.setdefault(_table_name(entry), []).append(entry)
    if not folders:
        raise InvalidInput(f"delivery folder {root} holds no .csv, .csv.gz or .parquet file")
    out = []
    for name, files in folders.items():
        kinds = {f.name.endswith(".parquet") for f in files}
        if len(kinds) > 1:
            raise InvalidInput(f"table {name} mixes CSV and Parquet files: deliver one format per table")
        out.append(DeliveredFolder(registry.resolve(name), tuple(files)))
    return out


def read_header(path: Path, encoding: str, delimiter: str = "") -> tuple[list[str], str]:
    """The column names of a CSV delivery file and its delimiter (found in the header when
    `delimiter` is ""), or a clear error."""
    if path.stat().st_size == 0:
        raise InvalidInput(f"{path.name} is empty: a delivery file needs at least a header line",
                           details={"file": str(path), "rule": "empty_file"})
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            line = fh.readline(1 << 20)
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidInput(f"{path.name} is not a readable gzip file: {exc}",
                           details={"file": str(path), "rule": "bad_compression"}) from exc
    try:
        text = line.decode(encoding).strip("\r\n").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{path.name} is not {encoding}: if the delivery is Latin-1, pass --encoding latin-1",
            details={"file": str(path), "rule": "encoding"},
        ) from exc
    if not text:
        raise InvalidInput(f"{path.name} is empty: a delivery file needs at least a header line",
                           details={"file": str(path), "rule": "empty_file"})
    delimiter = delimiter or sniff_delimiter(text)
    return [c.strip().strip('"') for c in text.split(delimiter)], delimiter


def source_digest(folder: DeliveredFolder, *, options: str) -> str:
    """Content address of what was delivered for a folder (file bytes, schema, options)."""
    digest = hashlib.sha256(f"{folder.table.schema.schema_hash}|{options}|".encode())
    for path in sorted(folder.files, key=lambda p: p.name):
        with open(path, "rb") as fh:
            digest.update(hashlib.file_digest(fh, "sha256").digest())
    return digest.hexdigest()


def fetch_s3(url: str, target: Path, fs: pafs.FileSystem) -> Path:
    """Copy an s3:// delivery into scratch space so it is read like a local one."""
    prefix = url.removeprefix("s3://").strip("/")
    try:
        infos = fs.get_file_info(pafs.FileSelector(prefix, recursive=True))
    except FileNotFoundError:
        infos = []
    except OSError as exc:
        raise StorageError(f"cannot list the delivery {url}: {str(exc).splitlines()[0]}") from exc
    files = [i for i in infos if i.type == pafs.FileType.File]
    if not files:
        raise InvalidInput(f"delivery {url} holds no file")
    for info in files:
        local = target / info.path[len(prefix) + 1 :]
        local.parent.mkdir(parents=True, exist_ok=True)
        pafs.copy_files(info.path, str(local), source_filesystem=fs, destination_filesystem=pafs.LocalFileSystem())
    return target
