"""The whole pipeline on a synthetic world, every party in its own workspace.

``run_demo`` plays all five parties in turn, the way five organizations would: each has a
separate workspace folder and reads only its own; artifacts move between them only by
``send`` (outbox → inbox/incoming) and ``receive`` (verify, then accept). It is what
``link demo`` and ``make demo`` run, and what the end-to-end test checks.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hashing.engagement import Engagement, load_engagement
from hashing.keys import ScryptParams, new_passphrase, write_passphrase_file
from hashing.party import PartySummary, party_bundle, run_party
from hashing.workspace import Workspace, receive, send
from linkage import roles

ROLES = ("campaign", "operator", "matcher", "measurement", "auditor")
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_WORLD = SAMPLES / "world"
SAMPLE_ENGAGEMENT = SAMPLES / "engagement.toml"

Say = Callable[[str], None]


@dataclass
class DemoResult:
    """Everything the demo's narrative prints, as counts and aggregate tables."""

    out_dir: Path
    engagement: Engagement
    fingerprints: dict[str, str] = field(default_factory=dict)
    parties: dict[str, PartySummary] = field(default_factory=dict)
    matcher: roles.MatcherSummary | None = None
    measurement: roles.MeasurementSummary | None = None
    results: dict[str, pl.DataFrame] = field(default_factory=dict)
    exchanged: list[Path] = field(default_factory=list)
    audit: object | None = None
    plan: object | None = None
    report_path: Path | None = None


class DemoStepError(Exception):
    """A demo step failed; ``step`` names it, the cause is chained."""

    def __init__(self, step: str, cause: Exception) -> None:
        self.step = step
        super().__init__(f"demo step '{step}' failed: {cause}")


def _deliver(
    engagement: Engagement,
    spaces: dict[str, Workspace],
    src: str,
    dest: str,
    name: str,
    kind: str,
) -> Path:
    send(spaces[src], name, spaces[dest])
    receive(
        spaces[dest],
        name,
        engagement_id=engagement.engagement_id,
        kind=kind,
        producer_bundle=party_bundle(engagement, src),
    )
    return spaces[dest].inbox / name


def prepare_world(out_dir: Path, *, voters: int | None, seed: int, days: int) -> Path:
    """The committed sample world, or a freshly generated one when ``voters`` is given."""
    if voters is None:
        return SAMPLE_WORLD
    from samples.generate import generate_world

    world = out_dir / "world"
    generate_world(world, voters=voters, seed=seed, days=days)
    return world


