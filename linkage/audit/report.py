"""Audit findings and the report that gathers them.

A finding says *where* a rule was broken and *how often* — artifact, column, check and
count — and never *what* the offending value was: the report is meant to be shared, so it
must not become a leak itself. Its optional ``note`` is always text the auditor wrote
(a check's explanation, a source column's name, an encoding), never data.

Exit codes, for gating a pipeline: 0 clean, 1 findings, 2 the audit could not be completed
(an unreadable file, a missing key); an incomplete audit wins over findings because its
silence about the unread artifacts proves nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_INCOMPLETE = 2

NO_COLUMN = "-"


class Severity(StrEnum):
    """How bad a finding is. Both severities fail the audit; the level guides the reader."""

    ERROR = "error"  # PII or recoverable PII crossed a boundary, or a hard rule is broken
    WARNING = "warning"  # suspicious or inconsistent, not by itself a proven leak


class Verdict(StrEnum):
    """The overall outcome of an audit."""

    CLEAN = "clean"
    FINDINGS = "findings"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True, order=True)
class Finding:
    """One broken rule: where, which check, how many rows (or items), how bad.

    ``column`` is ``"-"`` when the finding is about the artifact as a whole, and
    ``"manifest.extra"`` for the manifest's free-form section.
    """

    artifact: str
    column: str
    check: str
    count: int
    severity: Severity = Severity.ERROR
    note: str = ""


@dataclass(frozen=True)
class Problem:
    """Why (part of) an artifact could not be audited. ``reason`` holds no data values."""

    artifact: str
    reason: str


@dataclass(frozen=True)
class ArtifactSummary:
    """What was audited: the artifact, its kind (as declared or inferred) and rows read."""

    artifact: str
    kind: str
    rows: int


@dataclass
class AuditReport:
    """Everything an audit found, with the verdict and the exit code derived from it."""

    engagement_id: str
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    artifacts: list[ArtifactSummary] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def extend(self, other: AuditReport) -> None:
        """Fold another report of the same engagement into this one."""
        self.findings.extend(other.findings)
        self.problems.extend(other.problems)
        self.artifacts.extend(other.artifacts)
        self.skipped.extend(s for s in other.skipped if s not in self.skipped)

    @property
    def verdict(self) -> Verdict:
        """``incomplete`` if anything could not be audited, else ``findings`` or ``clean``."""
        if self.problems:
            return Verdict.INCOMPLETE
        return Verdict.FINDINGS if self.findings else Verdict.CLEAN

    @property
    def exit_code(self) -> int:
        """0 clean, 1 findings, 2 could not audit (see the module docstring)."""
        return {
            Verdict.CLEAN: EXIT_CLEAN,
            Verdict.FINDINGS: EXIT_FINDINGS,
            Verdict.INCOMPLETE: EXIT_INCOMPLETE,
        }[self.verdict]

    def checks(self) -> set[str]:
        """The names of every check that produced a finding."""
        return {f.check for f in self.findings}

    def sorted_findings(self) -> list[Finding]:
        """Findings in a stable order: errors first, then by artifact, column and check."""
        rank = {Severity.ERROR: 0, Severity.WARNING: 1}
        return sorted(
            self.findings, key=lambda f: (rank[f.severity], f.artifact, f.column, f.check)
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (the JSON format documented in ``docs/audit.md``)."""
        findings = self.sorted_findings()
        return {
            "format": "blindlink-audit/1",
            "engagement_id": self.engagement_id,
            "verdict": str(self.verdict),
            "exit_code": self.exit_code,
            "summary": {
                "artifacts": len(self.artifacts),
                "findings": len(findings),
                "errors": sum(f.severity is Severity.ERROR for f in findings),
                "warnings": sum(f.severity is Severity.WARNING for f in findings),
                "problems": len(self.problems),
            },
            "artifacts": [asdict(a) for a in self.artifacts],
            "findings": [{**asdict(f), "severity": str(f.severity)} for f in findings],
            "problems": [asdict(p) for p in self.problems],
            "skipped": list(self.skipped),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    def to_text(self) -> str:
        """The report for a person: one line per artifact, finding and problem."""
        lines = [f"blindlink audit of engagement {self.engagement_id}"]
        for a in self.artifacts:
            lines.append(f"  audited {a.artifact} ({a.kind}, {a.rows} rows)")
        findings = self.sorted_findings()
        if findings:
            lines.append(f"findings ({len(findings)}):")
            width = max(len(f.check) for f in findings)
            for f in findings:
                note = f"  [{f.note}]" if f.note else ""
                lines.append(
                    f"  {f.severity.value.upper():7} {f.check:{width}}  {f.artifact}  "
                    f"column {f.column}  count {f.count}{note}"
                )
        for p in self.problems:
            lines.append(f"  COULD NOT AUDIT {p.artifact}: {p.reason}")
        if self.skipped:
            lines.append("checks not performed: " + ", ".join(self.skipped))
        lines.append(f"verdict: {self.verdict.value} (exit {self.exit_code})")
        return "\n".join(lines)


def exit_code(report: AuditReport) -> int:
    """The process exit status for ``report``: 0 clean, 1 findings, 2 could not audit."""
    return report.exit_code
