"""The media plan against a naive buy, on the demo's viewership.

``python -m bench plan`` runs the whole demo on a 60,000-voter world over 7 days (about a
minute), then plans a $50,000 buy for persuadable light viewers with the sample rate card
and compares its cost per target impression with the naive buy of the most-watched slots.
``python -m bench.bench_plan [VOTERS] [BUDGET ...] [--demo DIR]`` changes the world size or
budgets, or reuses the campaign inbox of an earlier demo run in DIR. Figures go to
docs/report-and-plan.md.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from linkage.plan import PlanResult, compare_plans, load_rate_card, naive_plan

SEGMENT, BAND = "persuadable", "light"
VOTERS = 60_000
DAYS = 7
BUDGETS = (50_000.0, 20_000.0)


def _demo_viewership(voters: int, demo: Path | None) -> pl.DataFrame:
    if demo is not None:
        return pl.read_parquet(demo / "campaign" / "inbox" / "measurement.viewership.parquet")
    from hashing.keys import ScryptParams
    from linkage.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        started = time.perf_counter()
        result = run_demo(
            Path(tmp) / "demo", voters=voters, seed=7, days=DAYS, scrypt=ScryptParams.for_tests()
        )
        print(f"demo: {voters:,} voters, {DAYS} days, {time.perf_counter() - started:.1f} s")
        return result.results["viewership"]


def _line(label: str, plan: PlanResult) -> str:
    cpt = plan.cost_per_target
    best = plan.cost_per_target_best_case
    unknown = f", {plan.unknown_slots} with suppressed target" if plan.unknown_slots else ""
    return (
        f"  {label:<22} {plan.slots.height:>4} spots{unknown}; spent ${plan.spent:>10,.0f};"
        f" target impressions {plan.target_impressions:>9,.1f}"
        f" (at most {plan.target_impressions_upper:,.1f});"
        f" cost per target ${cpt:,.2f}" + (f" (best case ${best:,.2f})" if best != cpt else "")
        if cpt is not None and best is not None
        else f"  {label:<22} reaches no published target cell"
    )


def run(
    voters: int = VOTERS, budgets: tuple[float, ...] = BUDGETS, demo: Path | None = None
) -> None:
    viewership = _demo_viewership(voters, demo)
    card = load_rate_card()
    averaged = viewership.filter(
        (pl.col("segment") == SEGMENT) & (pl.col("band") == BAND) & pl.col("day").is_null()
    )
    print(
        f"target {SEGMENT} {BAND}: {averaged.height:,} channel × quarter-hour cells,"
        f" {int((~averaged['suppressed']).sum()):,} published"
    )
    for budget in budgets:
        started = time.perf_counter()
        comparison = compare_plans(viewership, card, segment=SEGMENT, band=BAND, budget=budget)
        seconds = time.perf_counter() - started
        cost_aware = naive_plan(
            viewership, card, segment=SEGMENT, band=BAND, budget=budget, by="cpm"
        )
        plan, check = comparison.plan, comparison.plan.check
        assert check is not None
        print(f"budget ${budget:,.0f} (plan and naive in {seconds:.2f} s):")
        print(_line("targeted (greedy CPM)", plan))
        print(_line("naive (most watched)", comparison.naive))
        print(_line("naive (all-home CPM)", cost_aware))
        if comparison.ratio is not None and comparison.ratio_best_case is not None:
            print(
                f"  naive / targeted cost per target impression: {comparison.ratio:.2f}x"
                f" ({comparison.ratio_best_case:.2f}x in naive's best case)"
            )
        print(
            f"  greedy {check.greedy:,.1f}, DP {check.exact:,.1f}"
            f" ({'optimal' if check.exact_optimal else 'coarse'}, ${check.dp_unit:g} steps),"
            f" LP bound {check.lp_bound:,.1f}: greedy gap {check.gap_to_exact:.3%} to DP,"
            f" {check.gap_to_bound:.3%} to the bound"
        )


def main(argv: list[str] | None = None) -> None:
    """Print the figures (``python -m bench plan`` passes no arguments: the defaults)."""
    args = list(argv or [])
    demo = None
    if "--demo" in args:
        i = args.index("--demo")
        demo = Path(args[i + 1])
        del args[i : i + 2]
    voters = int(float(args[0])) if args else VOTERS
    budgets = tuple(float(a) for a in args[1:]) or BUDGETS
    run(voters, budgets, demo)


if __name__ == "__main__":
    main(sys.argv[1:])
