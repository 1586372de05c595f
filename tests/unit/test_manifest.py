import hashlib

from bastide.base.manifest import FileEntry, build, merkle_root, parse


def entry(path, content):
    return FileEntry(path, hashlib.sha256(content).hexdigest(), len(content), 1, "T", "T", None, "dk")


def test_merkle_root_changes_with_any_file_and_ignores_order():
    files = [entry(f"f{i}", bytes([i])) for i in range(5)]
    root = merkle_root(files)
    assert merkle_root(list(reversed(files))) == root
    files[3] = entry("f3", b"other")
    assert merkle_root(files) != root


def test_manifest_round_trip():
    files = [entry("a", b"1"), entry("b", b"2")]
    raw = build(dataset="d", release="r", files=files, tables={"T": {"rows": 2}}, sources={}, schema_hashes={"T": "h"},
                quarantined={})
    body, parsed = parse(raw)
    assert parsed == files and body["merkle_root"] == merkle_root(files)
