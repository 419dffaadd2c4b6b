"""Signed artifacts: every file that crosses a boundary is Parquet plus a signed manifest.

``NAME.parquet`` holds the rows; ``NAME.manifest.json`` says what they are — engagement,
producer, recipients, kind, schema, row count, SHA-256 of the data file, producer key
fingerprint, tool version, creation time, a random artifact id, a per-producer
increasing sequence number and free-form ``extra`` scalars — and carries the producer's
Ed25519 signature over the canonical JSON of all of it.

A receiver calls :func:`verify_artifact` (or :func:`read_artifact`/:func:`scan_artifact`,
which verify first). Every check runs before any row is read and each refusal is a
:class:`~hashing.errors.VerificationError` naming the file and the check that failed.
A :class:`ReplayLedger` in the receiver's inbox remembers the highest sequence accepted
per (producer, kind), so an older artifact cannot be replayed over a newer one.

Writes are atomic: each file goes to a temporary name in the same directory, is fsynced
and renamed into place, data first and manifest last, so an interrupted write leaves
nothing that verifies.

Example::

    m = write_artifact(df, ws.outbox, "campaign.tokens", kind="tokens",
                       engagement_id="eng-2026-04", producer=me, recipients=["matcher"])
    df = read_artifact(inbox / "campaign.tokens", engagement_id="eng-2026-04",
                       recipient="matcher", kind="tokens", producer=campaign_bundle)
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import io
import json
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal, cast

import polars as pl

import hashing
from hashing import _crypto
from hashing.errors import InputError, VerificationError
from hashing.keys import ROLES, PartyIdentity, PublicBundle, fsync_dir

MANIFEST_FORMAT: Final = "blindlink-manifest"
MANIFEST_VERSION: Final = 1
SIGNATURE_DOMAIN: Final = b"blindlink/v1/manifest\x00"
DATA_SUFFIX: Final = ".parquet"
MANIFEST_SUFFIX: Final = ".manifest.json"
MAX_MANIFEST_BYTES: Final = 1 << 20
LEDGER_FORMAT: Final = "blindlink-replay-ledger"

JsonScalar = str | int | float | bool | None

_NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_KIND_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_HEX64_RE: Final = re.compile(r"[0-9a-f]{64}")
_HEX32_RE: Final = re.compile(r"[0-9a-f]{32}")


# -- the manifest ------------------------------------------------------------------------


@dataclass(frozen=True, eq=True)
class Manifest:
    """What a signed artifact declares about itself (see the module docstring)."""

    name: str
    data_file: str
    artifact_id: str
    engagement_id: str
    kind: str
    producer_role: str
    producer_fingerprint: str
    recipients: tuple[str, ...]
    schema: dict[str, str]
    row_count: int
    size_bytes: int
    sha256: str
    tool_version: str
    created_at: str
    sequence: int
    extra: dict[str, JsonScalar] = field(default_factory=dict)
    signature: str = ""

    def body(self) -> dict[str, Any]:
        """Every field but the signature, as the JSON object that gets signed."""
        return {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "name": self.name,
            "data_file": self.data_file,
            "artifact_id": self.artifact_id,
            "engagement_id": self.engagement_id,
            "kind": self.kind,
            "producer_role": self.producer_role,
            "producer_fingerprint": self.producer_fingerprint,
            "recipients": list(self.recipients),
            "schema": dict(self.schema),
            "row_count": self.row_count,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "tool_version": self.tool_version,
            "created_at": self.created_at,
            "sequence": self.sequence,
            "extra": dict(self.extra),
        }

    def signed_bytes(self) -> bytes:
        """The exact bytes the producer signs: a domain tag and the canonical body."""
        return SIGNATURE_DOMAIN + _crypto.canonical_json(self.body())

    def to_json(self) -> dict[str, Any]:
        return dict(self.body(), signature=self.signature)

    @classmethod
    def from_json(cls, obj: object, source: str) -> Manifest:
        """Parse a manifest object, refusing unknown, missing or mistyped fields.

        Messages name the field and what is wrong with it, never its value.
        """
        if not isinstance(obj, dict):
            raise _refuse(source, "manifest is malformed: not a JSON object")
        if obj.get("format") != MANIFEST_FORMAT:
            raise _refuse(source, "manifest is malformed: not a blindlink manifest")
        if obj.get("version") != MANIFEST_VERSION:
            raise _refuse(source, "manifest version is not supported (expected 1)")
        expected = {*cls.__dataclass_fields__, "format", "version"}
        unknown = sorted(set(obj) - expected)
        missing = sorted(expected - set(obj))
        if unknown or missing:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(missing))
            if unknown:
                parts.append("unknown " + ", ".join(unknown))
            raise _refuse(source, "manifest is malformed: " + "; ".join(parts))

        def want(name: str, check: bool, what: str) -> None:
            if not check:
                raise _refuse(source, f"manifest is malformed: field {name!r} must be {what}")

        def is_int(v: object) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        for name in (
            "name",
            "data_file",
            "engagement_id",
            "kind",
            "producer_role",
            "producer_fingerprint",
            "tool_version",
            "created_at",
            "signature",
        ):
            want(name, isinstance(obj[name], str) and obj[name] != "", "a non-empty string")
        want("artifact_id", isinstance(obj["artifact_id"], str), "a string")
        want("artifact_id", bool(_HEX32_RE.fullmatch(obj["artifact_id"])), "32 hex digits")
        want("sha256", isinstance(obj["sha256"], str), "a string")
        want("sha256", bool(_HEX64_RE.fullmatch(obj["sha256"])), "64 lowercase hex digits")
        for name in ("row_count", "size_bytes", "sequence"):
            want(name, is_int(obj[name]) and obj[name] >= 0, "a non-negative integer")
        recipients = obj["recipients"]
        want(
            "recipients",
            isinstance(recipients, list)
            and bool(recipients)
            and all(isinstance(r, str) and r in ROLES for r in recipients)
            and len(set(recipients)) == len(recipients),
            "a non-empty list of distinct roles",
        )
        want("producer_role", obj["producer_role"] in ROLES, "a known role")
        schema = obj["schema"]
        want(
            "schema",
            isinstance(schema, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in schema.items()),
            "an object of column name to dtype string",
        )
        extra = obj["extra"]
        want(
            "extra",
            isinstance(extra, dict) and all(_is_json_scalar(v) for v in extra.values()),
            "an object of JSON scalars",
        )
        try:
            dt.datetime.fromisoformat(obj["created_at"])
        except ValueError:
            want("created_at", False, "an ISO 8601 timestamp")
        return cls(
            name=obj["name"],
            data_file=obj["data_file"],
            artifact_id=obj["artifact_id"],
            engagement_id=obj["engagement_id"],
            kind=obj["kind"],
            producer_role=obj["producer_role"],
            producer_fingerprint=obj["producer_fingerprint"],
            recipients=tuple(recipients),
            schema=dict(schema),
            row_count=obj["row_count"],
            size_bytes=obj["size_bytes"],
            sha256=obj["sha256"],
            tool_version=obj["tool_version"],
            created_at=obj["created_at"],
            sequence=obj["sequence"],
            extra=dict(extra),
            signature=obj["signature"],
        )


def _is_json_scalar(v: object) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    return v is None or isinstance(v, str | int | bool)


def _refuse(source: str | Path, what: str) -> VerificationError:
    return VerificationError(f"{source}: {what}")


# -- paths -------------------------------------------------------------------------------


def artifact_paths(path: Path) -> tuple[Path, Path]:
    """The data and manifest paths of an artifact given either file or ``DIR/NAME``."""
    path = Path(path)
    name = path.name
    if name.endswith(MANIFEST_SUFFIX):
        base = name[: -len(MANIFEST_SUFFIX)]
    elif name.endswith(DATA_SUFFIX):
        base = name[: -len(DATA_SUFFIX)]
    else:
        base = name
    return path.with_name(base + DATA_SUFFIX), path.with_name(base + MANIFEST_SUFFIX)


def check_name(name: str) -> str:
    """An artifact name: letters, digits, ``.``, ``_``, ``-``; no path separators."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InputError(
            f"artifact name {name!r} is not allowed: use letters, digits, '.', '_' and '-'"
        )
    return name


