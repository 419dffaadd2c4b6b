"""The ``link`` command: a thin shell over the library.

Each command parses options, loads the engagement, calls one library function and prints
a summary. Library errors become ``click.ClickException``: one clear line, non-zero exit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from hashing import __version__
from hashing.errors import BlindlinkError

F = TypeVar("F", bound=Callable[..., Any])


def library_errors(func: F) -> F:
    """Turn a ``BlindlinkError`` raised by the library into a one-line CLI failure."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BlindlinkError as e:
            raise click.ClickException(str(e)) from e

    return wrapper  # type: ignore[return-value]


ROLES = ("campaign", "operator", "matcher", "measurement", "auditor")


class RoleGroup(click.Group):
    """A click group that also accepts ``link --role NAME ...`` for ``link NAME ...``.

    The design speaks of ``link --role matcher``; both spellings run the same command.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = list(args)
        for i, arg in enumerate(args):
            if arg == "--role" and i + 1 < len(args):
                role = args[i + 1]
                if role not in ROLES:
                    raise click.UsageError(
                        f"unknown role '{role}'; choose one of: {', '.join(ROLES)}", ctx
                    )
                args[i : i + 2] = [role]
                break
            if arg.startswith("--role="):
                args[i : i + 1] = [arg.split("=", 1)[1]]
                break
            if not arg.startswith("-"):
                break
        return super().parse_args(ctx, args)


@click.group(cls=RoleGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="blindlink")
def main() -> None:
    """blindlink: privacy-preserving record linkage for audience measurement.

    \b
    Roles (one command each, driven by one shared engagement file;
    `link --role NAME` is the same as `link NAME`):
      campaign     voter file -> keyed tokens + sealed segment labels
      operator     subscriber file -> keyed tokens + sealed box lists
      matcher      token files -> households and members (sealed only) + match report
      measurement  households + viewing log -> aggregate viewership
      auditor      every artifact that crossed a boundary -> audit verdict
    """


@main.group()
def samples() -> None:
    """Generate and inspect the synthetic multi-party world."""


@samples.command("generate")
@click.option("--voters", type=click.IntRange(min=10), default=2000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@library_errors
def samples_generate(voters: int, seed: int, days: int, out_dir: Path) -> None:
    """Write a seeded synthetic world (voter, subscriber, box, viewing files + truth).

    Example: link samples generate --voters 100000 --seed 1 --out world/
    """
    raise click.ClickException("not built yet")


@main.command()
def demo() -> None:
    """Run the whole pipeline on the embedded sample world."""
    raise click.ClickException("not built yet")


if __name__ == "__main__":
    main()
