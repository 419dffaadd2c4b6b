"""The join-side roles as one call each: matcher, measurement, and the campaign's reading
of its results. Each verifies what it receives, calls the keyless library
(``linkage.matching`` / ``linkage.measure``) and publishes signed artifacts.

These functions hold the party's own identity (to sign, and for measurement to unseal),
so they live here and not in the keyless modules, which never see a key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hashing.engagement import Engagement
from hashing.errors import InputError, PolicyError
from hashing.keys import PartyIdentity, seal_key
from hashing.party import party_bundle
from hashing.seal import unseal_box_lists, unseal_labels
from hashing.workspace import Workspace
from linkage.matching import MatchConfig, match
from linkage.measure import MeasureConfig, measure

# Artifact names: one per kind and producer, agreed by every role.
TOKENS = {"campaign": "campaign.tokens", "operator": "operator.tokens"}
PAYLOADS = {"campaign": "campaign.payloads", "operator": "operator.payloads"}
HOUSEHOLDS = "matcher.households"
MEMBERS = "matcher.members"
MATCH_REPORT = "matcher.match_report"
VIEWERSHIP = "measurement.viewership"
SEGMENT_SUMMARY = "measurement.segment_summary"


def _read(
    ws: Workspace, engagement: Engagement, name: str, kind: str, producer: str
) -> pl.DataFrame:
    return ws.read(
        name,
        engagement_id=engagement.engagement_id,
        kind=kind,
        producer_bundle=party_bundle(engagement, producer),
    )


@dataclass(frozen=True)
class MatcherSummary:
    """Counts only: what the matcher's run found (also in the signed match report)."""

    campaign_records: int
    operator_records: int
    matched_voters: int
    matched_households: int
    unmatched: dict[str, int] = field(default_factory=dict)
    report: dict[str, float] = field(default_factory=dict)


def match_config(engagement: Engagement, **overrides: object) -> MatchConfig:
    """The matcher's settings, taken from the engagement file."""
    levels = {r.name: r.level for r in engagement.recipes}
    settings: dict[str, object] = {
        "link_type": engagement.matching.link_type,
        "mode": engagement.matching.mode,
        "min_posterior": engagement.matching.min_posterior,
    }
    settings.update(overrides)
    return MatchConfig.from_levels(levels, **settings)


def run_matcher(
    engagement: Engagement,
    ws: Workspace,
    identity: PartyIdentity,
    *,
    mode: str | None = None,
) -> MatcherSummary:
    """Verify both list owners' artifacts, match, and publish households, members and the
    match report. The ref pairs stay in the matcher's ``private/`` (for evaluation only)."""
    if ws.role != "matcher" or identity.role != "matcher":
        raise PolicyError("the matcher step needs the matcher's workspace and identity")
    frames = {
        (side, kind): _read(ws, engagement, name, kind_name, side)
        for side in ("campaign", "operator")
        for kind, name, kind_name in (
            ("tokens", TOKENS[side], "tokens"),
            ("payloads", PAYLOADS[side], f"{side}_payloads"),
        )
    }
    config = match_config(engagement, **({"mode": mode} if mode else {}))
    result = match(
        frames["campaign", "tokens"],
        frames["operator", "tokens"],
        frames["campaign", "payloads"],
        frames["operator", "payloads"],
        config,
    )
    eid = engagement.engagement_id
    ws.write(
        result.households, HOUSEHOLDS, kind="households", engagement_id=eid,
        producer=identity, recipients=["measurement"],
    )  # fmt: skip
    ws.write(
        result.members, MEMBERS, kind="members", engagement_id=eid,
        producer=identity, recipients=["measurement"],
    )  # fmt: skip
    ws.write(
        result.report, MATCH_REPORT, kind="match_report", engagement_id=eid,
        producer=identity, recipients=["campaign", "operator"],
    )  # fmt: skip
    ws.private.mkdir(parents=True, exist_ok=True)
    result.pairs.write_parquet(ws.private / "pairs.parquet")
    summary = report_dict(result.report)
    return MatcherSummary(
        campaign_records=frames["campaign", "payloads"].height,
        operator_records=frames["operator", "payloads"].height,
        matched_voters=result.members.height,
        matched_households=result.households.height,
        unmatched=dict(result.unmatched),
        report=summary,
    )


def report_dict(report: pl.DataFrame, section: str = "summary") -> dict[str, float]:
    """One section of a match report as ``{name: value}``."""
    rows = report.filter(pl.col("section") == section).select("name", "value").iter_rows()
    return {str(name): float(value) for name, value in rows}


@dataclass(frozen=True)
class MeasurementSummary:
    households: int
    members: int
    viewing_events: int
    cells: int
    suppressed_cells: int
    epsilon: float
    quality: dict[str, int] = field(default_factory=dict)


