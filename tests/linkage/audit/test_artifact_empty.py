"""Auditing a folder that holds no artifact is 'could not audit', never 'clean'."""

from __future__ import annotations

from pathlib import Path

from linkage.audit import EXIT_INCOMPLETE, AuditContext, audit_paths


def test_an_empty_folder_cannot_be_audited_clean(tmp_path: Path) -> None:
    report = audit_paths([tmp_path], context=AuditContext(engagement_id="eng-test"))
    assert report.exit_code == EXIT_INCOMPLETE
    assert report.findings == []
