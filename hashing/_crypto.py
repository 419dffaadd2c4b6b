"""The dangerous back: every raw call into ``cryptography``'s primitives lives here.

Other modules build the safe front (keys, tokens, seals, signed artifacts) on these
helpers and never import ``cryptography.hazmat`` themselves, so the set of primitives,
their parameters and their error handling can be reviewed in one place.

Conventions: keys, nonces and outputs are ``bytes``; private keys travel as their raw
32-byte encodings; nothing here logs, and no exception raised here carries key material.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import numpy as np
import polars as pl
import polars_hash
import pyarrow as pa
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import constant_time, hashes
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

_native: ModuleType | None
try:  # compiled where a C compiler and OpenSSL's headers exist (setup.py); same bytes without
    import hashing._native as _native
except ImportError:  # pragma: no cover - exercised only on machines that cannot build it
    _native = None

KEY_LEN = 32
"""Length in bytes of every symmetric key, private key and public key used here."""

NONCE_LEN = 12
"""AES-GCM nonce length (96 bits, drawn at random for every message)."""

TAG_LEN = 16
"""AES-GCM authentication tag length."""

SIGNATURE_LEN = 64
"""Ed25519 signature length."""

AEAD_NAME = "AES-256-GCM"
"""The one AEAD of blindlink, named in containers so a later change is detectable."""


class AuthenticationFailed(Exception):
    """An AEAD open, a signature or a MAC did not verify (internal; callers translate it)."""


class BadKey(Exception):
    """Bytes that should encode a key do not (internal; callers translate it)."""


def random_bytes(n: int) -> bytes:
    """Return ``n`` bytes from the operating system's CSPRNG."""
    return os.urandom(n)


def sha256(data: bytes) -> bytes:
    """SHA-256 digest of ``data`` (not keyed: for fingerprints and file digests only)."""
    return hashlib.sha256(data).digest()


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare two byte strings in time independent of where they differ."""
    return constant_time.bytes_eq(a, b)


# -- HMAC --------------------------------------------------------------------------------


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA256 of ``msg`` under ``key`` (32 bytes out)."""
    if not key:
        raise BadKey("HMAC key is empty")
    h = _hmac.HMAC(key, hashes.SHA256())
    h.update(msg)
    return h.finalize()


def hmac_sha256_many(key: bytes, msgs: Iterable[bytes]) -> list[bytes]:
    """HMAC-SHA256 of each message under one key, in order.

    The keyed state is set up once and copied per message, which is about 2.5 times
    faster than :func:`hmac_sha256` in a loop; use it for columns of values.
    """
    if not key:
        raise BadKey("HMAC key is empty")
    base = _hmac.HMAC(key, hashes.SHA256())
    out: list[bytes] = []
    append = out.append
    copy = base.copy
    for msg in msgs:
        h = copy()
        h.update(msg)
        append(h.finalize())
    return out