# -- atomic writes -----------------------------------------------------------------------


def _temp_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.{secrets.token_hex(6)}.tmp")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and rename."""
    tmp = _temp_path(path)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


class _DigestingWriter(io.RawIOBase):
    """A write-only file that hashes what passes through it (no second read of the file)."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self._digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._digest.update(view)
        return self._f.write(view)

    def flush(self) -> None:
        self._f.flush()

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


_sequence_lock = threading.Lock()
_last_sequence = 0


def next_sequence() -> int:
    """A strictly increasing sequence number for this process, from the clock in ns."""
    global _last_sequence
    with _sequence_lock:
        _last_sequence = max(time.time_ns(), _last_sequence + 1)
        return _last_sequence


def _check_extra(extra: Mapping[str, object] | None) -> dict[str, JsonScalar]:
    if extra is None:
        return {}
    out: dict[str, JsonScalar] = {}
    for k, v in extra.items():
        if not isinstance(k, str) or not _is_json_scalar(v):
            raise InputError(
                f"manifest extra {k!r}: values must be JSON scalars (str, int, finite float, "
                "bool or null)"
            )
        out[k] = v  # type: ignore[assignment]
    return out


def _check_recipients(recipients: Iterable[str]) -> tuple[str, ...]:
    rs = tuple(recipients)
    if not rs:
        raise InputError("an artifact needs at least one recipient role")
    unknown = [r for r in rs if r not in ROLES]
    if unknown:
        raise InputError(
            f"unknown recipient role(s) {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(ROLES)}"
        )
    if len(set(rs)) != len(rs):
        raise InputError("recipient roles are repeated")
    return rs


def _parquet_rows(path: Path) -> int:
    """The row count in a Parquet file's footer (no rows read)."""
    # Imported here: pyarrow's Parquet module loads its filesystems (and ssl) — about
    # 30 ms of start-up that only a receiver needs, not a list owner's run.
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def file_schema(path: Path) -> dict[str, str]:
    """Column name → polars dtype string, from a Parquet file's metadata (no rows read)."""
    return {name: str(dtype) for name, dtype in pl.read_parquet_schema(path).items()}


