"""Engagement-wide checks of ``linkage.audit.exchange``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from linkage.audit import audit_exchange
from linkage.audit.exchange import (
    ExchangeView,
    duplicate_findings,
    engagement_findings,
    fingerprint_findings,
    graph_findings,
    linkage_findings,
)
from tests.linkage.audit import world as w


def _m(
    kind: str, producer: str, recipients: list[str], fp: str = "FP-A", aid: str = "1"
) -> dict[str, Any]:
    return {
        "kind": kind,
        "producer_role": producer,
        "recipients": recipients,
        "producer_fingerprint": fp,
        "artifact_id": aid,
    }


def test_forbidden_deliveries() -> None:
    manifests = [
        ("ok", _m("tokens", "campaign", ["matcher"])),
        ("a", _m("households", "matcher", ["measurement", "campaign"])),
        ("b", _m("tokens", "operator", ["measurement"])),
        ("c", _m("viewing_log", "measurement", ["matcher"])),
        ("d", _m("viewership", "measurement", ["operator"])),
    ]
    found = graph_findings(manifests)
    assert sorted(f.artifact for f in found) == ["a", "b", "c", "d"]
    assert all(f.check == "exchange.graph" for f in found)


def test_unknown_kinds_are_not_echoed_unless_plain() -> None:
    (finding,) = graph_findings([("x", _m("jane@example.org", "matcher", ["campaign"]))])
    assert "jane" not in finding.note


def test_one_producer_one_key_two_producers_two_keys() -> None:
    manifests = [
        ("t1", _m("tokens", "campaign", ["matcher"], "FP-A")),
        ("t2", _m("campaign_payloads", "campaign", ["matcher"], "FP-A")),
        ("t3", _m("tokens", "campaign", ["matcher"], "FP-B")),
        ("o1", _m("tokens", "operator", ["matcher"], "FP-A")),
    ]
    found = {(f.artifact, f.check) for f in fingerprint_findings(manifests)}
    assert found == {("t3", "exchange.fingerprint"), ("o1", "exchange.fingerprint_shared")}


def test_duplicate_artifact_ids() -> None:
    manifests = [
        ("a", _m("tokens", "campaign", ["matcher"], aid="x")),
        ("b", _m("tokens", "campaign", ["matcher"], aid="x")),
    ]
    assert [f.artifact for f in duplicate_findings(manifests)] == ["b"]


def test_engagement_rules_with_an_injected_lint() -> None:
    class R:
        def __init__(self, name: str) -> None:
            self.name = name

    ctx = w.context(k_min=9, recipes=(R("zip"), R("email")))
    found = engagement_findings(ctx, lambda r: "too weak" if r.name == "zip" else None)
    assert {(f.check, f.note) for f in found} == {
        ("engagement.k_min", "k_min below 10"),
        ("engagement.recipe_lint", "recipe zip: too weak"),
    }


def test_linkage_across_artifacts() -> None:
    refs = pl.Series([bytes([i]) * 16 for i in range(10)])
    tokens = pl.Series([bytes([i]) * 32 for i in range(10)])
    view = ExchangeView(refs=[refs], tokens=[tokens])
    view.outputs.append(("members", "household", pl.Series([refs[0], refs[1], b"z" * 16])))
    view.outputs.append(("households", "sealed_boxes", pl.Series([tokens[3], b"q" * 292])))
    view.households.append(pl.Series([b"h" * 16]))
    view.members.append(("members", pl.Series([b"h" * 16, b"k" * 16, b"k" * 16])))
    found = {(f.artifact, f.check, f.count) for f in linkage_findings(view)}
    assert found == {
        ("members", "exchange.ref_reuse", 2),
        ("households", "exchange.token_reuse", 1),
        ("members", "exchange.orphan_household", 2),
    }


def test_the_clean_exchange_with_sources_is_clean(tmp_path: Path) -> None:
    world = w.clean_world()
    paths = world.write(tmp_path / "out")
    sources = world.write_sources(tmp_path / "src")
    report = audit_exchange(paths, context=w.context(), sources=sources)
    assert report.findings == [] and report.problems == [] and report.skipped == []
    assert report.exit_code == 0
    assert {a.kind for a in report.artifacts} == {
        "tokens",
        "campaign_payloads",
        "operator_payloads",
        "households",
        "members",
        "match_report",
        "viewership",
        "segment_summary",
    }
