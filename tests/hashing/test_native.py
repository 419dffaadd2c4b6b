"""The compiled batch loops give exactly the bytes of the reference implementations.

``hashing._native`` runs OpenSSL's SHA-256 and AES-GCM over whole columns; here every
output is compared with the standard library's ``hmac`` and with ``cryptography``, and the
slower fallback paths (used where the extension cannot be built) with the fast ones.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import numpy as np
import polars as pl
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from hashing import _crypto

native = pytest.mark.skipif(
    not _crypto.native_available(),
    reason="hashing._native was not built here (needs a C compiler and OpenSSL's headers)",
)


def _reference(key: bytes, messages: list[bytes | None]) -> list[bytes | None]:
    hexkey = key.hex().encode("ascii")
    return [None if m is None else hmac.new(hexkey, m, hashlib.sha256).digest() for m in messages]


def _offsets(messages: list[bytes]) -> tuple[np.ndarray, bytes]:
    lengths = [0, *map(len, messages)]
    return np.cumsum(lengths, dtype=np.int64), b"".join(messages)


@native
@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=200),
    messages=st.lists(st.binary(max_size=300), max_size=40),
)
def test_native_hmac_equals_the_standard_library(key: bytes, messages: list[bytes]) -> None:
    from hashing import _native

    offsets, data = _offsets(messages)
    out = _native.hmac_sha256_many(key, offsets, data)
    want = b"".join(hmac.new(key, m, hashlib.sha256).digest() for m in messages)
    assert out == want  # keys longer than a block are hashed first, as RFC 2104 says


@native
def test_native_hmac_refuses_offsets_outside_the_data() -> None:
    from hashing import _native

    with pytest.raises(ValueError, match="outside"):
        _native.hmac_sha256_many(b"k", np.array([0, 5], dtype=np.int64), b"abc")
    with pytest.raises(ValueError, match="decrease"):
        _native.hmac_sha256_many(b"k", np.array([0, 2, 1], dtype=np.int64), b"abc")
    with pytest.raises(ValueError, match="empty"):
        _native.hmac_sha256_many(b"", np.array([0, 1], dtype=np.int64), b"a")
    with pytest.raises(ValueError, match="n \\+ 1"):
        _native.hmac_sha256_many(b"k", b"\x00" * 7, b"a")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=60)), max_size=50))
def test_series_hmac_keeps_nulls_in_place_and_matches_hmac(values: list[str | None]) -> None:
    key = os.urandom(32)
    series = pl.Series("m", values, dtype=pl.String)
    got = _crypto.hmac_sha256_series(series, key)
    assert got.dtype == pl.Binary and got.len() == len(values)
    assert got.to_list() == _reference(key, [None if v is None else v.encode() for v in values])


def test_series_hmac_of_a_slice_uses_the_slice_only() -> None:
    key = os.urandom(32)
    series = pl.Series("m", ["a", "bb", "ccc", "dddd"]).slice(1, 2)
    assert _crypto.hmac_sha256_series(series, key).to_list() == _reference(key, [b"bb", b"ccc"])


def test_columns_on_all_cores_equal_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    jobs = [
        (pl.Series("a", rng.integers(0, 10**9, 5001)).cast(pl.String), os.urandom(32)),
        (pl.Series("b", ["x", None, "y"], dtype=pl.String), os.urandom(32)),
        (pl.Series("c", [], dtype=pl.String), os.urandom(32)),
    ]
    fast = _crypto.hmac_sha256_columns(jobs)
    monkeypatch.setattr(_crypto, "_native", None)
    slow = _crypto.hmac_sha256_columns(jobs)
    assert [s.name for s in fast] == ["a", "b", "c"]
    for f, s in zip(fast, slow, strict=True):
        assert f.to_list() == s.to_list()


@pytest.fixture(params=["compiled loop", "fallback"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test using it runs once with the compiled loops and once without them."""
    if request.param == "compiled loop" and not _crypto.native_available():
        pytest.skip("hashing._native was not built here")
    if request.param == "fallback":
        monkeypatch.setattr(_crypto, "_native", None)
    return str(request.param)