ParquetCompression = Literal["lz4", "uncompressed", "zstd"]


def write_artifact(
    df: pl.DataFrame,
    out_dir: Path,
    name: str,
    *,
    kind: str,
    engagement_id: str,
    producer: PartyIdentity,
    recipients: Iterable[str],
    extra: Mapping[str, JsonScalar] | None = None,
    compression: ParquetCompression = "lz4",
    statistics: bool = True,
) -> Manifest:
    """Write ``df`` as ``out_dir/NAME.parquet`` plus a signed ``NAME.manifest.json``.

    Atomic (temporary files, fsync, rename; data first, manifest last). An existing
    artifact of the same name is replaced. Returns the manifest written. ``compression``:
    lz4 by default; ``"uncompressed"`` for frames of random bytes (tokens, references,
    sealed blobs), which no codec shrinks. ``statistics``: per-column minimum and maximum
    in the file (useless on random bytes, so such frames may skip them).
    """
    check_name(name)
    if not isinstance(kind, str) or not _KIND_RE.fullmatch(kind):
        raise InputError(f"artifact kind {kind!r} is not allowed: use a-z, 0-9, '.', '_', '-'")
    if not isinstance(engagement_id, str) or not engagement_id.strip():
        raise InputError("an artifact needs a non-empty engagement id")
    rs = _check_recipients(recipients)
    extras = _check_extra(extra)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data_path, manifest_path = artifact_paths(out_dir / name)

    tmp = _temp_path(data_path)
    try:
        with open(tmp, "xb") as f:
            sink = _DigestingWriter(f)
            df.write_parquet(cast(BinaryIO, sink), compression=compression, statistics=statistics)
            f.flush()
            os.fsync(f.fileno())
        digest = sink.hexdigest()
        size = tmp.stat().st_size
        schema = file_schema(tmp)
        os.replace(tmp, data_path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(out_dir)

    unsigned = Manifest(
        name=name,
        data_file=data_path.name,
        artifact_id=secrets.token_hex(16),
        engagement_id=engagement_id,
        kind=kind,
        producer_role=producer.role,
        producer_fingerprint=producer.fingerprint,
        recipients=rs,
        schema=schema,
        row_count=df.height,
        size_bytes=size,
        sha256=digest,
        tool_version=hashing.__version__,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        sequence=next_sequence(),
        extra=extras,
    )
    signature = producer.sign(unsigned.signed_bytes())
    manifest = dataclasses.replace(unsigned, signature=_b64(signature))
    text = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False, allow_nan=False)
    atomic_write_bytes(manifest_path, (text + "\n").encode("utf-8"))
    return manifest


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- reading and verifying ---------------------------------------------------------------