def read_viewing(path: Path, engagement: Engagement) -> pl.LazyFrame:
    """The measurement party's own tune-event log (CSV or Parquet), columns via the mapping."""
    mapping = engagement.inputs.measurement.viewing
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: viewing log not found")
    fmt = mapping.file_format(path)
    lf = pl.scan_parquet(path) if fmt == "parquet" else pl.scan_csv(path, try_parse_dates=True)
    names = dict(zip(mapping.columns(), ("box_id", "channel", "start", "end"), strict=True))
    schema = lf.collect_schema()
    missing = [c for c in names if c not in schema]
    if missing:
        raise InputError(f"{path}: missing viewing column(s) {', '.join(missing)}")
    return lf.select(pl.col(src).alias(dst) for src, dst in names.items()).with_columns(
        pl.col("box_id").cast(pl.String),
        pl.col("channel").cast(pl.String),
        pl.col("start").cast(pl.Datetime("us")),
        pl.col("end").cast(pl.Datetime("us")),
    )


def measure_config(engagement: Engagement, **overrides: object) -> MeasureConfig:
    settings: dict[str, object] = {
        "credit_minutes": float(engagement.measurement.credit_minutes),
        "k_min": engagement.privacy.k_min,
        "dp_epsilon": engagement.privacy.dp_epsilon,
    }
    settings.update(overrides)
    return MeasureConfig(**settings)  # type: ignore[arg-type]


def run_measurement(
    engagement: Engagement, ws: Workspace, identity: PartyIdentity, viewing_path: Path
) -> MeasurementSummary:
    """Verify and unseal the matcher's households and members, compute audiences from the
    party's own viewing log, and publish the aggregate viewership to the campaign."""
    if ws.role != "measurement" or identity.role != "measurement":
        raise PolicyError("the measurement step needs the measurement workspace and identity")
    eid = engagement.engagement_id
    households = _read(ws, engagement, HOUSEHOLDS, "households", "matcher")
    members = _read(ws, engagement, MEMBERS, "members", "matcher")
    labels = list(engagement.segment_labels)
    operator = party_bundle(engagement, "operator")
    campaign = party_bundle(engagement, "campaign")
    max_boxes = (
        engagement.inputs.operator.boxes.max_boxes if engagement.inputs.operator.boxes else 1
    )
    boxes = unseal_box_lists(
        households.get_column("sealed_boxes"),
        seal_key(identity, operator, eid, "boxes"),
        eid,
        max_boxes,
    )
    segments = unseal_labels(
        members.get_column("sealed_segments"),
        seal_key(identity, campaign, eid, "segments"),
        eid,
        len(labels),
    )
    result = measure(
        pl.DataFrame({"household": households.get_column("household"), "boxes": boxes}),
        pl.DataFrame({"household": members.get_column("household"), "segments": segments}),
        labels,
        read_viewing(viewing_path, engagement),
        measure_config(engagement),
    )
    extra: dict[str, str | int | float | bool | None] = {
        "k_min": engagement.privacy.k_min,
        "dp_epsilon_spent": result.epsilon,
        "dp_delta": result.delta,
        "first_day": result.first_day.isoformat(),
        "days": result.n_days,
        "dp_noise_scale": result.noise_scale,
        # Event and household counts by reason: every excluded event is accounted for.
        **{f"quality.{k}": int(v) for k, v in sorted(result.quality.items())},
    }
    ws.write(
        result.viewership, VIEWERSHIP, kind="viewership", engagement_id=eid,
        producer=identity, recipients=["campaign"], extra=extra,
    )  # fmt: skip
    ws.write(
        result.summary, SEGMENT_SUMMARY, kind="segment_summary", engagement_id=eid,
        producer=identity, recipients=["campaign"], extra=extra,
    )  # fmt: skip
    v = result.viewership
    return MeasurementSummary(
        households=households.height,
        members=members.height,
        viewing_events=int(result.quality.get("events_in", 0)),
        cells=v.height,
        suppressed_cells=int(v.get_column("suppressed").sum()),
        epsilon=result.epsilon,
        quality=dict(result.quality),
    )


def read_results(engagement: Engagement, ws: Workspace) -> dict[str, pl.DataFrame]:
    """The campaign's verified view of what came back: match report, viewership, summary."""
    if ws.role != "campaign":
        raise PolicyError("only the campaign reads the viewership")
    return {
        "match_report": _read(ws, engagement, MATCH_REPORT, "match_report", "matcher"),
        "viewership": _read(ws, engagement, VIEWERSHIP, "viewership", "measurement"),
        "segment_summary": _read(ws, engagement, SEGMENT_SUMMARY, "segment_summary", "measurement"),
    }
