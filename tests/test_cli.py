"""The ``link`` command's shell: help, version and error handling."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from cli import main
from hashing import __version__

ROOT = Path(__file__).resolve().parent.parent


def test_version_prints_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"], catch_exceptions=False)
    assert result.exit_code == 0
    assert __version__ in result.output


def test_help_lists_every_role() -> None:
    result = CliRunner().invoke(main, ["--help"], catch_exceptions=False)
    assert result.exit_code == 0
    for role in ("campaign", "operator", "matcher", "measurement", "auditor"):
        assert role in result.output


def _run_executable(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The ``link`` program as a user starts it (the ``entry`` function, a real process)."""
    code = "import sys, cli; sys.argv[0] = 'link'; cli.entry()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )


def test_the_executable_exits_with_the_commands_status_and_all_its_output(
    tmp_path: Path,
) -> None:
    done = _run_executable("--version", tmp_path=tmp_path)
    assert done.returncode == 0
    assert __version__ in done.stdout
    helped = _run_executable("--help", tmp_path=tmp_path)
    assert helped.returncode == 0
    # Every line reached the pipe before the process left: down to the last command.
    commands = sorted(main.list_commands(click.Context(main)))
    assert helped.stdout.splitlines()[-1].split()[0] == commands[-1]


def test_the_executable_reports_a_failure_in_one_line_and_exits_non_zero(
    tmp_path: Path,
) -> None:
    failed = _run_executable(
        "--role",
        "campaign",
        "--engagement",
        str(tmp_path / "missing.toml"),
        "--workspace",
        str(tmp_path / "ws"),
        "--input",
        str(tmp_path / "voters.csv"),
        tmp_path=tmp_path,
    )
    assert failed.returncode != 0
    assert "Traceback" not in failed.stderr
    assert failed.stderr.strip()  # the error line was flushed before the fast exit
