"""The ``link`` command: a thin shell over the library.

Each command parses options, loads the engagement, calls one library function and prints
a summary. Library errors become ``click.ClickException``: one clear line, non-zero exit.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from hashing import __version__
from hashing.errors import BlindlinkError

# numpy's BLAS starts a thread per core that spins for about a tenth of a second after
# import, on cores the real work needs; nothing here does linear algebra big enough to
# gain from it. Set before numpy is first imported (the library imports it lazily);
# an explicit setting by the user wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

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


# -- shared options -------------------------------------------------------------------

engagement_option = click.option(
    "--engagement",
    "engagement_path",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The engagement file all parties share (TOML; holds no secrets).",
)
workspace_option = click.option(
    "--workspace",
    "workspace_root",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="This party's workspace (private/, outbox/, inbox/).",
)
passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="File holding the passphrase of the identity key (else $BLINDLINK_PASSPHRASE, "
    "else a prompt). Never given on the command line.",
)


def _unlock(workspace_root: Path, role: str, passphrase_file: Path | None) -> tuple[Any, Any]:
    from hashing.keys import read_passphrase
    from hashing.workspace import Workspace

    ws = Workspace.open(workspace_root, role)
    if passphrase_file is None and ws.passphrase_path.exists():
        passphrase_file = ws.passphrase_path
    passphrase = read_passphrase(file=passphrase_file, prompt=sys.stdin.isatty())
    return ws, ws.load_identity(passphrase)


class StepBar:
    """A progress bar over the named steps of a long job, on stderr.

    Steps are announced by name (never with data), so the bar can be shown anywhere.
    """

    def __init__(self, label: str, steps: int) -> None:
        self._bar = click.progressbar(
            length=steps,
            label=label,
            file=sys.stderr,
            show_eta=False,
            show_percent=False,
            show_pos=True,
            item_show_func=lambda item: item,
        )
        self._done = 0

    def __enter__(self) -> StepBar:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)  # type: ignore[arg-type]

    def step(self, name: str) -> None:
        self._done += 1
        self._bar.update(1, name)


def _with(options: list[Any]) -> Any:
    def wrap(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return wrap


def _print_counts(title: str, counts: dict[str, int]) -> None:
    if counts:
        click.echo(f"  {title}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


# -- samples --------------------------------------------------------------------------


@main.group()
def samples() -> None:
    """Generate and inspect the synthetic multi-party world."""


@samples.command("generate")
@click.option("--voters", type=click.IntRange(min=10), default=2000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--noise",
    type=click.FloatRange(min=0.0),
    default=1.0,
    show_default=True,
    help="Scale of the disagreement between the files (0: none; 1: realistic).",
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@library_errors
def samples_generate(voters: int, seed: int, days: int, noise: float, out_dir: Path) -> None:
    """Write a seeded synthetic world: voter, subscriber, box and viewing files, and the
    ground truth in truth/ (which no role reads).

    Example: link samples generate --voters 100000 --seed 1 --out world/
    """
    from samples.generate import generate_world

    summary = generate_world(out_dir, voters=voters, seed=seed, days=days, noise=noise)
    click.echo(f"wrote a synthetic world to {out_dir}")
    for key, value in summary.to_dict().items():
        click.echo(f"  {key:>12}: {value:,}" if isinstance(value, int) else f"  {key}: {value}")


# -- keys -----------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Create a party's identity keys and export its public bundle."""


@keys.command("new")
@click.option("--role", type=click.Choice(ROLES), required=True)
@workspace_option
@passphrase_option
@library_errors
def keys_new(role: str, workspace_root: Path, passphrase_file: Path | None) -> None:
    """Create the workspace of ROLE and its identity (Ed25519 + X25519), encrypted at rest.

    Example: link keys new --role campaign --workspace ws/campaign (the passphrase comes
    from $BLINDLINK_PASSPHRASE, --passphrase-file or a prompt)
    """
    from hashing.keys import read_passphrase
    from hashing.workspace import Workspace

    passphrase = read_passphrase(file=passphrase_file, prompt=sys.stdin.isatty())
    ws = Workspace.create(workspace_root, role)
    identity = ws.new_identity(passphrase)
    click.echo(f"{role} identity written to {ws.identity_path} (mode 0600)")
    click.echo(f"public bundle: {ws.bundle_path}")
    click.echo(f"fingerprint:   {identity.fingerprint}")


