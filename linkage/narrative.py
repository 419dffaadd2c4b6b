"""The demo's story in plain words: who held what, what crossed, what came out.

Only counts and aggregate cells appear here — never a record, a token or a key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from linkage.plan import PlanComparison

if TYPE_CHECKING:
    from linkage.demo import DemoResult


def quarter_hour_label(qh: int) -> str:
    """``80`` → ``"20:00"``: the start of a quarter-hour of the day."""
    return f"{qh // 4:02d}:{(qh % 4) * 15:02d}"


def top_cells(
    viewership: pl.DataFrame, segment: str, band: str = "all", n: int = 5
) -> pl.DataFrame:
    """The published (unsuppressed) cells of a segment and band with the highest rating,
    averaged over the days of the log."""
    return (
        viewership.filter(
            (pl.col("segment") == segment)
            & (pl.col("band") == band)
            & pl.col("day").is_null()
            & ~pl.col("suppressed")
        )
        .sort(["rating", "channel", "quarter_hour"], descending=[True, False, False])
        .head(n)
    )


def narrate(result: DemoResult) -> str:
    lines: list[str] = ["", "blindlink demo — what each party held, sent and learned", ""]
    e = result.engagement
    lines.append(f"engagement {e.engagement_id}; workspaces under {result.out_dir}/")
    lines.append("key fingerprints (read out by phone between parties):")
    for role, fp in result.fingerprints.items():
        lines.append(f"  {role:<12} {fp}")
    lines.append("")
    for role, s in result.parties.items():
        what = "voter file" if role == "campaign" else "subscriber file"
        lines.append(
            f"{role}: held its {what} ({s.rows_in:,} rows) in the clear; sent the matcher"
            f" {sum(s.tokens_per_recipe.values()):,} keyed tokens over {s.rows_tokenized:,}"
            f" records and one sealed blob per record; quarantined {s.rows_quarantined:,}"
            " (rows in = tokenized + quarantined)"
        )
    m = result.matcher
    if m is not None:
        lines.append(
            f"matcher: saw only tokens and sealed blobs; linked {m.matched_voters:,} of"
            f" {m.campaign_records:,} voters to {m.matched_households:,} of"
            f" {m.operator_records:,} subscriber households"
            f" (voter match rate {m.report.get('match_rate', 0.0):.1%})"
        )
        reasons = ", ".join(f"{k} {v:,}" for k, v in m.unmatched.items() if v)
        if reasons:
            lines.append(f"  unmatched by reason: {reasons}")
    ms = result.measurement
    if ms is not None:
        lines.append(
            f"measurement: unsealed {ms.households:,} households' box lists and"
            f" {ms.members:,} members' segment labels — no names, no record IDs;"
            f" credited {ms.viewing_events:,} tune events; published {ms.cells:,} cells,"
            f" {ms.suppressed_cells:,} suppressed under k={e.privacy.k_min}"
        )
    viewership = result.results.get("viewership")
    if viewership is not None:
        lines.append("")
        for segment, band, title in (
            ("persuadable", "light", "persuadable light viewers"),
            ("persuadable", "all", "persuadable voters"),
            ("gotv", "all", "turnout targets (gotv)"),
        ):
            cells = top_cells(viewership, segment, band)
            lines.append(f"top quarter-hours for {title} (rating, averaged over days):")
            if cells.is_empty():
                lines.append("  every cell is under the k-minimum: a larger world is needed")
            for row in cells.iter_rows(named=True):
                lines.append(
                    f"  {row['channel']} at {quarter_hour_label(row['quarter_hour'])}:"
                    f" rating {row['rating']:.1%}, audience {row['audience']:.1f} households"
                )
    plan = result.plan
    if isinstance(plan, PlanComparison):
        p, n = plan.plan, plan.naive
        lines.append("")
        lines.append(
            f"media plan for persuadable light viewers, budget ${p.budget:,.0f}:"
            f" {p.slots.height} slots, ${p.spent:,.0f} spent,"
            f" {p.target_impressions:,.0f} target household impressions"
        )
        if p.cost_per_target and n.cost_per_target:
            lines.append(
                f"  cost per target impression ${p.cost_per_target:,.2f} against"
                f" ${n.cost_per_target:,.2f} for a naive buy of the most-watched slots"
                f" ({n.cost_per_target / p.cost_per_target:.2f}x)"
            )
    if result.report_path is not None:
        lines.append(f"campaign report (offline HTML): {result.report_path}")
    audit = result.audit
    if audit is not None:
        lines.append("")
        text = audit.to_text() if hasattr(audit, "to_text") else str(audit)
        lines.append("auditor: " + text.strip())
    lines.append("")
    return "\n".join(lines)