def run_demo(
    out_dir: Path,
    *,
    voters: int | None = None,
    seed: int = 7,
    days: int = 7,
    say: Say | None = None,
    scrypt: ScryptParams | None = None,
    engagement_path: Path | None = None,
) -> DemoResult:
    """Run campaign → operator → matcher → measurement → campaign results → audit.

    ``out_dir`` is emptied first. ``engagement_path`` defaults to the sample engagement;
    its ``keys/`` bundles are created here. Parties' passphrases are random and kept in each
    party's ``private/passphrase`` (mode 0600), as an unattended installation would.
    """
    tell = say or (lambda _msg: None)
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)

    step = "world"
    try:
        world = prepare_world(out_dir, voters=voters, seed=seed, days=days)
        tell(f"world: {world}")

        step = "keys"
        shared = out_dir / "shared"
        (shared / "keys").mkdir(parents=True)
        shutil.copyfile(engagement_path or SAMPLE_ENGAGEMENT, shared / "engagement.toml")
        spaces: dict[str, Workspace] = {}
        identities = {}
        fingerprints = {}
        for role in ROLES:
            ws = Workspace.create(out_dir / role, role)
            passphrase = new_passphrase()
            write_passphrase_file(ws.passphrase_path, passphrase)
            identity = ws.new_identity(passphrase, scrypt=scrypt)
            shutil.copyfile(ws.bundle_path, shared / "keys" / f"{role}.pub.json")
            spaces[role], identities[role] = ws, identity
            fingerprints[role] = identity.fingerprint
        engagement = load_engagement(shared / "engagement.toml")
        result = DemoResult(out_dir=out_dir, engagement=engagement, fingerprints=fingerprints)
        tell("keys: five identities created, public bundles shared")

        # Each list owner's file is its own: copied into its private folder first.
        inputs = {
            "campaign": [world / "campaign" / "voters.csv"],
            "operator": [world / "operator" / "subscribers.csv", world / "operator" / "boxes.csv"],
            "measurement": [world / "measurement" / "viewing.parquet"],
        }
        own: dict[str, list[Path]] = {}
        for role, files in inputs.items():
            own[role] = []
            for f in files:
                target = spaces[role].private / f.name
                shutil.copyfile(f, target)
                own[role].append(target)

        for role in ("campaign", "operator"):
            step = role
            tell(f"{role}: normalizing and tokenizing its own file")
            result.parties[role] = run_party(
                engagement,
                role,
                own[role][0],
                spaces[role],
                identities[role],
                boxes_path=own[role][1] if role == "operator" else None,
            )
            for name, kind in (
                (roles.TOKENS[role], "tokens"),
                (roles.PAYLOADS[role], f"{role}_payloads"),
            ):
                result.exchanged.append(_deliver(engagement, spaces, role, "matcher", name, kind))

        step = "matcher"
        tell("matcher: joining tokens it cannot read")
        result.matcher = roles.run_matcher(engagement, spaces["matcher"], identities["matcher"])
        for dest, name, kind in (
            ("measurement", roles.HOUSEHOLDS, "households"),
            ("measurement", roles.MEMBERS, "members"),
            ("campaign", roles.MATCH_REPORT, "match_report"),
            ("operator", roles.MATCH_REPORT, "match_report"),
        ):
            result.exchanged.append(_deliver(engagement, spaces, "matcher", dest, name, kind))

        step = "measurement"
        tell("measurement: counting audiences of households it cannot name")
        result.measurement = roles.run_measurement(
            engagement, spaces["measurement"], identities["measurement"], own["measurement"][0]
        )
        for name, kind in (
            (roles.VIEWERSHIP, "viewership"),
            (roles.SEGMENT_SUMMARY, "segment_summary"),
        ):
            result.exchanged.append(
                _deliver(engagement, spaces, "measurement", "campaign", name, kind)
            )

        step = "campaign results"
        result.results = roles.read_results(engagement, spaces["campaign"])

        step = "campaign report and plan"
        tell("campaign: report and media plan from the aggregates it received")
        result.plan, result.report_path = _report_and_plan(
            engagement, result.results, spaces["campaign"], world
        )

        step = "audit"
        tell("auditor: checking every artifact that crossed a boundary")
        result.audit = _audit(engagement, result.exchanged, spaces)
    except Exception as e:
        raise DemoStepError(step, e) from e
    return result


def _report_and_plan(
    engagement: Engagement,
    results: dict[str, pl.DataFrame],
    campaign: Workspace,
    world: Path,
    budget: float = 50_000.0,
) -> tuple[object, Path]:
    """The campaign's buy for persuadable light viewers and its offline HTML report."""
    from linkage.plan import compare_plans, load_rate_card
    from linkage.report import render_report

    comparison = compare_plans(
        results["viewership"], load_rate_card(), segment="persuadable", band="light",
        budget=budget,
    )  # fmt: skip
    channels_csv = world / "measurement" / "channels.csv"
    path = render_report(
        results["viewership"],
        results["segment_summary"],
        results["match_report"],
        channels=pl.read_csv(channels_csv) if channels_csv.exists() else None,
        plan=comparison,
        out_dir=campaign.private / "report",
        k_min=engagement.privacy.k_min,
    )
    return comparison, path


def _audit(
    engagement: Engagement,
    exchanged: list[Path],
    spaces: dict[str, Workspace],
) -> object:
    """The auditor receives a copy of every exchanged artifact and audits the exchange."""
    from linkage.audit import AuditContext, audit_exchange

    auditor = spaces["auditor"]
    copies = []
    # An artifact sent to two recipients (the match report) is one artifact: audit it once.
    seen: set[str] = set()
    for path in exchanged:
        if path.name in seen:
            continue
        seen.add(path.name)
        target_dir = auditor.inbox / "audited"
        target_dir.mkdir(parents=True, exist_ok=True)
        for suffix in (".parquet", ".manifest.json"):
            src = path.parent / (path.name + suffix)
            shutil.copyfile(src, target_dir / src.name)
        copies.append(target_dir / (path.name + ".parquet"))
    return audit_exchange(copies, context=AuditContext.from_engagement(engagement))