@keys.command("export")
@workspace_option
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), required=True)
@library_errors
def keys_export(workspace_root: Path, out_path: Path) -> None:
    """Copy this party's public bundle to OUT and print its fingerprint to read out.

    Example: link keys export --workspace ws/campaign --out shared/keys/campaign.pub.json
    """
    from hashing.keys import PublicBundle
    from hashing.workspace import Workspace

    ws = Workspace.open(workspace_root)
    bundle = PublicBundle.load(ws.bundle_path)
    bundle.export(out_path)
    click.echo(f"{bundle.role} public bundle written to {out_path}")
    click.echo(f"fingerprint: {bundle.fingerprint}")


# -- list owners ----------------------------------------------------------------------


def _run_list_owner(
    role: str,
    engagement_path: Path,
    workspace_root: Path,
    input_path: Path,
    passphrase_file: Path | None,
    boxes_path: Path | None = None,
) -> None:
    from hashing.engagement import load_engagement
    from hashing.party import run_party

    engagement = load_engagement(engagement_path)
    ws, identity = _unlock(workspace_root, role, passphrase_file)
    with StepBar(role, 5) as bar:
        summary = run_party(
            engagement, role, input_path, ws, identity, boxes_path=boxes_path, progress=bar.step
        )
    click.echo(f"{role}: {summary.rows_in:,} rows in")
    click.echo(
        f"  tokenized {summary.rows_tokenized:,} + quarantined {summary.rows_quarantined:,}"
        f" = {summary.rows_tokenized + summary.rows_quarantined:,}"
        + (" (reconciles)" if summary.reconciles else " (DOES NOT RECONCILE)")
    )
    _print_counts("quarantined by reason", summary.quarantine_reasons)
    _print_counts("tokens per recipe", summary.tokens_per_recipe)
    _print_counts("dropped by the frequency guard", summary.dropped_by_frequency_guard)
    _print_counts("notes", summary.notes)
    click.echo(f"  outbox: {', '.join(summary.artifacts)}")


input_option = click.option(
    "--input",
    "input_path",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The party's own file (CSV or Parquet; columns as the engagement maps them).",
)


@main.command()
@engagement_option
@workspace_option
@input_option
@passphrase_option
@library_errors
def campaign(
    engagement_path: Path, workspace_root: Path, input_path: Path, passphrase_file: Path | None
) -> None:
    """Turn the voter file into keyed tokens and sealed segment labels for the matcher.

    Example: link --role campaign --engagement engagement.toml --workspace ws/campaign
    --input voters.csv
    """
    _run_list_owner("campaign", engagement_path, workspace_root, input_path, passphrase_file)