def _unverified_read_manifest(path: Path) -> Manifest:
    """Parse an artifact's manifest WITHOUT checking its signature or data file.

    For listing and routing only (e.g. which role an outbox file is addressed to);
    never a reason to trust the rows.
    """
    _, manifest_path = artifact_paths(path)
    try:
        size = manifest_path.stat().st_size
    except FileNotFoundError:
        raise _refuse(manifest_path, "manifest missing") from None
    except OSError as e:
        raise _refuse(manifest_path, f"cannot read manifest ({e.strerror})") from e
    if size > MAX_MANIFEST_BYTES:
        raise _refuse(manifest_path, "manifest is too large to be a manifest")
    try:
        obj = json.loads(manifest_path.read_bytes())
    except (ValueError, UnicodeDecodeError) as e:
        raise _refuse(manifest_path, "manifest is malformed: not valid JSON") from e
    return Manifest.from_json(obj, str(manifest_path))


def verify_artifact(
    path: Path,
    *,
    engagement_id: str,
    recipient: str,
    kind: str,
    producer: PublicBundle,
    ledger: ReplayLedger | None = None,
) -> Manifest:
    """Check an artifact end to end before any of its rows is read; return its manifest.

    In order: manifest present and well-formed; signed by ``producer``'s key and naming
    that producer; file name; engagement; ``recipient`` among the recipients; kind;
    not older than what ``ledger`` has accepted (when given); data file present, of the
    declared size and SHA-256; Parquet schema and row count as declared. Each refusal
    is a :class:`VerificationError` naming the file and the failed check.
    """
    data_path, manifest_path = artifact_paths(path)
    m = _unverified_read_manifest(path)
    mp = manifest_path

    try:
        signature = base64.b64decode(m.signature.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        signature = b""
    if len(signature) != _crypto.SIGNATURE_LEN or not producer.verify_signature(
        m.signed_bytes(), signature
    ):
        raise _refuse(
            mp,
            f"signature does not verify with the expected {producer.role} key "
            f"{producer.fingerprint} (altered manifest, or signed by another party)",
        )
    if m.producer_role != producer.role or m.producer_fingerprint != producer.fingerprint:
        raise _refuse(
            mp,
            f"manifest names producer {m.producer_role} {m.producer_fingerprint}, not the "
            f"expected {producer.role} {producer.fingerprint}",
        )
    if m.data_file != data_path.name or m.name != data_path.name[: -len(DATA_SUFFIX)]:
        raise _refuse(mp, f"manifest describes artifact {m.name!r}, not this file")
    if m.engagement_id != engagement_id:
        raise _refuse(
            mp, f"artifact belongs to engagement {m.engagement_id!r}, not {engagement_id!r}"
        )
    if recipient not in m.recipients:
        raise _refuse(
            mp,
            f"artifact is addressed to {', '.join(m.recipients)}, not to {recipient}",
        )
    if m.kind != kind:
        raise _refuse(mp, f"artifact kind is {m.kind!r}, not the expected {kind!r}")
    if ledger is not None:
        ledger.check(m, mp)

    try:
        size = data_path.stat().st_size
    except FileNotFoundError:
        raise _refuse(data_path, "data file missing") from None
    if size != m.size_bytes:
        raise _refuse(
            data_path, f"data file is {size} bytes, manifest says {m.size_bytes} (altered?)"
        )
    if file_sha256(data_path) != m.sha256:
        raise _refuse(data_path, "data file SHA-256 does not match the manifest (altered)")
    try:
        schema = file_schema(data_path)
        rows = _parquet_rows(data_path)
    except Exception as e:  # any parse failure of a file whose digest matched
        raise _refuse(data_path, "data file is not readable Parquet") from e
    if schema != m.schema:
        raise _refuse(data_path, "Parquet schema does not match the manifest's schema")
    if rows != m.row_count:
        raise _refuse(data_path, f"Parquet file holds {rows} rows, manifest says {m.row_count}")
    return m


def read_artifact(
    path: Path,
    *,
    engagement_id: str,
    recipient: str,
    kind: str,
    producer: PublicBundle,
    ledger: ReplayLedger | None = None,
) -> pl.DataFrame:
    """:func:`verify_artifact`, then read the rows."""
    return scan_artifact(
        path,
        engagement_id=engagement_id,
        recipient=recipient,
        kind=kind,
        producer=producer,
        ledger=ledger,
    ).collect()


def scan_artifact(
    path: Path,
    *,
    engagement_id: str,
    recipient: str,
    kind: str,
    producer: PublicBundle,
    ledger: ReplayLedger | None = None,
) -> pl.LazyFrame:
    """:func:`verify_artifact`, then a lazy scan of the rows.

    The scan reads the file when collected; verification covers the file as it was
    when this was called, which is sound for a file in the receiver's own inbox.
    """
    verify_artifact(
        path,
        engagement_id=engagement_id,
        recipient=recipient,
        kind=kind,
        producer=producer,
        ledger=ledger,
    )
    return pl.scan_parquet(artifact_paths(path)[0])


def _unverified_read_artifact(path: Path) -> pl.DataFrame:
    """Read an artifact's rows WITHOUT any check (tests and forensics only)."""
    return pl.read_parquet(artifact_paths(path)[0])


# -- replay ledger -----------------------------------------------------------------------


class ReplayLedger:
    """Highest sequence accepted per (producer fingerprint, kind), kept as JSON.

    A receiver keeps one in its inbox. :meth:`check` refuses an artifact older than
    the newest one accepted from the same producer and kind (re-receiving the very same
    artifact is allowed); :meth:`record` remembers an accepted one and saves atomically.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._entries: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                obj = json.loads(self.path.read_bytes())
                if obj.get("format") != LEDGER_FORMAT or obj.get("version") != 1:
                    raise ValueError("not a ledger")
                entries = obj["entries"]
                for key, entry in entries.items():
                    if not isinstance(entry["sequence"], int) or not isinstance(
                        entry["artifact_id"], str
                    ):
                        raise ValueError("bad entry")
                    self._entries[str(key)] = dict(entry)
            except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as e:
                raise VerificationError(
                    f"{self.path}: replay ledger is malformed; refusing to accept artifacts "
                    "until it is repaired"
                ) from e

    @staticmethod
    def _key(producer_fingerprint: str, kind: str) -> str:
        return f"{producer_fingerprint}|{kind}"

    def highest(self, producer_fingerprint: str, kind: str) -> int | None:
        """The highest sequence accepted from this producer for this kind, if any."""
        entry = self._entries.get(self._key(producer_fingerprint, kind))
        return None if entry is None else int(entry["sequence"])

    def check(self, manifest: Manifest, source: str | Path = "") -> None:
        """Refuse ``manifest`` if it is older than what was accepted before."""
        entry = self._entries.get(self._key(manifest.producer_fingerprint, manifest.kind))
        if entry is None:
            return
        seq, aid = int(entry["sequence"]), entry["artifact_id"]
        if manifest.sequence > seq or (manifest.sequence == seq and manifest.artifact_id == aid):
            return
        where = source or manifest.name
        raise _refuse(
            where,
            f"replay refused: sequence {manifest.sequence} is not newer than the "
            f"{manifest.kind!r} artifact already accepted from {manifest.producer_role} "
            f"(sequence {seq})",
        )

    def record(self, manifest: Manifest) -> None:
        """Remember ``manifest`` as accepted and save the ledger atomically."""
        self.check(manifest)
        self._entries[self._key(manifest.producer_fingerprint, manifest.kind)] = {
            "sequence": manifest.sequence,
            "artifact_id": manifest.artifact_id,
            "name": manifest.name,
            "producer_role": manifest.producer_role,
            "engagement_id": manifest.engagement_id,
        }
        self.save()

    def save(self) -> None:
        obj = {"format": LEDGER_FORMAT, "version": 1, "entries": self._entries}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path, (json.dumps(obj, indent=2) + "\n").encode("utf-8"))
