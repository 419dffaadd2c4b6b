"""Workspaces: one directory tree per party, and the hand-over between them.

::

    ROOT/
      workspace.json          role of this workspace (no secrets)
      private/                never leaves: identity file, demo passphrase, crosswalks,
                              quarantine (mode 0700)
      outbox/                 signed artifacts ready to send; ROLE.bundle.json
      inbox/
        incoming/             delivered by send(), not yet verified
        rejected/             what receive() refused, with a .reason.txt each
        peers/                peers' public bundles, added after comparing fingerprints
        ledger.json           replay ledger: highest sequence per (producer, kind)
        NAME.parquet          accepted artifacts (+ NAME.manifest.json)

:func:`send` stands in for whatever carries files between parties: it copies an
outbox artifact into the recipient's ``inbox/incoming``. :func:`receive` verifies it as
the workspace's own role (signature, digest, engagement, recipient, kind, replay) and
either moves it into ``inbox/`` and records it in the ledger, or moves it aside under
``inbox/rejected/`` and raises. A party reads only its own workspace.

Example::

    ws = Workspace.create(Path("ws/campaign"), "campaign")
    me = ws.new_identity(read_passphrase())
    ws.write(df, "campaign.tokens", kind="tokens", engagement_id=eid, producer=me,
             recipients=["matcher"])
    send(ws, "campaign.tokens", matcher_ws)
    receive(matcher_ws, "campaign.tokens", engagement_id=eid, kind="tokens",
            producer_bundle=matcher_ws.peer("campaign"))
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import polars as pl

from hashing.artifacts import (
    DATA_SUFFIX,
    MANIFEST_SUFFIX,
    JsonScalar,
    Manifest,
    ParquetCompression,
    ReplayLedger,
    _unverified_read_manifest,
    artifact_paths,
    atomic_write_bytes,
    check_name,
    read_artifact,
    scan_artifact,
    verify_artifact,
    write_artifact,
)
from hashing.errors import InputError, KeyError_, PolicyError, VerificationError
from hashing.keys import ROLES, PartyIdentity, PublicBundle, ScryptParams

WORKSPACE_FORMAT: Final = "blindlink-workspace"
MARKER: Final = "workspace.json"


@dataclass(frozen=True)
class Workspace:
    """One party's directory tree (see the module docstring for the layout)."""

    root: Path
    role: str

    # -- layout --

    @property
    def private(self) -> Path:
        return self.root / "private"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def incoming(self) -> Path:
        return self.inbox / "incoming"

    @property
    def rejected(self) -> Path:
        return self.inbox / "rejected"

    @property
    def peers(self) -> Path:
        return self.inbox / "peers"

    @property
    def ledger_path(self) -> Path:
        return self.inbox / "ledger.json"

    @property
    def identity_path(self) -> Path:
        return self.private / "identity.json"

    @property
    def passphrase_path(self) -> Path:
        """Where an unattended or demo party keeps its passphrase (mode 0600)."""
        return self.private / "passphrase"

    @property
    def bundle_path(self) -> Path:
        """This party's own public bundle, ready to hand to peers."""
        return self.outbox / f"{self.role}.bundle.json"

    # -- creating and opening --

    @classmethod
    def create(cls, root: Path, role: str) -> Workspace:
        """Create (or re-open) the workspace of ``role`` at ``root``.

        Directories are made with mode 0700. Re-creating an existing workspace of the
        same role is harmless; one of another role is a :class:`PolicyError`.
        """
        if role not in ROLES:
            raise InputError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        root = Path(root)
        marker = root / MARKER
        if marker.exists():
            existing = cls.open(root)
            if existing.role != role:
                raise PolicyError(
                    f"{root}: is the {existing.role} workspace; refusing to make it {role}'s"
                )
        ws = cls(root, role)
        for d in (root, ws.private, ws.outbox, ws.inbox, ws.incoming, ws.rejected, ws.peers):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(ws.private, 0o700)
        if not marker.exists():
            obj = {"format": WORKSPACE_FORMAT, "version": 1, "role": role}
            atomic_write_bytes(marker, (json.dumps(obj, indent=2) + "\n").encode("utf-8"))
        return ws

    @classmethod
    def open(cls, root: Path, role: str | None = None) -> Workspace:
        """Open an existing workspace; when ``role`` is given, refuse another role's."""
        root = Path(root)
        marker = root / MARKER
        try:
            obj = json.loads(marker.read_bytes())
        except FileNotFoundError:
            raise InputError(f"{root}: not a blindlink workspace ({MARKER} missing)") from None
        except (OSError, ValueError, UnicodeDecodeError) as e:
            raise InputError(f"{marker}: unreadable workspace marker") from e
        if (
            not isinstance(obj, dict)
            or obj.get("format") != WORKSPACE_FORMAT
            or obj.get("role") not in ROLES
        ):
            raise InputError(f"{marker}: not a blindlink workspace marker")
        ws = cls(root, str(obj["role"]))
        if role is not None and ws.role != role:
            raise PolicyError(f"{root}: is the {ws.role} workspace, not {role}'s")
        return ws

    # -- keys --

    def new_identity(
        self, passphrase: bytes, *, scrypt: ScryptParams | None = None, overwrite: bool = False
    ) -> PartyIdentity:
        """Generate this party's identity, save it encrypted, and export its bundle."""
        identity = PartyIdentity.generate(self.role)
        identity.save(self.identity_path, passphrase, scrypt=scrypt, overwrite=overwrite)
        identity.public.export(self.bundle_path)
        return identity

    def load_identity(self, passphrase: bytes) -> PartyIdentity:
        """Unlock this party's identity (it must be of this workspace's role)."""
        identity = PartyIdentity.load(self.identity_path, passphrase)
        if identity.role != self.role:
            raise KeyError_(
                f"{self.identity_path}: holds a {identity.role} identity, not the {self.role} one"
            )
        return identity

    def add_peer(self, bundle_path: Path, expected_fingerprint: str | None = None) -> PublicBundle:
        """Store a peer's public bundle under ``inbox/peers`` (after checking it).

        Pass the fingerprint the peer read out to you as ``expected_fingerprint``.
        """
        bundle = PublicBundle.load(Path(bundle_path), expected_fingerprint)
        if bundle.role == self.role:
            raise KeyError_(f"{bundle_path}: is a {bundle.role} bundle, this party's own role")
        bundle.export(self.peers / f"{bundle.role}.bundle.json")
        return bundle

    def peer(self, role: str) -> PublicBundle:
        """The stored public bundle of the peer of ``role``."""
        if role not in ROLES:
            raise InputError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        return PublicBundle.load(self.peers / f"{role}.bundle.json")

    # -- artifacts --

    def ledger(self) -> ReplayLedger:
        return ReplayLedger(self.ledger_path)

    def write(
        self,
        df: pl.DataFrame,
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
        """Write a signed artifact into this party's outbox."""
        if producer.role != self.role:
            raise PolicyError(f"the {self.role} workspace cannot publish as {producer.role}")
        return write_artifact(
            df,
            self.outbox,
            name,
            kind=kind,
            engagement_id=engagement_id,
            producer=producer,
            recipients=recipients,
            extra=extra,
            compression=compression,
            statistics=statistics,
        )

    def verify(
        self, name: str, *, engagement_id: str, kind: str, producer_bundle: PublicBundle
    ) -> Manifest:
        """Re-verify an accepted artifact in ``inbox/`` as this party; return its manifest."""
        return verify_artifact(
            self.inbox / check_name(name),
            engagement_id=engagement_id,
            recipient=self.role,
            kind=kind,
            producer=producer_bundle,
        )

    def read(
        self, name: str, *, engagement_id: str, kind: str, producer_bundle: PublicBundle
    ) -> pl.DataFrame:
        """Verify and read an accepted artifact from ``inbox/`` as this party."""
        return read_artifact(
            self.inbox / check_name(name),
            engagement_id=engagement_id,
            recipient=self.role,
            kind=kind,
            producer=producer_bundle,
        )

    def scan(
        self, name: str, *, engagement_id: str, kind: str, producer_bundle: PublicBundle
    ) -> pl.LazyFrame:
        """Verify and lazily scan an accepted artifact from ``inbox/`` as this party."""
        return scan_artifact(
            self.inbox / check_name(name),
            engagement_id=engagement_id,
            recipient=self.role,
            kind=kind,
            producer=producer_bundle,
        )


def _copy_atomic(src: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(src, "rb") as fin, open(tmp, "xb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
            fout.flush()
            os.fsync(fout.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def send(src_ws: Workspace, name: str, dest_ws: Workspace) -> Path:
    """Deliver an outbox artifact of ``src_ws`` to ``dest_ws``'s ``inbox/incoming``.

    Refuses (:class:`PolicyError`) to deliver to a role the manifest does not address.
    Data file first, manifest last, each through a temporary file and a rename, so a
    cut-off delivery never verifies. Returns the delivered data file's path.
    """
    check_name(name)
    data, manifest = artifact_paths(src_ws.outbox / name)
    if not data.exists() or not manifest.exists():
        raise InputError(f"{src_ws.outbox}: no complete artifact named {name!r} to send")
    declared = _unverified_read_manifest(manifest)
    if dest_ws.role not in declared.recipients:
        raise PolicyError(
            f"{manifest}: is addressed to {', '.join(declared.recipients)}; "
            f"refusing to send it to {dest_ws.role}"
        )
    dest_ws.incoming.mkdir(mode=0o700, parents=True, exist_ok=True)
    dest_data, dest_manifest = artifact_paths(dest_ws.incoming / name)
    _copy_atomic(data, dest_data)
    _copy_atomic(manifest, dest_manifest)
    return dest_data


def _reject(ws: Workspace, name: str, reason: str) -> Path:
    """Move whatever arrived as ``name`` under ``inbox/rejected/`` with a reason file."""
    ws.rejected.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    base = ws.rejected / f"{name}.{stamp}"
    data, manifest = artifact_paths(ws.incoming / name)
    if data.exists():
        os.replace(data, base.with_name(base.name + DATA_SUFFIX))
    if manifest.exists():
        os.replace(manifest, base.with_name(base.name + MANIFEST_SUFFIX))
    atomic_write_bytes(base.with_name(base.name + ".reason.txt"), (reason + "\n").encode())
    return base


def receive(
    ws: Workspace,
    name: str,
    *,
    engagement_id: str,
    kind: str,
    producer_bundle: PublicBundle,
) -> Manifest:
    """Verify a delivered artifact as ``ws``'s role and accept it, or move it aside.

    On success the files move from ``inbox/incoming`` to ``inbox/`` and the ledger
    records the artifact's sequence. On any :class:`VerificationError` (including a
    replay of an older artifact) both files move under ``inbox/rejected/`` with a
    ``.reason.txt`` and the error is raised again, naming where they went.
    """
    check_name(name)
    data, manifest = artifact_paths(ws.incoming / name)
    if not data.exists() and not manifest.exists():
        raise InputError(f"{ws.incoming}: nothing named {name!r} has arrived")
    ledger = ws.ledger()
    try:
        m = verify_artifact(
            ws.incoming / name,
            engagement_id=engagement_id,
            recipient=ws.role,
            kind=kind,
            producer=producer_bundle,
            ledger=ledger,
        )
    except VerificationError as e:
        moved = _reject(ws, name, str(e))
        raise VerificationError(f"{e} [moved aside to {moved}.*]") from e
    accepted_data, accepted_manifest = artifact_paths(ws.inbox / name)
    os.replace(data, accepted_data)
    os.replace(manifest, accepted_manifest)
    ledger.record(m)
    return m
