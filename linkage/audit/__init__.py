"""The auditor: prove that no PII crossed a boundary.

Every artifact that left a party is checked against the policy of its kind (the frame
contract, producer and recipients, token, reference and sealed-blob shapes, k-minimum on
aggregates), verified (manifest, digest, signature), and searched by PII detectors —
names, emails, phones, SSNs, dates of birth, addresses, also hex-, base64- or URL-encoded,
and, when the auditor is shown a party's input, that input's values and their unkeyed
hashes. Findings name artifact, column, check and count, never a value.

    from linkage.audit import AuditContext, audit_exchange
    report = audit_exchange(["outbox/"], context=AuditContext.from_engagement(engagement))
    print(report.to_text()); raise SystemExit(report.exit_code)

See ``docs/audit.md`` for every check, the JSON format and the limits.
"""

from __future__ import annotations

from linkage.audit.artifact import (
    SignatureUnavailable,
    Verifier,
    audit_paths,
    key_verifier,
    manifest_path,
)
from linkage.audit.checks import audit_frame
from linkage.audit.exchange import audit_exchange
from linkage.audit.policy import POLICIES, AuditContext, KindPolicy
from linkage.audit.report import (
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

__all__ = [
    "EXIT_CLEAN",
    "EXIT_FINDINGS",
    "EXIT_INCOMPLETE",
    "POLICIES",
    "AuditContext",
    "AuditReport",
    "Finding",
    "KindPolicy",
    "Problem",
    "Severity",
    "SignatureUnavailable",
    "Verdict",
    "Verifier",
    "audit_exchange",
    "audit_frame",
    "audit_paths",
    "exit_code",
    "key_verifier",
    "manifest_path",
]
