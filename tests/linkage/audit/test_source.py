"""The ``--source`` search for values that left in the clear or under an unkeyed hash."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import polars as pl
import pytest

from hashing.errors import InputError
from linkage.audit import source

PHONES = [f"(614) 555-{i:04d}" for i in range(100)]
SOURCE = pl.DataFrame(
    {
        "PHONE": PHONES,
        "NAME": [f"  Name{i} " for i in range(100)],
        "DOB": [f"{i % 12 + 1:02d}/{i % 28 + 1:02d}/{1940 + i % 50}" for i in range(100)],
        "SEGMENT": ["persuadable", "gotv"] * 50,
    }
)


def test_low_cardinality_columns_are_not_searched() -> None:
    assert source.searchable_columns(SOURCE) == ["PHONE", "NAME", "DOB"]
    small = pl.DataFrame({"id": ["a1", "b2", "c3"], "flag": ["1", "1", "1"]})
    assert source.searchable_columns(small) == ["id"]


def test_needles_cover_the_simple_normal_forms() -> None:
    needles = source.needles(SOURCE, "PHONE")
    forms = set(needles.filter(pl.col("algo") == "value")["form"])
    assert {"raw", "digits", "e164"} <= forms
    digits = hashlib.sha256(b"6145550007").digest()
    e164 = hashlib.md5(b"+16145550007").digest()
    assert digits in needles["needle"].to_list() and e164 in needles["needle"].to_list()
    names = source.needles(SOURCE, "NAME")
    assert hashlib.sha1(b"name7").digest() in names["needle"].to_list()
    dobs = source.needles(SOURCE, "DOB")
    assert b"1941-02-02" in dobs["needle"].to_list()


def _search(frame: pl.DataFrame, vocabulary: tuple[str, ...] = ()) -> dict[tuple[str, str], int]:
    columns = {c: c for c in frame.columns}
    probe = source.probes(frame, columns, artifact="a.parquet", vocabulary=vocabulary)
    hits = source.search({"voters.csv": SOURCE}, probe)
    assert {h.artifact for h in hits} <= {"a.parquet"}
    return {(h.column, h.algo): h.rows for h in hits}


def test_hashes_are_found_raw_hex_and_base64() -> None:
    md5 = [hashlib.md5(f"+1614555{i:04d}".encode()).digest() for i in range(10)]
    sha1_hex = [hashlib.sha1(f"name{i}".encode()).hexdigest().upper() for i in range(5)]
    sha256_b64 = [
        base64.b64encode(hashlib.sha256(b"1941-02-02").digest()).decode() for _ in range(3)
    ]
    frame = pl.DataFrame(
        {
            "a": md5,
            "b": sha1_hex + ["x"] * 5,
            "c": sha256_b64 + ["y"] * 7,
        }
    )
    assert _search(frame) == {("a", "md5"): 10, ("b", "sha1"): 5, ("c", "sha256"): 3}


def test_values_in_the_clear_and_in_bytes() -> None:
    frame = pl.DataFrame(
        {
            "s": ["NAME3", "other", "Name4"],
            "b": [b"6145550001", b"\x00\x01", b"zz"],
            "i": [6145550002, 7, 8],
        }
    )
    assert _search(frame) == {("s", "value"): 2, ("b", "value"): 1, ("i", "value"): 1}


def test_notes_name_columns_and_forms_never_values() -> None:
    frame = pl.DataFrame({"h": [hashlib.sha256(b"name9").digest()]})
    probe = source.probes(frame, {"h": "h"}, artifact="a.parquet")
    (hit,) = source.search({"voters.csv": SOURCE}, probe)
    assert "voters.csv:NAME" in hit.note and "lower" in hit.note and "name9" not in hit.note


def test_segment_labels_do_not_count_as_leaks() -> None:
    frame = pl.DataFrame({"segment": ["persuadable", "gotv", "all"]})
    assert _search(frame) == {}


def test_declared_words_are_not_looked_up_in_the_clear() -> None:
    # a declared segment label that is also a surname in the voter file
    frame = pl.DataFrame({"segment": ["name5", "name6", "all"]})
    assert _search(frame) == {("segment", "value"): 2}
    assert _search(frame, vocabulary=("name5", "name6")) == {}


def test_load_source(tmp_path: Path) -> None:
    path = tmp_path / "voters.csv"
    SOURCE.write_csv(path)
    assert source.load_source(path).equals(SOURCE)
    pq = tmp_path / "voters.parquet"
    SOURCE.with_columns(pl.int_range(100).alias("n")).write_parquet(pq)
    assert source.load_source(pq).schema["n"] == pl.String
    with pytest.raises(InputError):
        source.load_source(tmp_path / "missing.csv")
