"""Findings, verdicts, exit codes and the two report formats."""

from __future__ import annotations

import json

from linkage.audit import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    AuditReport,
    Finding,
    Problem,
    Severity,
    Verdict,
    exit_code,
)


def _finding(check: str = "pii.email", severity: Severity = Severity.ERROR) -> Finding:
    return Finding("a.parquet", "note", check, 3, severity, "why")


def test_verdicts_and_exit_codes() -> None:
    report = AuditReport("eng")
    assert (report.verdict, exit_code(report)) == (Verdict.CLEAN, EXIT_CLEAN)
    report.findings.append(_finding(severity=Severity.WARNING))
    assert (report.verdict, report.exit_code) == (Verdict.FINDINGS, EXIT_FINDINGS)
    report.problems.append(Problem("b.parquet", "unreadable Parquet file (OSError)"))
    assert (report.verdict, report.exit_code) == (Verdict.INCOMPLETE, EXIT_INCOMPLETE)


def test_json_format() -> None:
    report = AuditReport("eng", skipped=["signature"])
    report.findings += [_finding("token.null", Severity.WARNING), _finding("pii.email")]
    data = json.loads(report.to_json())
    assert data["format"] == "blindlink-audit/1"
    assert data["verdict"] == "findings" and data["exit_code"] == 1
    assert data["summary"] == {
        "artifacts": 0,
        "findings": 2,
        "errors": 1,
        "warnings": 1,
        "problems": 0,
    }
    # errors first
    assert [f["check"] for f in data["findings"]] == ["pii.email", "token.null"]
    assert data["findings"][0] == {
        "artifact": "a.parquet",
        "column": "note",
        "check": "pii.email",
        "count": 3,
        "severity": "error",
        "note": "why",
    }
    assert data["skipped"] == ["signature"]


def test_text_names_every_finding_and_the_verdict() -> None:
    report = AuditReport("eng")
    report.findings.append(_finding())
    report.problems.append(Problem("b.parquet", "no such file"))
    text = report.to_text()
    assert "pii.email" in text and "a.parquet" in text and "count 3" in text
    assert "COULD NOT AUDIT b.parquet" in text
    assert text.endswith("verdict: incomplete (exit 2)")


def test_extend_merges_reports() -> None:
    a, b = AuditReport("eng"), AuditReport("eng", skipped=["signature"])
    b.findings.append(_finding())
    a.extend(b)
    a.extend(b)
    assert len(a.findings) == 2 and a.skipped == ["signature"] and a.checks() == {"pii.email"}
