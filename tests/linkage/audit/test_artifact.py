"""Auditing artifacts on disk: manifests, the injected verifier, unreadable inputs."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from hashing.errors import VerificationError
from linkage.audit import (
    EXIT_INCOMPLETE,
    SignatureUnavailable,
    audit_frame,
    audit_paths,
    manifest_path,
)
from linkage.audit.artifact import check_manifest, file_sha256
from linkage.audit.checks import column_label, is_identifier_name
from tests.linkage.audit import world as w


@pytest.fixture
def written(tmp_path: Path) -> Path:
    world = w.clean_world()
    world.write(tmp_path / "out")
    return tmp_path / "out"


def test_manifest_sits_beside_the_parquet_file() -> None:
    assert manifest_path(Path("d/campaign.tokens.parquet")) == Path(
        "d/campaign.tokens.manifest.json"
    )


def test_a_directory_audits_every_artifact_clean(written: Path) -> None:
    report = audit_paths([written], context=w.context())
    assert report.findings == [] and report.problems == [] and report.exit_code == 0
    assert len(report.artifacts) == len(w.clean_world().artifacts)


def test_the_verifier_is_injected(written: Path) -> None:
    calls: list[tuple[Path, str]] = []

    def fake(path: Path, manifest: Mapping[str, Any]) -> None:
        calls.append((path, manifest["kind"]))
        if manifest["kind"] == "members":
            raise VerificationError("bad signature")

    report = audit_paths([written], context=w.context(public_keys={}), verifier=fake)
    assert len(calls) == len(report.artifacts)
    assert {(f.artifact, f.check) for f in report.findings} == {
        ("matcher.members.parquet", "manifest.signature")
    }


def test_skipping_signatures_is_recorded(written: Path) -> None:
    report = audit_paths([written], context=w.context(public_keys={}), check_signatures=False)
    assert report.skipped == ["signature"] and report.exit_code == 0


def test_a_missing_key_makes_the_audit_incomplete(written: Path) -> None:
    report = audit_paths([written / "matcher.report.parquet"], context=w.context(public_keys={}))
    assert report.exit_code == EXIT_INCOMPLETE
    assert "no public key bundle for matcher" in report.problems[0].reason


def test_an_unavailable_verifier_makes_the_audit_incomplete(written: Path) -> None:
    def unavailable(path: Path, manifest: Mapping[str, Any]) -> None:
        raise SignatureUnavailable("no verifier")

    report = audit_paths(
        [written / "matcher.report.parquet"], context=w.context(), verifier=unavailable
    )
    assert report.exit_code == EXIT_INCOMPLETE


def test_unreadable_and_missing_inputs_are_problems(written: Path) -> None:
    broken = written / "broken.parquet"
    broken.write_bytes(os.urandom(200))
    orphan = written / "orphan.manifest.json"
    orphan.write_text("{}")
    report = audit_paths(
        [broken, orphan, written / "nothing.parquet"], context=w.context(), check_signatures=False
    )
    reasons = {p.artifact: p.reason for p in report.problems}
    assert reasons["broken.parquet"].startswith("unreadable Parquet file")
    assert reasons["orphan.manifest.json"] == "manifest without its Parquet file"
    assert reasons["nothing.parquet"] == "no such file"
    assert report.exit_code == EXIT_INCOMPLETE


def test_an_unreadable_source_makes_the_audit_incomplete(written: Path) -> None:
    report = audit_paths(
        [written / "matcher.report.parquet"],
        context=w.context(),
        sources=[written / "no-such-source.csv"],
    )
    assert report.exit_code == EXIT_INCOMPLETE


def test_without_a_manifest_the_kind_is_inferred_and_content_still_checked(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "ref": [os.urandom(16) for _ in range(100)],
            "recipe": ["email"] * 100,
            "token": [os.urandom(16) for _ in range(100)],
        }
    )
    path = tmp_path / "loose.parquet"
    frame.write_parquet(path)
    report = audit_paths([path], context=w.context())
    assert report.checks() == {"manifest.missing", "token.length"}
    assert report.artifacts[0].kind == "tokens"


def test_an_invalid_manifest_is_a_finding(written: Path) -> None:
    manifest_path(written / "matcher.report.parquet").write_text("{not json")
    report = audit_paths([written / "matcher.report.parquet"], context=w.context())
    assert report.checks() == {"manifest.invalid"}


def test_check_manifest_reports_each_field(written: Path) -> None:
    path = written / "matcher.members.parquet"
    manifest = json.loads(manifest_path(path).read_text())
    frame = pl.read_parquet(path)
    digest = file_sha256(path)
    ctx = w.context()
    assert (
        check_manifest(manifest, artifact=path.name, frame=frame, file_digest=digest, context=ctx)
        == []
    )
    bad = dict(
        manifest,
        producer_role="campaign",
        row_count=manifest["row_count"] + 1,
        schema={"household": "Binary"},
        data_file="other.parquet",
        kind="members",
        extra={"note": "call 614-555-0100", "tune_events": 6145550100},
    )
    found = check_manifest(bad, artifact=path.name, frame=frame, file_digest=digest, context=ctx)
    assert {f.check for f in found} == {
        "manifest.producer",
        "manifest.row_count",
        "manifest.schema",
        "manifest.name",
        "pii.phone",
    }
    unknown = dict(manifest, kind="crosswalk", recipients=["matcher"])
    found = check_manifest(
        unknown, artifact=path.name, frame=frame, file_digest=digest, context=ctx
    )
    assert {f.check for f in found} == {"manifest.kind"}


def test_contract_columns_missing_and_mistyped() -> None:
    frame = pl.DataFrame({"household": ["x"] * 3})
    found = audit_frame(frame, artifact="m.parquet", kind="members", context=w.context())
    assert {(f.check, f.column) for f in found} == {
        ("policy.dtype", "household"),
        ("policy.columns", "sealed_segments"),
    }


def test_pii_column_names_are_never_echoed() -> None:
    assert column_label("jane.roe@example.org", 4) == "#4"
    assert column_label("box_id", 2) == "box_id"
    assert is_identifier_name("voterId") and is_identifier_name("HOLDER_NAME")
    assert not is_identifier_name("sealed_segments") and not is_identifier_name("quarter_hour")