def test_seal_many_opens_with_cryptography(engine: str) -> None:
    key, aad = os.urandom(32), b"engagement|segments|v1"
    plaintexts = os.urandom(24 * 300)
    blobs = bytes(_crypto.aead_seal_many(key, plaintexts, 24, aad))
    rec = _crypto.NONCE_LEN + 24 + _crypto.TAG_LEN
    assert len(blobs) == rec * 300
    nonces = {blobs[i * rec : i * rec + 12] for i in range(300)}
    assert len(nonces) == 300  # a fresh nonce for every record
    for i in (0, 1, 150, 299):
        blob = blobs[i * rec : (i + 1) * rec]
        assert AESGCM(key).decrypt(blob[:12], blob[12:], aad) == plaintexts[i * 24 : (i + 1) * 24]
    opened, failed = _crypto.aead_open_many(key, blobs, 24, aad)
    assert bytes(opened) == plaintexts and failed == []


@native
def test_native_seal_checks_its_arguments() -> None:
    from hashing import _native

    with pytest.raises(ValueError, match="32-byte"):
        _native.aes256gcm_seal_many(b"short", b"x" * 8, 8, b"", b"n" * 12)
    with pytest.raises(ValueError, match="nonce"):
        _native.aes256gcm_seal_many(os.urandom(32), b"x" * 16, 8, b"", b"n" * 12)
    with pytest.raises(ValueError, match="whole number"):
        _native.aes256gcm_seal_many(os.urandom(32), b"x" * 9, 8, b"", b"n" * 12)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.text(max_size=20)),
            st.one_of(st.none(), st.text(max_size=30)),
            st.one_of(st.none(), st.text(max_size=5)),
        ),
        max_size=40,
    ),
    required=st.tuples(st.booleans(), st.booleans(), st.booleans()),
)
def test_joined_components_hash_like_the_joined_message(
    rows: list[tuple[str | None, ...]], required: tuple[bool, ...]
) -> None:
    key = os.urandom(32)
    columns = [pl.Series(f"c{i}", [r[i] for r in rows], dtype=pl.String) for i in range(3)]
    want_rows = [
        r for r in rows if all(v is not None or not req for v, req in zip(r, required, strict=True))
    ]
    messages = [b"\x1f".join((v or "").encode() for v in r) for r in want_rows]
    want = _reference(key, list(messages))
    results = [_crypto.hmac_sha256_joined([(columns, list(required), key)], b"\x1f")[0]]
    if _crypto.native_available():
        saved = _crypto._native
        try:
            _crypto._native = None
            results.append(_crypto.hmac_sha256_joined([(columns, list(required), key)], b"\x1f")[0])
        finally:
            _crypto._native = saved
    for tokens, mask, hashes in results:
        assert len(hashes) == tokens.len()
        assert tokens.to_list() == want
        assert int(mask.sum()) == len(want_rows)


def test_joined_components_longer_than_the_local_buffer() -> None:
    key = os.urandom(32)
    sizes = [(0, 300, 5), (250, 5, 1), (255, 0, 0), (256, 1, 400), (10, 246, 0)]
    columns = [pl.Series(f"c{i}", ["x" * s[i] for s in sizes], dtype=pl.String) for i in range(3)]
    tokens, mask, _ = _crypto.hmac_sha256_joined([(columns, [True, True, True], key)], b"\x1f")[0]
    messages = [b"\x1f".join(b"x" * n for n in s) for s in sizes]
    assert mask.all()
    assert tokens.to_list() == _reference(key, list(messages))


