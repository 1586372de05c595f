"""Files sealed in chunks (keys/sealed.py): what goes in comes out, bound to where it is stored,
and any reordering, truncation or change is refused (KEY-01); a capped reader decrypts only
what it shows."""

from __future__ import annotations

import io
import os
import secrets

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastide.config import bytes_of
from bastide.keys import sealed
from bastide.keys.sealed import CHUNK, TAG, TooLarge, open_stream, seal_stream

KEY = secrets.token_bytes(32)


def _seal(content: bytes, where: str = "ws/outputs/a.csv", **kw) -> bytes:
    sink = io.BytesIO()
    seal_stream(KEY, where, io.BytesIO(content), sink, **kw)
    return sink.getvalue()


def _open(blob: bytes, where: str = "ws/outputs/a.csv") -> bytes:
    return b"".join(open_stream(KEY, where, io.BytesIO(blob)))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
def test_what_is_sealed_opens_whatever_its_size(size):
    content = os.urandom(size)
    blob = _seal(content)
    assert _open(blob) == content
    chunks = max(1, -(-size // CHUNK))
    assert len(blob) == len(sealed.MAGIC) + sealed.PREFIX + size + chunks * TAG


def test_a_sealed_file_opens_only_where_it_was_stored_and_unchanged():
    content = os.urandom(2 * CHUNK + 5)
    blob = _seal(content)
    with pytest.raises(InvalidTag):
        _open(blob, where="ws/outputs/b.csv")
    header = len(sealed.MAGIC) + sealed.PREFIX
    first, second = blob[header:header + CHUNK + TAG], blob[header + CHUNK + TAG:header + 2 * (CHUNK + TAG)]
    for changed in (blob[:header] + second + first + blob[header + 2 * (CHUNK + TAG):],  # chunks swapped
                    blob[:header + 2 * (CHUNK + TAG)],  # the last chunk cut off: the second is not marked last
                    blob[:-1] + bytes([blob[-1] ^ 1])):  # one bit
        with pytest.raises(InvalidTag):
            _open(changed)


def test_sealing_refuses_past_its_limit():
    with pytest.raises(TooLarge):
        _seal(os.urandom(CHUNK + 10), limit=CHUNK)


def test_files_sealed_whole_by_earlier_versions_still_open():
    nonce = secrets.token_bytes(12)
    old = nonce + AESGCM(KEY).encrypt(nonce, b"old output", b"ws/outputs/a.csv")
    assert _open(old) == b"old output"


@pytest.mark.parametrize("text, expected", [("4GB", 4 * 10**9), ("64KB", 64_000), ("512mb", 512 * 10**6),
                                            ("1.5GB", 1_500_000_000), ("1000", 1000),
                                            ("2g", 2 * 2**30), ("512m", 512 * 2**20)])
def test_sizes_read_as_duckdb_writes_them(text, expected):
    assert bytes_of(text) == expected


@pytest.mark.parametrize("text", ["four GB", "-1MB", "0", "GB"])
def test_a_size_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError, match="not a size"):
        bytes_of(text)