def hmac_sha256_hexkey(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA256 keyed with the lowercase hex of ``key``: the scalar twin of
    :func:`hmac_sha256_expr`, for tests and known-answer vectors."""
    if not key:
        raise BadKey("HMAC key is empty")
    return hmac_sha256(key.hex().encode("ascii"), msg)


def hmac_sha256_expr(expr: pl.Expr, key: bytes) -> pl.Expr:
    """Vectorized HMAC-SHA256 of a String or Binary column: 32 raw bytes a row, nulls stay null.

    Runs in Rust through the polars-hash plugin, which takes its key as text; so the
    HMAC key is the lowercase hex of ``key`` as ASCII (64 bytes: exactly one SHA-256
    block, all 256 bits of entropy kept). :func:`hmac_sha256_hexkey` computes the same
    value for one message. The key travels in the plugin's arguments, which polars does
    not print in ``explain()`` or an expression's ``repr``.
    """
    if len(key) != KEY_LEN:
        raise BadKey("HMAC key must be 32 bytes")
    hexed = polars_hash.CryptographicHashingNameSpace(expr).hmac_sha256(key=key.hex())
    return hexed.str.decode("hex")


def native_available() -> bool:
    """True when the compiled batch loops (``hashing._native``) are importable."""
    return _native is not None


def dense_codes(hashes: pl.Series) -> tuple[pl.Series, pl.Series] | None:
    """For a UInt64 column of value hashes: (code of each row, first row of each code),
    codes numbered in order of first appearance; None without the compiled loops.

    One pass over a hash table with the interpreter lock released — several times faster
    than finding first occurrences and joining back in polars. Equal hashes get one
    code: the caller guards against collisions with a second hash.
    """
    if _native is None:
        return None
    values = hashes.cast(pl.UInt64).rechunk().to_numpy()
    codes, firsts = _native.dense_codes(np.ascontiguousarray(values))
    return (
        pl.Series("code", np.frombuffer(codes, dtype=np.uint32)),
        pl.Series("first", np.frombuffer(firsts, dtype=np.uint32)),
    )


def hmac_sha256_series(messages: pl.Series, key: bytes) -> pl.Series:
    """:func:`hmac_sha256_expr` for a materialized String or Binary column: Binary(32) a row.

    Nulls stay null. With the compiled loops the keyed states are set up once and each
    message costs two SHA-256 compressions, with the interpreter lock released (so
    several columns can be hashed at once from threads); without them the polars-hash
    expression computes the same bytes.
    """
    if len(key) != KEY_LEN:
        raise BadKey("HMAC key must be 32 bytes")
    name = messages.name
    if _native is None:
        frame = messages.to_frame("m")
        return frame.select(hmac_sha256_expr(pl.col("m"), key)).to_series().alias(name)
    present = messages.drop_nulls()
    arr = present.cast(pl.Binary).to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_binary():
        arr = arr.cast(pa.large_binary())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = arr.buffers()[2] if n else pa.py_buffer(b"")
    digests = _native.hmac_sha256_many(key.hex().encode("ascii"), offsets, data)
    tokens = binary_from_fixed(name, digests, 32)
    if present.len() == messages.len():
        return tokens
    # Put the nulls back where they were.
    mask = messages.is_not_null()
    index = np.maximum(np.cumsum(mask.to_numpy(), dtype=np.int64) - 1, 0)
    spread = tokens.gather(index) if n else pl.Series(name, [None] * len(mask), pl.Binary)
    return pl.select(pl.when(mask).then(spread)).to_series().alias(name)


def hmac_sha256_columns(jobs: Sequence[tuple[pl.Series, bytes]]) -> list[pl.Series]:
    """:func:`hmac_sha256_series` of several (column, key) pairs, on all cores at once.

    The compiled loop releases the interpreter lock, so a thread per core hashes its share
    of the columns (each column split in slices so the cores stay evenly loaded).
    """
    if _native is None:
        done = pl.collect_all(
            [s.to_frame("m").lazy().select(hmac_sha256_expr(pl.col("m"), k)) for s, k in jobs]
        )
        return [d.to_series().alias(s.name) for d, (s, _) in zip(done, jobs, strict=True)]
    workers = _workers()
    tasks = [
        (i, series.slice(start, stop - start), key)
        for i, (series, key) in enumerate(jobs)
        for start, stop in _row_ranges(series.len(), workers) or [(0, 0)]
    ]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pieces = list(pool.map(lambda t: hmac_sha256_series(t[1], t[2]), tasks))
    out: list[list[pl.Series]] = [[] for _ in jobs]
    for (i, _, _), piece in zip(tasks, pieces, strict=True):
        out[i].append(piece)
    return [pl.concat(p, rechunk=False).alias(s.name) for p, (s, _) in zip(out, jobs, strict=True)]


JoinedTokens = tuple[pl.Series, np.ndarray, np.ndarray]


def _workers() -> int:
    """Threads for the compiled loops: one per core (at most 8)."""
    return max(1, min(os.cpu_count() or 1, 8))


def _row_ranges(n: int, parts: int) -> list[tuple[int, int]]:
    """``n`` rows cut in at most ``parts`` ranges of nearly equal length (none if empty)."""
    step = max(1, -(-n // parts))
    return [(start, min(n, start + step)) for start in range(0, n, step)]


def hmac_sha256_joined(
    jobs: Sequence[tuple[Sequence[pl.Series], Sequence[bool], bytes]], separator: bytes
) -> list[JoinedTokens]:
    """HMAC-SHA256 of each row's components joined by ``separator``, for several jobs.

    A job is (component columns of equal length, which are required, key). A null
    optional component counts as empty text; a row with a null required component gets
    no token. Returns per job the tokens of the rows that have one (Binary(32), in row
    order), the boolean mask of those rows, and a 64-bit hash of each token (for
    counting equal tokens without hashing them again). Same bytes as hashing the joined
    message with :func:`hmac_sha256_series`; with the compiled loops the components are
    read in place and the jobs run on all cores, without it the messages are joined first.
    """
    with JoinedHasher(separator) as hasher:
        pending = [hasher.submit(columns, required, key) for columns, required, key in jobs]
        return [result() for result in pending]


class JoinedHasher:
    """:func:`hmac_sha256_joined` one job at a time: ``submit`` starts hashing a job on
    the worker threads at once and returns a function that waits for its result, so the
    caller can prepare the next job's columns meanwhile (the hashing needs no
    interpreter lock). Use as a context manager."""

    def __init__(self, separator: bytes) -> None:
        self.separator = separator
        self.workers = _workers()
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> JoinedHasher:
        if _native is not None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def submit(
        self, columns: Sequence[pl.Series], required: Sequence[bool], key: bytes
    ) -> Callable[[], JoinedTokens]:
        if len(key) != KEY_LEN:
            raise BadKey("HMAC key must be 32 bytes")
        native, pool = _native, self._pool
        if native is None or pool is None:
            done = _joined_by_messages(columns, required, key, self.separator)
            return lambda: done
        hexkey = key.hex().encode("ascii")
        views = [
            (v[0], req, *v[1:]) for v, req in zip(map(_string_view, columns), required, strict=True)
        ]
        n = columns[0].len() if columns else 0
        futures = [
            pool.submit(native.hmac_sha256_joined, hexkey, views, self.separator, start, stop)
            for start, stop in _row_ranges(n, self.workers)
        ]

        def collect() -> JoinedTokens:
            pieces = [f.result() for f in futures]
            # Each piece becomes a chunk of its own (no copy of the digests into one buffer).
            chunks = [binary_from_fixed("token", d, 32) for d, _ in pieces]
            tokens = (
                pl.concat(chunks, rechunk=False) if chunks else pl.Series("token", [], pl.Binary)
            )
            mask = np.frombuffer(b"".join(f for _, f in pieces), dtype=np.uint8).astype(bool)
            prefix = np.concatenate(
                [np.frombuffer(d, dtype=np.uint64)[::4] for d, _ in pieces]
                or [np.zeros(0, dtype=np.uint64)]
            )
            return tokens, mask, prefix

        return collect


def joined_message(
    columns: Sequence[pl.Series], required: Sequence[bool], separator: str
) -> pl.Series:
    """The message a joined-HMAC job hashes: the components joined by ``separator``, an
    optional null as empty text, null where a required component is null."""
    frame = pl.DataFrame([c.alias(f"c{i}") for i, c in enumerate(columns)])
    parts = [
        pl.col(f"c{i}") if req else pl.col(f"c{i}").fill_null("") for i, req in enumerate(required)
    ]
    return frame.select(
        pl.concat_str(parts, separator=separator, ignore_nulls=False).alias("message")
    ).to_series()


def _joined_by_messages(
    columns: Sequence[pl.Series], required: Sequence[bool], key: bytes, separator: bytes
) -> JoinedTokens:
    """The fallback of :class:`JoinedHasher`: join the messages, then hash them."""
    message = joined_message(columns, required, separator.decode())
    mask = message.is_not_null().to_numpy()
    tokens = hmac_sha256_series(message.filter(mask), key).alias("token")
    return tokens, mask, tokens.hash().to_numpy()


def _string_view(series: pl.Series) -> tuple[int, Any, Any, tuple[Any, ...]]:
    """(offset, validity, views, data buffers) of a text column in Arrow's view layout."""
    arr = series.cast(pl.String).rechunk().to_arrow(compat_level=pl.CompatLevel.newest())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.string_view():
        arr = arr.cast(pa.string_view())
    buffers = arr.buffers()
    views = buffers[1] if buffers[1] is not None else pa.py_buffer(b"")
    data = tuple(b if b is not None else pa.py_buffer(b"") for b in buffers[2:])
    return arr.offset, buffers[0], views, data


