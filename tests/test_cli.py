"""The ``link`` command's shell: help, version and error handling."""

from __future__ import annotations

from click.testing import CliRunner

from cli import main
from hashing import __version__


def test_version_prints_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"], catch_exceptions=False)
    assert result.exit_code == 0
    assert __version__ in result.output


def test_help_lists_every_role() -> None:
    result = CliRunner().invoke(main, ["--help"], catch_exceptions=False)
    assert result.exit_code == 0
    for role in ("campaign", "operator", "matcher", "measurement", "auditor"):
        assert role in result.output