@native
def test_every_message_length_around_the_block_boundaries() -> None:
    """Each length from 0 to 130 bytes (one, two and three SHA-256 blocks)."""
    from hashing import _native

    key = os.urandom(32)
    messages = [os.urandom(n) for n in range(131)]
    offsets, data = _offsets(messages)
    out = _native.hmac_sha256_many(key, offsets, data)
    assert out == b"".join(hmac.new(key, m, hashlib.sha256).digest() for m in messages)
    # The same lengths through the joined path: two components and a separator.
    first = pl.Series("a", [m[: len(m) // 2].hex() for m in messages], dtype=pl.String)
    second = pl.Series("b", [m[len(m) // 2 :].hex()[:40] for m in messages], dtype=pl.String)
    tokens, mask, _ = _crypto.hmac_sha256_joined([([first, second], [True, True], key)], b"\x1f")[0]
    joined = [f"{a}\x1f{b}".encode() for a, b in zip(first, second, strict=True)]
    assert mask.all() and tokens.to_list() == _reference(key, joined)


@native
def test_native_joined_refuses_a_long_separator_and_a_short_key() -> None:
    from hashing import _native

    column = pl.Series("c", ["a", "b"], dtype=pl.String)
    offset, validity, views, data = _crypto._string_view(column)
    columns = [(offset, True, validity, views, data)]
    with pytest.raises(ValueError, match="separator"):
        _native.hmac_sha256_joined(b"k", columns, b"x" * 4096, 0, 2)
    with pytest.raises(ValueError, match="shorter"):
        _native.hmac_sha256_joined(b"k", columns, b"\x1f", 0, 3)
    with pytest.raises(_crypto.BadKey):
        _crypto.hmac_sha256_joined([([column], [True], b"short")], b"\x1f")


def _codes_by_dict(hashes: list[int]) -> tuple[list[int], list[int]]:
    seen: dict[int, int] = {}
    codes, firsts = [], []
    for row, h in enumerate(hashes):
        if h not in seen:
            seen[h] = len(firsts)
            firsts.append(row)
        codes.append(seen[h])
    return codes, firsts


@native
@settings(max_examples=60, deadline=None)
@given(
    hashes=st.lists(
        st.one_of(
            st.sampled_from([0, 1, 2**63, 2**64 - 1, 4096, 8192]),  # same low bits: probing
            st.integers(min_value=0, max_value=2**64 - 1),
        ),
        max_size=300,
    )
)
def test_dense_codes_number_values_by_first_appearance(hashes: list[int]) -> None:
    from hashing import _native

    codes, firsts = _native.dense_codes(np.array(hashes, dtype=np.uint64))
    want_codes, want_firsts = _codes_by_dict(hashes)
    assert np.frombuffer(codes, dtype=np.uint32).tolist() == want_codes
    assert np.frombuffer(firsts, dtype=np.uint32).tolist() == want_firsts


@native
def test_dense_codes_grow_past_the_first_table() -> None:
    from hashing import _native

    rng = np.random.default_rng(7)
    distinct = rng.integers(0, 2**63, size=50_000, dtype=np.uint64) * np.uint64(2)
    hashes = distinct[rng.integers(0, distinct.size, size=200_000)]
    codes, firsts = _native.dense_codes(hashes)
    want_codes, want_firsts = _codes_by_dict(hashes.tolist())
    assert np.frombuffer(codes, dtype=np.uint32).tolist() == want_codes
    assert np.frombuffer(firsts, dtype=np.uint32).tolist() == want_firsts
    with pytest.raises(ValueError, match="uint64"):
        _native.dense_codes(b"123")


def test_open_many_refuses_tampered_records_and_zeroes_them(engine: str) -> None:
    key, aad = os.urandom(32), b"engagement|boxes|v1"
    rec = _crypto.NONCE_LEN + 24 + _crypto.TAG_LEN
    plaintexts = os.urandom(24 * 50)
    # Sealed by cryptography record by record: the loops must open what it seals.
    blobs = bytearray()
    for i in range(50):
        nonce = os.urandom(12)
        blobs += nonce + AESGCM(key).encrypt(nonce, plaintexts[i * 24 : (i + 1) * 24], aad)
    blobs[3 * rec + 20] ^= 0x01  # ciphertext of record 3
    blobs[17 * rec + 2] ^= 0x80  # nonce of record 17
    blobs[49 * rec - 1] ^= 0x01  # tag of record 48
    opened, failed = _crypto.aead_open_many(key, bytes(blobs), 24, aad)
    assert failed == [3, 17, 48]
    for i in range(50):
        slot = bytes(opened[i * 24 : (i + 1) * 24])
        assert slot == (bytes(24) if i in failed else plaintexts[i * 24 : (i + 1) * 24])
    _, all_failed = _crypto.aead_open_many(key, bytes(blobs), 24, b"another column")
    assert all_failed == list(range(50))  # the associated data is bound to every record
    with pytest.raises(ValueError, match="whole number"):
        _crypto.aead_open_many(key, bytes(blobs[:-1]), 24, aad)
