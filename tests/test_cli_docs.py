"""Every command of ``link`` is documented: an example in its --help, a row in docs/cli.md."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
from click.testing import CliRunner

from cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_there_are_commands_to_check() -> None:
    assert len(list(_commands(main))) >= 15


def test_every_command_has_an_example_in_its_help() -> None:
    missing = []
    for path in _commands(main):
        result = CliRunner().invoke(main, [*path, "--help"], catch_exceptions=False)
        assert result.exit_code == 0
        if "Example: link " not in " ".join(result.output.split()):
            missing.append(" ".join(path))
    assert missing == []


def test_every_command_is_in_the_cli_reference() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [" ".join(p) for p in _commands(main) if f"`link {' '.join(p)}`" not in text]
    assert missing == []


def test_role_spelling_runs_the_same_command() -> None:
    direct = CliRunner().invoke(main, ["matcher", "--help"], catch_exceptions=False)
    via_role = CliRunner().invoke(main, ["--role", "matcher", "--help"], catch_exceptions=False)
    assert direct.exit_code == via_role.exit_code == 0
    assert direct.output == via_role.output


def test_an_unknown_role_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["--role", "spy"])
    assert result.exit_code == 2
    assert "unknown role" in result.output
