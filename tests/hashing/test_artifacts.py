"""Signed artifacts: what verifies, and a specific refusal for everything that must not."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import hashing
from hashing import artifacts
from hashing.artifacts import (
    Manifest,
    ReplayLedger,
    _unverified_read_manifest,
    artifact_paths,
    read_artifact,
    scan_artifact,
    verify_artifact,
    write_artifact,
)
from hashing.errors import InputError, VerificationError
from hashing.keys import PartyIdentity, PublicBundle

ENG = "eng-2026-04"
CAMPAIGN = PartyIdentity.generate("campaign")
OPERATOR = PartyIdentity.generate("operator")


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ref": ["r1", "r2", "r3"],
            "recipe": ["email", "phone", "email"],
            "token": [b"\x01" * 32, b"\x02" * 32, b"\x03" * 32],
        }
    )


def write(
    out: Path,
    df: pl.DataFrame | None = None,
    *,
    name: str = "campaign.tokens",
    kind: str = "tokens",
    producer: PartyIdentity = CAMPAIGN,
    recipients: tuple[str, ...] = ("matcher", "auditor"),
    engagement: str = ENG,
) -> Manifest:
    return write_artifact(
        frame() if df is None else df,
        out,
        name,
        kind=kind,
        engagement_id=engagement,
        producer=producer,
        recipients=list(recipients),
        extra={"dp_epsilon": 1.5, "note": "test", "k_min": 50, "flag": True, "none": None},
    )


def verify(path: Path, **overrides: object) -> Manifest:
    args: dict[str, object] = {
        "engagement_id": ENG,
        "recipient": "matcher",
        "kind": "tokens",
        "producer": CAMPAIGN.public,
    }
    args.update(overrides)
    return verify_artifact(path, **args)  # type: ignore[arg-type]


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    m = write(tmp_path)
    assert m.row_count == 3
    assert m.schema == {"ref": "String", "recipe": "String", "token": "Binary"}
    assert m.producer_role == "campaign"
    assert m.producer_fingerprint == CAMPAIGN.fingerprint
    assert m.recipients == ("matcher", "auditor")
    assert m.tool_version == hashing.__version__
    assert m.extra["dp_epsilon"] == 1.5
    assert m.created_at.endswith("+00:00")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "campaign.tokens.manifest.json",
        "campaign.tokens.parquet",
    ]
    for given in ("campaign.tokens", "campaign.tokens.parquet", "campaign.tokens.manifest.json"):
        assert verify(tmp_path / given) == m
    df = read_artifact(
        tmp_path / "campaign.tokens",
        engagement_id=ENG,
        recipient="auditor",
        kind="tokens",
        producer=CAMPAIGN.public,
    )
    assert_frame_equal(df, frame())
    lazy = scan_artifact(
        tmp_path / "campaign.tokens",
        engagement_id=ENG,
        recipient="matcher",
        kind="tokens",
        producer=CAMPAIGN.public,
    )
    assert_frame_equal(lazy.collect(), frame())


def test_sequences_increase_and_ids_are_random(tmp_path: Path) -> None:
    a = write(tmp_path, name="a")
    b = write(tmp_path, name="b")
    assert b.sequence > a.sequence
    assert a.artifact_id != b.artifact_id and len(a.artifact_id) == 32


# -- each refusal, specifically ----------------------------------------------------------


def test_tampered_data_byte_is_refused(tmp_path: Path) -> None:
    write(tmp_path)
    data, _ = artifact_paths(tmp_path / "campaign.tokens")
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    data.write_bytes(bytes(raw))
    with pytest.raises(VerificationError, match=r"parquet: data file SHA-256 does not match"):
        verify(data)


def test_truncated_or_extended_data_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path)
    data, _ = artifact_paths(tmp_path / "campaign.tokens")
    data.write_bytes(data.read_bytes() + b"\x00")
    with pytest.raises(VerificationError, match=r"data file is \d+ bytes, manifest says \d+"):
        verify(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("row_count", 4),
        ("sha256", "0" * 64),
        ("recipients", ["matcher", "auditor", "measurement"]),
        ("extra", {"dp_epsilon": 9.0}),
        ("sequence", 2**62),
    ],
)
def test_tampered_manifest_field_breaks_the_signature(
    tmp_path: Path, field: str, value: object
) -> None:
    write(tmp_path)
    _, manifest = artifact_paths(tmp_path / "campaign.tokens")
    obj = json.loads(manifest.read_text())
    obj[field] = value
    manifest.write_text(json.dumps(obj))
    with pytest.raises(VerificationError, match="signature does not verify with the expected"):
        verify(manifest)


def test_tampered_manifest_byte_is_refused(tmp_path: Path) -> None:
    write(tmp_path)
    _, manifest = artifact_paths(tmp_path / "campaign.tokens")
    text = manifest.read_text()
    i = text.index('"row_count": 3')
    manifest.write_text(text[:i] + '"row_count": 7' + text[i + 14 :])
    with pytest.raises(VerificationError, match="signature does not verify"):
        verify(manifest)
    manifest.write_bytes(b"{" + manifest.read_bytes())
    with pytest.raises(VerificationError, match="manifest is malformed: not valid JSON"):
        verify(manifest)


def test_manifest_signed_by_the_wrong_party_is_refused(tmp_path: Path) -> None:
    impostor = PartyIdentity.generate("campaign")
    write(tmp_path, producer=impostor)
    with pytest.raises(
        VerificationError,
        match=f"signature does not verify with the expected campaign key {CAMPAIGN.fingerprint}",
    ):
        verify(tmp_path / "campaign.tokens")
    write(tmp_path, producer=OPERATOR, name="operator.tokens")
    with pytest.raises(VerificationError, match="signature does not verify"):
        verify(tmp_path / "operator.tokens")


def test_signature_from_a_relabelled_key_is_refused(tmp_path: Path) -> None:
    # The operator's key under a bundle claiming to be the campaign still signs as operator.
    write(tmp_path, producer=OPERATOR)
    relabelled = PublicBundle("campaign", OPERATOR.public.ed25519, OPERATOR.public.x25519)
    with pytest.raises(VerificationError, match="manifest names producer operator"):
        verify(tmp_path / "campaign.tokens", producer=relabelled)


def test_artifact_of_another_engagement_is_refused(tmp_path: Path) -> None:
    write(tmp_path, engagement="eng-2025-11")
    with pytest.raises(
        VerificationError, match="artifact belongs to engagement 'eng-2025-11', not 'eng-2026-04'"
    ):
        verify(tmp_path / "campaign.tokens")


def test_artifact_for_another_recipient_is_refused(tmp_path: Path) -> None:
    write(tmp_path, recipients=("matcher",))
    with pytest.raises(
        VerificationError, match="artifact is addressed to matcher, not to measurement"
    ):
        verify(tmp_path / "campaign.tokens", recipient="measurement")


def test_wrong_kind_is_refused(tmp_path: Path) -> None:
    write(tmp_path, kind="match-report")
    with pytest.raises(
        VerificationError, match="artifact kind is 'match-report', not the expected 'tokens'"
    ):
        verify(tmp_path / "campaign.tokens")


def test_renamed_artifact_is_refused(tmp_path: Path) -> None:
    write(tmp_path)
    for old, new in zip(
        artifact_paths(tmp_path / "campaign.tokens"),
        artifact_paths(tmp_path / "campaign.members"),
        strict=True,
    ):
        old.rename(new)
    with pytest.raises(VerificationError, match=r"manifest describes artifact 'campaign\.tokens'"):
        verify(tmp_path / "campaign.members")


def test_missing_manifest_or_data_is_refused(tmp_path: Path) -> None:
    write(tmp_path)
    data, manifest = artifact_paths(tmp_path / "campaign.tokens")
    data.unlink()
    with pytest.raises(VerificationError, match="parquet: data file missing"):
        verify(manifest)
    manifest.unlink()
    with pytest.raises(VerificationError, match=r"manifest\.json: manifest missing"):
        verify(data)


def _resign(manifest_path: Path, producer: PartyIdentity, **changes: object) -> None:
    """Rewrite a manifest with changed fields and a valid signature (a producer bug)."""
    m = dataclasses.replace(_unverified_read_manifest(manifest_path), **changes)  # type: ignore[arg-type]
    signed = dataclasses.replace(m, signature=artifacts._b64(producer.sign(m.signed_bytes())))
    manifest_path.write_text(json.dumps(signed.to_json()))


def test_schema_mismatch_is_refused(tmp_path: Path) -> None:
    write(tmp_path)
    _, manifest = artifact_paths(tmp_path / "campaign.tokens")
    _resign(manifest, CAMPAIGN, schema={"ref": "String", "recipe": "String", "token": "String"})
    with pytest.raises(VerificationError, match="Parquet schema does not match the manifest"):
        verify(manifest)


def test_row_count_mismatch_is_refused(tmp_path: Path) -> None:
    write(tmp_path)
    _, manifest = artifact_paths(tmp_path / "campaign.tokens")
    _resign(manifest, CAMPAIGN, row_count=2)
    with pytest.raises(VerificationError, match="Parquet file holds 3 rows, manifest says 2"):
        verify(manifest)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda o: o.pop("sha256"), "missing sha256"),
        (lambda o: o.update(surprise=1), "unknown surprise"),
        (lambda o: o.update(row_count="3"), "field 'row_count' must be a non-negative integer"),
        (lambda o: o.update(recipients=[]), "field 'recipients' must be a non-empty list"),
        (lambda o: o.update(recipients=["spy"]), "field 'recipients' must be a non-empty list"),
        (lambda o: o.update(version=2), "manifest version is not supported"),
        (lambda o: o.update(format="x"), "not a blindlink manifest"),
        (lambda o: o.update(extra={"x": [1]}), "field 'extra' must be an object of JSON"),
    ],
)
def test_malformed_manifests_are_refused(tmp_path: Path, edit: object, message: str) -> None:
    write(tmp_path)
    _, manifest = artifact_paths(tmp_path / "campaign.tokens")
    obj = json.loads(manifest.read_text())
    edit(obj)  # type: ignore[operator]
    manifest.write_text(json.dumps(obj))
    with pytest.raises(VerificationError, match=message):
        verify(manifest)


# -- replay ------------------------------------------------------------------------------


def test_replay_of_an_older_artifact_is_refused(tmp_path: Path) -> None:
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old = write(old_dir)
    new = write(new_dir, df=frame().head(2))
    ledger = ReplayLedger(tmp_path / "ledger.json")
    ledger.record(verify(new_dir / "campaign.tokens", ledger=ledger))
    assert ledger.highest(CAMPAIGN.fingerprint, "tokens") == new.sequence

    reloaded = ReplayLedger(tmp_path / "ledger.json")
    with pytest.raises(
        VerificationError,
        match=f"replay refused: sequence {old.sequence} is not newer than the 'tokens' "
        f"artifact already accepted from campaign \\(sequence {new.sequence}\\)",
    ):
        verify(old_dir / "campaign.tokens", ledger=reloaded)
    # The very same artifact again is fine; another kind from the same producer is too.
    verify(new_dir / "campaign.tokens", ledger=reloaded)
    other_kind = write(old_dir, name="campaign.report", kind="report")
    assert other_kind.sequence > new.sequence
    verify(old_dir / "campaign.report", kind="report", ledger=reloaded)


def test_malformed_ledger_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    path.write_text("[1, 2]")
    with pytest.raises(VerificationError, match="replay ledger is malformed"):
        ReplayLedger(path)


# -- atomic writes -----------------------------------------------------------------------


def test_interrupted_write_leaves_nothing_that_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path)  # a complete earlier artifact of the same name

    def crash(path: Path, data: bytes) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(artifacts, "atomic_write_bytes", crash)
    with pytest.raises(OSError, match="disk full"):
        write(tmp_path, df=frame().head(1))
    # New data, old manifest: the pair no longer verifies.
    with pytest.raises(VerificationError, match=r"manifest says|SHA-256"):
        verify(tmp_path / "campaign.tokens")
    # A first-ever write interrupted the same way leaves data without a manifest.
    with pytest.raises(OSError):
        write(tmp_path / "fresh")
    with pytest.raises(VerificationError, match="manifest missing"):
        verify(tmp_path / "fresh" / "campaign.tokens")
    leftovers = [p.name for p in (tmp_path / "fresh").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_interrupted_data_write_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(self: pl.DataFrame, *args: object, **kwargs: object) -> None:
        raise OSError("interrupted")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", crash)
    with pytest.raises(OSError):
        write(tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- input checks ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "x" * 200])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="artifact name"):
        write(tmp_path, name=name)


def test_bad_recipients_kind_and_extra_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown recipient role"):
        write(tmp_path, recipients=("vendor",))
    with pytest.raises(InputError, match="at least one recipient"):
        write(tmp_path, recipients=())
    with pytest.raises(InputError, match="artifact kind"):
        write(tmp_path, kind="Bad Kind")
    with pytest.raises(InputError, match="JSON scalars"):
        write_artifact(
            frame(),
            tmp_path,
            "x",
            kind="tokens",
            engagement_id=ENG,
            producer=CAMPAIGN,
            recipients=["matcher"],
            extra={"eps": float("nan")},
        )
