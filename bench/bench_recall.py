"""Recall ceiling of token matching, measured against a plaintext baseline.

Generates a world of ``BENCH_VOTERS`` voters (default 100,000; seed ``BENCH_SEED``,
default 1), runs every role of the demo pipeline on it, links the same two files in the
clear with :func:`hashing.baseline.plaintext_baseline`, and prints, with counts:

- the **recall ceiling**: of the baseline's true voter → household pairs (the account's
  household is the voter's), the share whose voter and account share at least one token
  (same recipe, same value) — no blind matcher can find the others (target ≥ 97 %);
- **false person-level pairs**: voters sharing a person-level token (email, phone,
  name + address...) with an account of another household, as a share of voter rows
  (target < 0.1 %);
- the matcher's precision (voter → household, target ≥ 99.5 %) and its recall relative
  to the baseline's true pairs (target ≥ 97 %), then ``evaluate_run``'s overall and
  per-recipe figures against the full truth;
- the baseline's own precision and recall against the truth.

Only counts and rates are printed, never a record value. ``BENCH_OUT`` keeps the run's
folder there (it holds PII: synthetic here, but treat it as private) instead of a
temporary one.

    BENCH_VOTERS=100000 .venv/bin/python -m bench recall
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hashing.baseline import plaintext_baseline_with_stats
from hashing.engagement import Engagement, load_engagement
from hashing.keys import ScryptParams
from linkage.demo import SAMPLE_ENGAGEMENT, run_demo
from linkage.evaluate_run import evaluate_run

DEFAULT_VOTERS = 100_000
DEFAULT_SEED = 1
TARGETS = {
    "ceiling": 0.97,
    "false_person_pairs": 0.001,
    "matcher_precision": 0.995,
    "matcher_recall_vs_baseline": 0.97,
}


@dataclass
class RunFiles:
    """The private and exchanged files of one demo run that the figures need."""

    voter_truth: pl.DataFrame  # voter_id, household_id
    account_truth: pl.DataFrame  # account_id, household_id
    shared: pl.DataFrame  # voter_id, account_id, recipe: every shared token, distinct
    matched: pl.DataFrame  # voter_id, account_id: the matcher's matches
    voter_rows: int


@dataclass
class Figures:
    """Every figure of one run, as counts (ratios are computed when printed)."""

    counts: dict[str, int] = field(default_factory=dict)
    per_recipe: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def shared_tokens(run_dir: Path) -> pl.DataFrame:
    """``voter_id, account_id, recipe``: pairs that share a token of that recipe.

    Reads the token files the matcher received (after each party's frequency guard) and
    both crosswalks; a recipe only one side computes (the campaign's household group)
    shares nothing.
    """
    inbox = run_dir / "matcher" / "inbox"
    campaign_cw = pl.scan_parquet(run_dir / "campaign" / "private" / "crosswalk.parquet")
    operator_cw = pl.scan_parquet(run_dir / "operator" / "private" / "crosswalk.parquet")
    campaign = pl.scan_parquet(inbox / "campaign.tokens.parquet").join(
        campaign_cw.select("ref", voter_id="id"), on="ref"
    )
    operator = pl.scan_parquet(inbox / "operator.tokens.parquet").join(
        operator_cw.select("ref", account_id="id"), on="ref"
    )
    return (
        campaign.join(operator, on=["recipe", "token"])
        .select("voter_id", "account_id", "recipe")
        .unique()
        .collect()
    )


def matched_pairs(run_dir: Path) -> pl.DataFrame:
    """``voter_id, account_id`` of every pair the matcher matched."""
    pairs = pl.scan_parquet(run_dir / "matcher" / "private" / "pairs.parquet").filter("matched")
    campaign_cw = pl.scan_parquet(run_dir / "campaign" / "private" / "crosswalk.parquet")
    operator_cw = pl.scan_parquet(run_dir / "operator" / "private" / "crosswalk.parquet")
    return (
        pairs.join(campaign_cw.select(campaign_ref="ref", voter_id="id"), on="campaign_ref")
        .join(operator_cw.select(operator_ref="ref", account_id="id"), on="operator_ref")
        .select("voter_id", "account_id")
        .collect()
    )


def read_run(run_dir: Path, world: Path) -> RunFiles:
    truth = world / "truth"
    voter_truth = pl.read_csv(truth / "voters.csv", infer_schema=False).select(
        voter_id="VOTER_ID", household_id="household_id"
    )
    account_truth = pl.read_csv(truth / "accounts.csv", infer_schema=False).select(
        "account_id", "household_id"
    )
    return RunFiles(
        voter_truth=voter_truth,
        account_truth=account_truth,
        shared=shared_tokens(run_dir),
        matched=matched_pairs(run_dir),
        voter_rows=voter_truth.height,
    )


def with_truth(pairs: pl.DataFrame, run: RunFiles) -> pl.DataFrame:
    """``pairs`` (voter_id, account_id, ...) plus ``true``: same household on both sides."""
    return (
        pairs.join(run.voter_truth.rename({"household_id": "hv"}), on="voter_id", how="left")
        .join(run.account_truth.rename({"household_id": "ha"}), on="account_id", how="left")
        .with_columns(true=pl.col("hv").is_not_null() & (pl.col("hv") == pl.col("ha")))
        .drop("hv", "ha")
    )


def person_level(engagement: Engagement) -> list[str]:
    return [r.name for r in engagement.recipes if r.level == "person"]


def figures(baseline: pl.DataFrame, run: RunFiles, engagement: Engagement) -> Figures:
    """The counts behind every printed ratio."""
    out = Figures()
    c = out.counts
    linkable = run.voter_truth.join(run.account_truth, on="household_id", how="semi")
    c["voter_rows"] = run.voter_rows
    c["linkable_voters"] = linkable.height

    base = with_truth(baseline.select("voter_id", "account_id"), run)
    base_true = base.filter("true").select("voter_id", "account_id")
    c["baseline_links"] = base.height
    c["baseline_true"] = base_true.height

    shared_any = run.shared.select("voter_id", "account_id").unique()
    c["ceiling_shared"] = base_true.join(shared_any, on=["voter_id", "account_id"]).height

    shared = with_truth(run.shared, run)
    false_person = shared.filter(~pl.col("true") & pl.col("recipe").is_in(person_level(engagement)))
    c["false_person_pairs"] = false_person.select("voter_id", "account_id").n_unique()
    c["false_person_voters"] = false_person["voter_id"].n_unique()

    matched = with_truth(run.matched, run)
    c["matcher_matched"] = matched.height
    c["matcher_right"] = int(matched["true"].sum())
    c["matcher_on_baseline"] = base_true.join(
        matched.filter("true"), on=["voter_id", "account_id"]
    ).height

    for recipe in [r.name for r in engagement.recipes]:
        of_recipe = shared.filter(pl.col("recipe") == recipe)
        true_pairs = of_recipe.filter("true").select("voter_id", "account_id")
        out.per_recipe[recipe] = {
            "ceiling_shared": base_true.join(true_pairs, on=["voter_id", "account_id"]).height,
            "only_recipe": 0,
            "false_pairs": of_recipe.filter(~pl.col("true")).height,
            "false_voters": of_recipe.filter(~pl.col("true"))["voter_id"].n_unique(),
        }
    # Baseline true pairs found by exactly one recipe: which recipes the ceiling rests on.
    lone = (
        base_true.join(run.shared, on=["voter_id", "account_id"])
        .group_by("voter_id", "account_id")
        .agg(pl.col("recipe").first(), pl.len().alias("n"))
        .filter(pl.col("n") == 1)
        .group_by("recipe")
        .len()
    )
    for recipe, n in lone.iter_rows():
        out.per_recipe[recipe]["only_recipe"] = n
    return out


def _rate(num: int, den: int) -> str:
    return f"{num:>9,} / {den:>9,} = {100 * num / den:7.3f} %" if den else f"{num:,} / 0"


def _verdict(value: float, target: float, below: bool = False) -> str:
    ok = value < target if below else value >= target
    sign = "<" if below else ">="
    return f"(target {sign} {100 * target:g} %: {'met' if ok else 'MISSED'})"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def report(f: Figures, evaluation: pl.DataFrame) -> None:
    """Print the figures: counts and rates only."""
    c = f.counts

    def line(
        label: str, num: int, den: int, target: str | None = None, *, below: bool = False
    ) -> None:
        tail = ""
        if target is not None and den:
            tail = "  " + _verdict(num / den, TARGETS[target], below)
        print(f"  {label:<52} {_rate(num, den)}{tail}")

    print("acceptance")
    line(
        "recall ceiling (baseline true pairs sharing a token)",
        c["ceiling_shared"],
        c["baseline_true"],
        "ceiling",
    )
    line(
        "false person-level pairs (voters / voter rows)",
        c["false_person_voters"],
        c["voter_rows"],
        "false_person_pairs",
        below=True,
    )
    print(f"  {'  (distinct false voter-account pairs)':<52} {c['false_person_pairs']:>9,}")
    line(
        "matcher precision (voter -> household)",
        c["matcher_right"],
        c["matcher_matched"],
        "matcher_precision",
    )
    line(
        "matcher recall vs baseline true pairs",
        c["matcher_on_baseline"],
        c["baseline_true"],
        "matcher_recall_vs_baseline",
    )
    print("baseline against the truth")
    line(
        "precision (linked voters in the right household)", c["baseline_true"], c["baseline_links"]
    )
    line("recall (of voters whose household subscribes)", c["baseline_true"], c["linkable_voters"])
    print("per recipe (token pairs)")
    print(
        f"  {'recipe':<14} {'baseline true pairs sharing it':>34} {'only this':>10}"
        f" {'false pairs':>12} {'false voters':>13}"
    )
    for recipe, r in f.per_recipe.items():
        print(
            f"  {recipe:<14} {_rate(r['ceiling_shared'], c['baseline_true']):>34}"
            f" {r['only_recipe']:>10,} {r['false_pairs']:>12,} {r['false_voters']:>13,}"
        )
    print("evaluate_run (matcher vs the full truth, voter -> household)")
    print(
        f"  {'scope':<14} {'matched':>9} {'TP':>9} {'FP':>7} {'true links':>11}"
        f" {'precision':>10} {'recall':>8} {'F1':>7}"
    )
    for row in evaluation.iter_rows(named=True):
        print(
            f"  {row['scope']:<14} {row['matched']:>9,} {row['true_positives']:>9,}"
            f" {row['false_positives']:>7,} {row['true_links']:>11,}"
            f" {_pct(row['precision']):>10} {_pct(row['recall']):>8} {_pct(row['f1']):>7}"
        )


def run(voters: int, seed: int, out_dir: Path) -> tuple[Figures, pl.DataFrame]:
    """Demo pipeline and baseline on one fresh world; the figures and ``evaluate_run``."""
    engagement = load_engagement(SAMPLE_ENGAGEMENT)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    run_demo(out_dir, voters=voters, seed=seed, days=1, scrypt=ScryptParams.for_tests())
    seconds["demo (world + every role)"] = time.perf_counter() - started
    world = out_dir / "world"

    voter_file = pl.read_csv(world / "campaign" / "voters.csv", infer_schema=False)
    subscriber_file = pl.read_csv(world / "operator" / "subscribers.csv", infer_schema=False)
    started, cpu = time.perf_counter(), time.process_time()
    baseline, stats = plaintext_baseline_with_stats(voter_file, subscriber_file, engagement)
    seconds["baseline"] = time.perf_counter() - started
    seconds["baseline cpu"] = time.process_time() - cpu

    started = time.perf_counter()
    files = read_run(out_dir, world)
    result = figures(baseline, files, engagement)
    evaluation = evaluate_run(
        out_dir / "matcher", out_dir / "campaign", out_dir / "operator", world / "truth"
    ).frame
    seconds["figures"] = time.perf_counter() - started
    result.seconds = seconds
    result.counts |= {
        "baseline_candidate_pairs": stats.candidate_pairs,
        "baseline_accepted_pairs": stats.matched_pairs,
        "baseline_ambiguous_voters": stats.ambiguous_voters,
        "accounts": stats.accounts,
    }
    return result, evaluation


def main(voters: int | None = None) -> None:
    """Print the figures of one run (size: ``BENCH_VOTERS``, default 100,000)."""
    n = voters or int(os.environ.get("BENCH_VOTERS", DEFAULT_VOTERS))
    seed = int(os.environ.get("BENCH_SEED", DEFAULT_SEED))
    keep = os.environ.get("BENCH_OUT")
    load_before = os.getloadavg()
    if keep:
        result, evaluation = run(n, seed, Path(keep))
    else:
        with tempfile.TemporaryDirectory(prefix="bench_recall_") as folder:
            result, evaluation = run(n, seed, Path(folder) / "run")
    load_after = os.getloadavg()
    c = result.counts
    print(
        f"recall: {n:,} voters (seed {seed}): {c['voter_rows']:,} voter rows, "
        f"{c['accounts']:,} accounts, {c['linkable_voters']:,} voters whose household "
        "subscribes"
    )
    print(
        f"  baseline: {c['baseline_candidate_pairs']:,} candidate pairs, "
        f"{c['baseline_accepted_pairs']:,} accepted, {c['baseline_links']:,} voters linked, "
        f"{c['baseline_ambiguous_voters']:,} ambiguous"
    )
    report(result, evaluation)
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    print(f"time: {timings}; polars threads {pl.thread_pool_size()}, cores {os.cpu_count()}")
    print(
        "load average (1/5/15 min): before "
        + " ".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + " ".join(f"{x:.2f}" for x in load_after)
    )


if __name__ == "__main__":
    main()
