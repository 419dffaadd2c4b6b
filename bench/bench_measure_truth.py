"""Published audiences against the truth: how much matching error moves the numbers.

Runs the whole pipeline on a generated world, then computes the same audiences directly
from the ground truth (each subscribing household's true boxes and true registered
voters) with the same measurement code and settings, and compares the published cells.
Only a test setting can do this: it reads the truth, which no party holds.

    BENCH_VOTERS=60000 BENCH_DAYS=7 python -m bench measure_truth
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl

from hashing.engagement_model import CampaignInput
from hashing.keys import ScryptParams
from hashing.party import segment_bitsets
from linkage.demo import run_demo
from linkage.measure import measure
from linkage.roles import measure_config, read_viewing


def truth_inputs(world: Path, mapping: CampaignInput) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Households (true boxes) and members (true voters with their labels) of every
    subscribing household, keyed by the household ID as bytes."""
    boxes = pl.read_csv(world / "truth" / "boxes.csv", infer_schema=False)
    households = boxes.group_by("household_id").agg(pl.col("box_id").alias("boxes"))
    voters = pl.read_csv(world / "campaign" / "voters.csv", infer_schema=False)
    truth = pl.read_csv(world / "truth" / "voters.csv", infer_schema=False)
    # The same bitset rule the campaign applies, over the engagement's segment columns.
    bits = segment_bitsets(mapping)
    members = (
        voters.join(truth, on="VOTER_ID")
        .unique("person_id")  # a duplicated voter row is one person
        .join(households.select("household_id"), on="household_id", how="semi")
        .select(pl.col("household_id"), bits.alias("segments"))
    )
    as_ref = pl.col("household_id").cast(pl.Binary).alias("household")
    return (
        households.select(as_ref, "boxes"),
        members.select(as_ref, "segments"),
    )


def main() -> None:
    voters = int(os.environ.get("BENCH_VOTERS", "60000"))
    days = int(os.environ.get("BENCH_DAYS", "7"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        result = run_demo(out, voters=voters, seed=7, days=days, scrypt=ScryptParams.for_tests())
        engagement = result.engagement
        labels = list(engagement.segment_labels)
        world = out / "world"
        households, members = truth_inputs(world, engagement.inputs.campaign)
        true = measure(
            households,
            members,
            labels,
            read_viewing(world / "measurement" / "viewing.parquet", engagement),
            measure_config(engagement),
        ).viewership
    published = result.results["viewership"]
    keys = ["segment", "band", "day", "channel", "quarter_hour"]
    both = published.join(true, on=keys, how="inner", suffix="_true", nulls_equal=True)
    avg = both.filter(pl.col("day").is_null())
    shown = avg.filter(~pl.col("suppressed") & ~pl.col("suppressed_true"))
    matched = result.matcher.matched_households if result.matcher else 0
    print(
        f"world: {voters:,} voters, {days} days; matched households {matched:,}"
        f" of {households.height:,} subscribing households"
    )
    for segment in ("all", "persuadable", "gotv"):
        cells = shown.filter((pl.col("segment") == segment) & (pl.col("band") == "all"))
        if cells.is_empty():
            print(f"{segment}: no cell published on both sides")
            continue
        rel = ((pl.col("audience") - pl.col("audience_true")) / pl.col("audience_true")).abs()
        rating = (pl.col("rating") - pl.col("rating_true")).abs()
        s = cells.select(
            pl.len().alias("cells"),
            pl.col("audience").sum().alias("published"),
            pl.col("audience_true").sum().alias("true"),
            rel.median().alias("median_rel"),
            rel.quantile(0.9).alias("p90_rel"),
            rating.median().alias("median_rating_diff"),
        ).row(0, named=True)
        print(
            f"{segment:<12} cells {s['cells']:>6,}  audience published/true"
            f" {s['published'] / s['true']:.4f}  |rel diff| median {s['median_rel']:.2%}"
            f" p90 {s['p90_rel']:.2%}  |rating diff| median {s['median_rating_diff']:.4%}"
        )