def binary_from_fixed(name: str, buffer: bytes | bytearray, width: int) -> pl.Series:
    """A Binary column from ``width``-byte records laid end to end (no copy per row)."""
    n = len(buffer) // width
    arr = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(buffer)])
    return pl.Series(name, arr, dtype=pl.Binary)


def hmac_sha256_verify(key: bytes, msg: bytes, tag: bytes) -> bool:
    """True when ``tag`` is the HMAC-SHA256 of ``msg`` under ``key`` (constant time)."""
    h = _hmac.HMAC(key, hashes.SHA256())
    h.update(msg)
    try:
        h.verify(tag)
    except InvalidSignature:
        return False
    return True


# -- HKDF and scrypt ---------------------------------------------------------------------


def hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes, length: int = KEY_LEN) -> bytes:
    """HKDF-SHA256 (RFC 5869) extract-then-expand."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def scrypt_derive(passphrase: bytes, salt: bytes, *, n: int, r: int, p: int) -> bytes:
    """A 32-byte key from a passphrase with scrypt (RFC 7914)."""
    return Scrypt(salt=salt, length=KEY_LEN, n=n, r=r, p=p).derive(passphrase)


# -- X25519 and Ed25519 ------------------------------------------------------------------


def x25519_generate() -> bytes:
    """A fresh X25519 private key, raw 32 bytes."""
    return X25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )


def x25519_public(private: bytes) -> bytes:
    """The raw public key of a raw X25519 private key."""
    try:
        key = X25519PrivateKey.from_private_bytes(private)
    except ValueError as e:
        raise BadKey("not an X25519 private key") from e
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def x25519_shared(private: bytes, peer_public: bytes) -> bytes:
    """The X25519 shared secret of our private key and a peer's public key.

    ``cryptography`` refuses low-order peer points (an all-zero result), which we pass
    on as :class:`BadKey`.
    """
    try:
        key = X25519PrivateKey.from_private_bytes(private)
        peer = X25519PublicKey.from_public_bytes(peer_public)
        return key.exchange(peer)
    except ValueError as e:
        raise BadKey("X25519 agreement failed (invalid or low-order key)") from e


def ed25519_generate() -> bytes:
    """A fresh Ed25519 private key (its 32-byte seed)."""
    return Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )


def ed25519_public(private: bytes) -> bytes:
    """The raw public key of a raw Ed25519 private key."""
    try:
        key = Ed25519PrivateKey.from_private_bytes(private)
    except ValueError as e:
        raise BadKey("not an Ed25519 private key") from e
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def ed25519_sign(private: bytes, msg: bytes) -> bytes:
    """Ed25519 signature (64 bytes) of ``msg``."""
    return Ed25519PrivateKey.from_private_bytes(private).sign(msg)


def ed25519_verify(public: bytes, signature: bytes, msg: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``msg`` by ``public``."""
    try:
        key = Ed25519PublicKey.from_public_bytes(public)
    except ValueError:
        return False
    try:
        key.verify(signature, msg)
    except InvalidSignature:
        return False
    return True