@main.command()
@engagement_option
@workspace_option
@input_option
@click.option(
    "--boxes",
    "boxes_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The account → box ID file, when box IDs are not a column of the input.",
)
@passphrase_option
@library_errors
def operator(
    engagement_path: Path,
    workspace_root: Path,
    input_path: Path,
    boxes_path: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Turn the subscriber file into keyed tokens and sealed box lists for the matcher.

    Example: link --role operator --engagement engagement.toml --workspace ws/operator
    --input subscribers.csv --boxes boxes.csv
    """
    _run_list_owner(
        "operator", engagement_path, workspace_root, input_path, passphrase_file, boxes_path
    )


# -- moving artifacts -----------------------------------------------------------------


@main.command()
@click.argument("name")
@click.option("--from", "src", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--to", "dest", type=click.Path(path_type=Path, file_okay=False), required=True)
@library_errors
def send(name: str, src: Path, dest: Path) -> None:
    """Deliver artifact NAME from a workspace's outbox to another's inbox/incoming.

    Example: link send campaign.tokens --from ws/campaign --to ws/matcher
    """
    from hashing.workspace import Workspace
    from hashing.workspace import send as deliver

    src_ws, dest_ws = Workspace.open(src), Workspace.open(dest)
    deliver(src_ws, name, dest_ws)
    click.echo(f"delivered {name} from {src_ws.role} to {dest_ws.role} (awaiting receive)")


@main.command()
@click.argument("name")
@engagement_option
@workspace_option
@click.option("--kind", required=True, help="The artifact kind expected (e.g. tokens).")
@click.option("--producer", type=click.Choice(ROLES), required=True, help="Expected producer.")
@library_errors
def receive(
    name: str, engagement_path: Path, workspace_root: Path, kind: str, producer: str
) -> None:
    """Verify a delivered artifact (signature, digest, engagement, recipient, kind, replay)
    and accept it into the inbox, or move it aside under inbox/rejected/.

    Example: link receive campaign.tokens --engagement e.toml --workspace ws/matcher
    --kind tokens --producer campaign
    """
    from hashing.engagement import load_engagement
    from hashing.party import party_bundle
    from hashing.workspace import Workspace
    from hashing.workspace import receive as accept

    engagement = load_engagement(engagement_path)
    ws = Workspace.open(workspace_root)
    bundle = party_bundle(engagement, producer)
    m = accept(ws, name, engagement_id=engagement.engagement_id, kind=kind, producer_bundle=bundle)
    click.echo(f"accepted {name}: {kind} from {producer}, {m.row_count:,} rows, signature valid")


# -- join side ------------------------------------------------------------------------


@main.command()
@engagement_option
@workspace_option
@click.option(
    "--mode",
    type=click.Choice(["fellegi_sunter", "waterfall"]),
    default=None,
    help="Override the engagement's matching mode.",
)
@passphrase_option
@library_errors
def matcher(
    engagement_path: Path, workspace_root: Path, mode: str | None, passphrase_file: Path | None
) -> None:
    """Match the campaign's and operator's token files (received into the inbox) and
    publish households and members for measurement and the match report for both owners.

    Example: link --role matcher --engagement engagement.toml --workspace ws/matcher
    """
    from hashing.engagement import load_engagement
    from linkage.roles import run_matcher

    engagement = load_engagement(engagement_path)
    ws, identity = _unlock(workspace_root, "matcher", passphrase_file)
    s = run_matcher(engagement, ws, identity, mode=mode)
    click.echo(f"matcher: {s.campaign_records:,} campaign records, {s.operator_records:,} accounts")
    click.echo(
        f"  matched {s.matched_voters:,} voters into {s.matched_households:,} households"
        f" (match rate {s.report.get('match_rate', 0.0):.1%})"
    )
    _print_counts("unmatched by reason", s.unmatched)


@main.command()
@engagement_option
@workspace_option
@click.option(
    "--viewing",
    "viewing_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The measurement party's own tune-event log (CSV or Parquet).",
)
@passphrase_option
@library_errors
def measurement(
    engagement_path: Path, workspace_root: Path, viewing_path: Path, passphrase_file: Path | None
) -> None:
    """Unseal the matcher's households and members, credit quarter-hours from the viewing
    log, and publish aggregate viewership (k-minimum, optional DP) to the campaign.

    Example: link --role measurement --engagement engagement.toml --workspace ws/measurement
    --viewing viewing.parquet
    """
    from hashing.engagement import load_engagement
    from linkage.roles import run_measurement

    engagement = load_engagement(engagement_path)
    ws, identity = _unlock(workspace_root, "measurement", passphrase_file)
    s = run_measurement(engagement, ws, identity, viewing_path)
    click.echo(
        f"measurement: {s.households:,} households, {s.members:,} members,"
        f" {s.viewing_events:,} tune events"
    )
    click.echo(
        f"  published {s.cells:,} cells, {s.suppressed_cells:,} suppressed under k;"
        f" epsilon spent {s.epsilon:g}"
    )


def _audit(
    paths: tuple[Path, ...],
    engagement_path: Path,
    sources: tuple[Path, ...],
    as_json: bool,
    whole_exchange: bool,
) -> None:
    from hashing.engagement import load_engagement
    from linkage.audit import AuditContext, audit_exchange, audit_paths

    engagement = load_engagement(engagement_path)
    context = AuditContext.from_engagement(engagement)
    run = audit_exchange if whole_exchange else audit_paths
    report = run(list(paths), context=context, sources=list(sources))
    click.echo(report.to_json() if as_json else report.to_text())
    sys.exit(report.exit_code)


audit_options = [
    click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True)),
    engagement_option,
    click.option(
        "--source",
        "sources",
        multiple=True,
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        help="A party's input shown to the auditor: its values and their unkeyed "
        "hashes are searched for in every artifact. Repeatable.",
    ),
    click.option("--json", "as_json", is_flag=True, help="Machine-readable report."),
]


@main.command()
@_with(audit_options)
@click.option(
    "--exchange/--artifacts",
    "whole_exchange",
    default=True,
    show_default=True,
    help="Also check the exchange as a whole (graph, fingerprints, recipe lint, k).",
)
@library_errors
def audit(
    paths: tuple[Path, ...],
    engagement_path: Path,
    sources: tuple[Path, ...],
    as_json: bool,
    whole_exchange: bool,
) -> None:
    """Check artifacts (files or folders) for PII and policy breaches. Exit 0 clean,
    1 findings, 2 could not audit. Findings name artifact, column, check and count.

    Example: link audit --engagement engagement.toml ws/auditor/inbox/ --json
    """
    _audit(paths, engagement_path, sources, as_json, whole_exchange)


@main.command()
@_with(audit_options)
@library_errors
def auditor(
    paths: tuple[Path, ...], engagement_path: Path, sources: tuple[Path, ...], as_json: bool
) -> None:
    """The auditor's role: audit every artifact of an engagement's exchange (same as
    ``link audit --exchange``).

    Example: link --role auditor --engagement engagement.toml ws/auditor/inbox/
    """
    _audit(paths, engagement_path, sources, as_json, True)


@main.command()
@click.option("--matcher", "matcher_ws", type=click.Path(path_type=Path), required=True)
@click.option("--campaign", "campaign_ws", type=click.Path(path_type=Path), required=True)
@click.option("--operator", "operator_ws", type=click.Path(path_type=Path), required=True)
@click.option(
    "--truth",
    "truth_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder with voters.csv and accounts.csv mapping record IDs to household IDs.",
)
@click.option(
    "--link-type", type=click.Choice(["many_to_one", "one_to_one"]), default="many_to_one"
)
@library_errors
def evaluate(
    matcher_ws: Path, campaign_ws: Path, operator_ws: Path, truth_dir: Path, link_type: str
) -> None:
    """Precision, recall and F1 of a match against ground truth, overall and per recipe —
    for test data only (it reads the private files of three parties together).

    Example: link evaluate --matcher demo-out/matcher --campaign demo-out/campaign
    --operator demo-out/operator --truth demo-out/world/truth
    """
    from linkage.evaluate_run import evaluate_run

    result = evaluate_run(
        matcher_ws,
        campaign_ws,
        operator_ws,
        truth_dir,
        link_type=link_type,  # type: ignore[arg-type]
    )
    click.echo(f"evaluation ({result.level})")
    click.echo(f"  {'scope':<14}{'matched':>9}{'precision':>11}{'recall':>9}{'f1':>8}")
    for row in result.frame.iter_rows(named=True):

        def pct(x: float | None) -> str:
            return "-" if x is None else f"{x:.2%}"

        click.echo(
            f"  {row['scope']:<14}{row['matched']:>9,}{pct(row['precision']):>11}"
            f"{pct(row['recall']):>9}{pct(row['f1']):>8}"
        )


def _campaign_results(engagement_path: Path, workspace_root: Path) -> tuple[Any, Any]:
    from hashing.engagement import load_engagement
    from hashing.workspace import Workspace
    from linkage.roles import read_results

    engagement = load_engagement(engagement_path)
    return engagement, read_results(engagement, Workspace.open(workspace_root, "campaign"))


plan_options = [
    click.option(
        "--rate-card",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        default=None,
        help="Cost of a 30-second spot per channel x daypart (default: the sample card).",
    ),
    click.option("--budget", type=click.FloatRange(min=0.0), default=50000.0, show_default=True),
    click.option("--segment", default="persuadable", show_default=True),
    click.option("--band", default="light", show_default=True),
    click.option("--method", type=click.Choice(["greedy", "exact"]), default="greedy"),
]


@main.command()
@engagement_option
@workspace_option
@_with(plan_options)
@library_errors
def plan(
    engagement_path: Path,
    workspace_root: Path,
    rate_card: Path | None,
    budget: float,
    segment: str,
    band: str,
    method: str,
) -> None:
    """Rank quarter-hour slots by cost per thousand target households and choose a buy
    within the budget; compare it with a naive buy of the most-watched slots.

    Example: link plan --engagement engagement.toml --workspace ws/campaign --budget 50000
    --segment persuadable --band light
    """
    from linkage.plan import compare_plans, load_rate_card

    _, results = _campaign_results(engagement_path, workspace_root)
    comparison = compare_plans(
        results["viewership"],
        load_rate_card(rate_card),
        segment=segment,
        band=band,
        budget=budget,
        method=method,  # type: ignore[arg-type]
    )
    with pl_config():
        click.echo(comparison.plan.slots)
        click.echo(comparison.table())
    click.echo(f"naive / targeted cost per target impression: {comparison.ratio:.2f}x")


@main.command()
@engagement_option
@workspace_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder for report.html and the tables (CSV and Parquet).",
)
@click.option(
    "--channels",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="channel, name[, genre] table for readable labels.",
)
@_with(plan_options)
@library_errors
def report(
    engagement_path: Path,
    workspace_root: Path,
    out_dir: Path,
    channels: Path | None,
    rate_card: Path | None,
    budget: float,
    segment: str,
    band: str,
    method: str,
) -> None:
    """Write the campaign's self-contained offline HTML report (match rates, heatmaps of
    target audience by channel x quarter-hour, best slots, the plan) and its tables.

    Example: link report --engagement engagement.toml --workspace ws/campaign --out report/
    """
    import polars as pl

    from linkage.plan import compare_plans, load_rate_card
    from linkage.report import render_report

    engagement, results = _campaign_results(engagement_path, workspace_root)
    comparison = compare_plans(
        results["viewership"],
        load_rate_card(rate_card),
        segment=segment,
        band=band,
        budget=budget,
        method=method,  # type: ignore[arg-type]
    )
    path = render_report(
        results["viewership"],
        results["segment_summary"],
        results["match_report"],
        channels=pl.read_csv(channels) if channels else None,
        plan=comparison,
        out_dir=out_dir,
        k_min=engagement.privacy.k_min,
        target=(segment, band),
    )
    click.echo(f"report written to {path} (tables beside it)")


def pl_config() -> Any:
    import polars as pl

    return pl.Config(tbl_rows=30, tbl_cols=12, tbl_width_chars=120)


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-out"),
    show_default=True,
    help="Folder for the five workspaces (emptied first).",
)
@click.option(
    "--voters",
    type=click.IntRange(min=100),
    default=60000,
    show_default=True,
    help="Size of the generated world.",
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--days", type=click.IntRange(min=1, max=28), default=7, show_default=True)
@click.option(
    "--sample-world",
    is_flag=True,
    help="Use the small committed world in samples/world instead of generating one "
    "(at ~2,000 voters nearly every audience cell falls under k and is suppressed).",
)
@library_errors
def demo(out_dir: Path, voters: int, seed: int, days: int, sample_world: bool) -> None:
    """Run the whole pipeline on a synthetic world, each party in its own workspace, and
    tell what each party held, sent and learned.

    Example: link demo --voters 60000 --seed 7 --out demo-out
    """
    from linkage.demo import DemoStepError, run_demo
    from linkage.narrative import narrate

    try:
        with StepBar("demo", 8) as bar:
            result = run_demo(
                out_dir,
                voters=None if sample_world else voters,
                seed=seed,
                days=days,
                say=bar.step,
            )
    except DemoStepError as e:
        raise click.ClickException(str(e)) from e
    click.echo(narrate(result))
    verdict_ok = getattr(result.audit, "exit_code", 1) == 0
    if not verdict_ok:
        raise click.ClickException("the audit found problems: see the audit section above")


def entry() -> None:
    """The ``link`` executable: run one command, then leave without tearing the heap down.

    A list owner's run ends holding a gigabyte or more of columns; finalizing the
    interpreter object by object, and the libraries' thread pools, adds 0.1–0.3 s to
    every command after its work is done and its artifacts are synced. So once the
    command has finished — successfully or with its one-line error — the output streams
    and logs are flushed and the process exits at once with the command's status. An
    unexpected exception is left to the normal exit, traceback and all.
    (``main`` itself stays a plain click group, for tests and for embedding.)
    """
    try:
        main()
    except SystemExit as done:
        code = done.code
    else:  # pragma: no cover - click's standalone mode always ends with SystemExit
        code = 0
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message goes to stderr, status 1
        print(code, file=sys.stderr)
        status = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe or stream: nothing more can be said on it.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    entry()
