"""The golden end-to-end test: the committed sample world through every role.

campaign → operator → matcher → measurement → campaign results → auditor, each party in
its own workspace, every artifact sent, verified on receipt and audited. The aggregate
outputs are compared with checked-in expectations (``tests/golden/``); regenerate them
deliberately with ``make golden`` (``python -m tests.regenerate_golden``) after a change
that is meant to move them.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from hashing.keys import PartyIdentity, read_passphrase
from hashing.workspace import Workspace
from linkage.demo import ROLES, SAMPLE_ENGAGEMENT, SAMPLE_WORLD, DemoResult, run_demo

GOLDEN = Path(__file__).resolve().parent / "golden"
# The sample world is small (about 2,000 voters): with the production k-minimum of 50
# nearly every cell would be suppressed, so the test engagement uses the floor, 10.
K_MIN = 10


def golden_engagement(tmp: Path) -> Path:
    text = SAMPLE_ENGAGEMENT.read_text(encoding="utf-8")
    assert "k_min = 50" in text
    path = tmp / "engagement.toml"
    path.write_text(text.replace("k_min = 50", f"k_min = {K_MIN}"), encoding="utf-8")
    return path


def run_golden(out: Path) -> DemoResult:
    from hashing.keys import ScryptParams

    return run_demo(
        out / "run",
        voters=None,
        scrypt=ScryptParams.for_tests(),
        engagement_path=golden_engagement(out),
    )


def golden_tables(result: DemoResult) -> dict[str, pl.DataFrame]:
    """The deterministic aggregate outputs, in a canonical row order."""
    viewership = result.results["viewership"].sort(
        "segment", "band", "day", "channel", "quarter_hour", nulls_last=False
    )
    summary = result.results["segment_summary"].sort("segment", "band")
    report = (
        result.results["match_report"]
        .filter(pl.col("section").is_in(["summary", "recipe", "unmatched", "pattern"]))
        .sort("section", "name")
    )
    return {"viewership": viewership, "segment_summary": summary, "match_report": report}


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    if not (SAMPLE_WORLD / "campaign" / "voters.csv").exists():
        pytest.fail("the committed sample world is missing from samples/world")
    return run_golden(tmp_path_factory.mktemp("golden"))


def test_every_role_ran_and_counts_reconcile(golden_run: DemoResult) -> None:
    for role in ("campaign", "operator"):
        s = golden_run.parties[role]
        assert s.rows_in > 0
        assert s.rows_in == s.rows_tokenized + s.rows_quarantined
    assert golden_run.matcher is not None and golden_run.matcher.matched_voters > 0
    assert golden_run.measurement is not None and golden_run.measurement.cells > 0
    # every exchanged artifact verified on receipt and sits in its recipient's inbox
    assert len(golden_run.exchanged) == 10
    assert all(p.with_name(p.name + ".parquet").exists() for p in golden_run.exchanged)


def test_audit_of_the_whole_exchange_is_clean(golden_run: DemoResult) -> None:
    report = golden_run.audit
    assert report is not None
    assert report.exit_code == 0, report.to_text()  # type: ignore[attr-defined]


def test_outputs_equal_the_golden_expectations(golden_run: DemoResult) -> None:
    tables = golden_tables(golden_run)
    for name, frame in tables.items():
        expected = pl.read_parquet(GOLDEN / f"{name}.parquet")
        assert_frame_equal(frame, expected, check_exact=False, rel_tol=1e-9)


def test_published_cells_respect_k(golden_run: DemoResult) -> None:
    v = golden_run.results["viewership"].filter(~pl.col("suppressed"))
    assert v.height > 0
    assert v.filter(pl.col("reach") < K_MIN).height == 0


def test_no_input_value_or_its_hash_in_any_exchanged_artifact(
    golden_run: DemoResult,
) -> None:
    """The auditor, shown both list owners' inputs, finds none of their values (raw,
    normalized, or unkeyed MD5/SHA-1/SHA-256) in anything that crossed a boundary."""
    from linkage.audit import AuditContext, audit_paths

    sources = [
        SAMPLE_WORLD / "campaign" / "voters.csv",
        SAMPLE_WORLD / "operator" / "subscribers.csv",
        SAMPLE_WORLD / "operator" / "boxes.csv",
    ]
    inbox = golden_run.out_dir / "auditor" / "inbox" / "audited"
    report = audit_paths(
        [inbox],
        context=AuditContext.from_engagement(golden_run.engagement),
        sources=sources,
    )
    assert report.exit_code == 0, report.to_text()
    assert len(list(inbox.glob("*.parquet"))) == 9


def _key_material(out: Path) -> list[bytes]:
    secrets: list[bytes] = []
    for role in ROLES:
        ws = Workspace.open(out / role, role)
        identity = PartyIdentity.load(ws.identity_path, read_passphrase(file=ws.passphrase_path))
        for raw in (identity._ed25519, identity._x25519):
            secrets += [
                raw,
                raw.hex().encode(),
                raw.hex().upper().encode(),
                base64.b64encode(raw),
                base64.urlsafe_b64encode(raw).rstrip(b"="),
            ]
    return secrets


def test_cli_demo_output_carries_no_key_material(tmp_path: Path) -> None:
    """A full run through the CLI: its whole output holds no private key bytes (raw, hex
    or base64) and no passphrase."""
    from cli import main

    out = tmp_path / "demo"
    result = CliRunner().invoke(
        main, ["demo", "--sample-world", "--out", str(out)], catch_exceptions=False
    )
    captured = (result.output + (result.stderr if result.stderr_bytes else "")).encode()
    secrets = _key_material(out)
    for role in ROLES:
        secrets.append((out / role / "private" / "passphrase").read_bytes().strip())
    assert secrets
    leaked = [hashlib.sha256(s).hexdigest()[:8] for s in secrets if s in captured]
    assert leaked == []
    assert "blindlink demo" in result.output