# -- AEAD (AES-256-GCM, random 96-bit nonces) --------------------------------------------


def aead_encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt one message: returns ``nonce || ciphertext || tag``."""
    nonce = os.urandom(NONCE_LEN)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def aead_decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Open one ``nonce || ciphertext || tag`` blob, or raise :class:`AuthenticationFailed`."""
    if len(blob) < NONCE_LEN + TAG_LEN:
        raise AuthenticationFailed("sealed blob is too short")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_LEN], blob[NONCE_LEN:], aad)
    except InvalidTag as e:
        raise AuthenticationFailed("authentication failed") from e


def aead_seal_many(
    key: bytes, plaintexts: bytes | bytearray | memoryview, pt_len: int, aad: bytes
) -> bytes | bytearray:
    """Encrypt ``n`` plaintexts of ``pt_len`` bytes laid end to end, under one key and AAD.

    Returns one buffer of ``n`` records, each ``nonce || ciphertext || tag`` of
    ``NONCE_LEN + pt_len + TAG_LEN`` bytes. Nonces come from one ``os.urandom`` call;
    the AEAD object is built once and each record is encrypted in place, so the loop
    allocates nothing per row beyond the slice views it must pass.
    """
    src = _byte_view(plaintexts)
    if pt_len <= 0 or src.nbytes % pt_len:
        raise ValueError("plaintext buffer is not a whole number of records")
    n = src.nbytes // pt_len
    rec = NONCE_LEN + pt_len + TAG_LEN
    nonces = os.urandom(NONCE_LEN * n)
    if _native is not None and n:
        # The same AES-256-GCM (OpenSSL's), looped in C without the interpreter lock.
        return _native.aes256gcm_seal_many(key, src, pt_len, aad, nonces)
    out = bytearray(rec * n)
    # Lay the nonces into their slots with one strided copy (no Python loop).
    out_view = memoryview(out)
    _strided_copy(out_view, nonces, rec, NONCE_LEN, n)
    encrypt_into = AESGCM(key).encrypt_into
    for o, p in zip(range(0, rec * n, rec), range(0, pt_len * n, pt_len), strict=True):
        encrypt_into(
            out_view[o : o + NONCE_LEN], src[p : p + pt_len], aad, out_view[o + NONCE_LEN : o + rec]
        )
    return out


def aead_open_many(
    key: bytes, blobs: bytes | bytearray | memoryview, pt_len: int, aad: bytes
) -> tuple[bytes | bytearray, list[int]]:
    """Open ``n`` records laid end to end (the layout :func:`aead_seal_many` writes).

    Returns the plaintexts end to end (a failed record's slot is left zeroed) and the
    indices of the records that failed authentication.
    """
    rec = NONCE_LEN + pt_len + TAG_LEN
    src = _byte_view(blobs)
    if src.nbytes % rec:
        raise ValueError("sealed buffer is not a whole number of records")
    n = src.nbytes // rec
    if _native is not None and n:
        # The same AES-256-GCM (OpenSSL's), looped in C without the interpreter lock;
        # a failed record's slot comes back zeroed there too.
        opened, flags = _native.aes256gcm_open_many(key, src, pt_len, aad)
        failed_rows = np.flatnonzero(np.frombuffer(flags, dtype=np.uint8)).tolist()
        return opened, failed_rows
    out = bytearray(pt_len * n)
    out_view = memoryview(out)
    decrypt_into = AESGCM(key).decrypt_into
    failed: list[int] = []
    start = 0
    while start < n:
        o = start * rec
        try:
            for o, p in zip(
                range(start * rec, n * rec, rec),
                range(start * pt_len, n * pt_len, pt_len),
                strict=True,
            ):
                decrypt_into(
                    src[o : o + NONCE_LEN],
                    src[o + NONCE_LEN : o + rec],
                    aad,
                    out_view[p : p + pt_len],
                )
        except InvalidTag:
            i = o // rec
            failed.append(i)
            out_view[i * pt_len : (i + 1) * pt_len] = bytes(pt_len)
            start = i + 1
        else:
            break
    return out, failed


def _byte_view(data: bytes | bytearray | memoryview) -> memoryview:
    """A flat unsigned-byte view of any contiguous buffer (``cryptography`` wants format B)."""
    view = memoryview(data)
    if view.nbytes == 0:
        return memoryview(b"")
    if view.ndim != 1 or view.format != "B":
        view = view.cast("B")
    return view


def _strided_copy(dest: memoryview, src: bytes, stride: int, width: int, n: int) -> None:
    """Copy ``n`` chunks of ``width`` bytes from ``src`` to the start of each ``stride``."""
    if n:
        d = np.frombuffer(dest, dtype=np.uint8).reshape(n, stride)
        d[:, :width] = np.frombuffer(src, dtype=np.uint8).reshape(n, width)


def sequence_fields(values: Sequence[bytes]) -> bytes:
    """Length-prefix each field (4-byte big-endian) so a concatenation is unambiguous."""
    return b"".join(len(v).to_bytes(4, "big") + v for v in values)


def canonical_json(obj: object) -> bytes:
    """The one byte encoding of a JSON value that gets signed or authenticated.

    Keys sorted, no insignificant whitespace, UTF-8, and no NaN or infinities, so the
    signer and every verifier hash exactly the same bytes.
    """
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
