"""Benchmark of the matcher: synthetic token files at scale, wall time and peak memory.

``python -m bench match`` runs 1 M voters (set ``BLINDLINK_BENCH_VOTERS`` to change it);
``python -m bench.bench_match --voters 8000000`` runs the reference state (8 M voters,
3.5 M accounts). Accounts are 3.5/8 of the voters.

The token and payload files are generated in a child process and written as Parquet, the
way the matcher receives them; the parent then scans them with ``match`` and reports its
wall time, CPU time (all threads) and its own peak resident memory (``getrusage``), so
that generation does not count. On a shared machine the CPU time is the steadier figure.

The peer (``--splink``, on by default when splink is importable and the size is at most
``SPLINK_MAX_VOTERS``): Splink (DuckDB backend) links the same token files. Each side is
reshaped wide, one row per record and one column per recipe holding the record's *first*
token of that recipe (a record with two surname tokens keeps one), and an integer
``unique_id``. A ``link_only`` model with one ``cl.ExactMatch`` per recipe and one
``block_on(recipe)`` per recipe as prediction blocking rules; u by random sampling
(``max_pairs`` 1e7), m by EM blocked on the address recipe, then on email (to train
the address m), the prior fixed at 1/sqrt(voters x accounts), then
``predict(threshold_match_probability=0.9)``. It runs in its own spawned process after
the matcher, so its peak memory is its own; its time covers registration, training and
prediction (the reshape is timed apart and excluded). The ratio is ours / Splink's.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

DEFAULT_VOTERS = 1_000_000
# the largest size the Splink peer ran at on 24 GB (at 8 M it was killed, child RSS 12.8 GB)
SPLINK_MAX_VOTERS = 4_000_000
SPLINK_U_MAX_PAIRS = 1e7
FILES = ("campaign_tokens", "operator_tokens", "campaign_payloads", "operator_payloads")


def _generate(voters: int, folder: str) -> None:
    from linkage.matching.synthetic import synthetic_world

    world = synthetic_world(voters, seed=1, accounts=round(voters * 3.5 / 8))
    for name in FILES:
        getattr(world, name).write_parquet(Path(folder) / f"{name}.parquet")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_gib() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _wide(tokens: pl.LazyFrame, recipes: list[str]) -> pl.DataFrame:
    """One row per record, one column per recipe (its first token), integer unique_id."""
    first = tokens.group_by("ref", "recipe").agg(pl.col("token").first()).collect()
    wide = first.pivot(on="recipe", index="ref", values="token")
    for recipe in recipes:  # a recipe absent from one side is all null there
        if recipe not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Binary).alias(recipe))
    return wide.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("unique_id"), *recipes)


def _splink_peer(folder: str, out: str) -> None:
    """Child process: reshape, then link with Splink on DuckDB; write the figures."""
    import json

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from linkage.matching.synthetic import RECIPES

    recipes = [r.name for r in RECIPES]
    started = time.perf_counter()
    campaign = _wide(pl.scan_parquet(Path(folder) / "campaign_tokens.parquet"), recipes)
    operator = _wide(pl.scan_parquet(Path(folder) / "operator_tokens.parquet"), recipes)
    reshaped = time.perf_counter() - started
    rss_before = _peak_gib()

    started, cpu = time.perf_counter(), _cpu_s()
    db_api = DuckDBAPI()
    tables = [
        db_api.register(campaign.to_arrow(), table_name="campaign"),
        db_api.register(operator.to_arrow(), table_name="operator"),
    ]
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[cl.ExactMatch(r) for r in recipes],
        blocking_rules_to_generate_predictions=[block_on(r) for r in recipes],
        retain_matching_columns=False,
        # prior: about one true pair per voter
        probability_two_random_records_match=1 / (campaign.height * operator.height) ** 0.5,
    )
    linker = Linker(tables, settings, log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=SPLINK_U_MAX_PAIRS, seed=1)
    trained = time.perf_counter()
    for rule in ("address", "email"):  # the second session trains the address m
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(rule))
    em_s = time.perf_counter() - trained
    predicted = time.perf_counter()
    pairs = linker.inference.predict(threshold_match_probability=0.9)
    count = db_api.duckdb_con.execute(f"select count(*) from {pairs.physical_name}").fetchone()[0]
    matched = db_api.duckdb_con.execute(
        f"select count(distinct unique_id_l) from {pairs.physical_name}"
    ).fetchone()[0]
    elapsed, cpu = time.perf_counter() - started, _cpu_s() - cpu
    figures = {
        "splink_reshape_s": reshaped,
        "splink_s": elapsed,
        "splink_cpu_s": cpu,
        "splink_em_s": em_s,
        "splink_predict_s": time.perf_counter() - predicted,
        "splink_pairs_ge_0_9": float(count),
        "splink_matched_voters": float(matched),
        "splink_peak_rss_gib": _peak_gib(),
        "splink_rss_before_gib": rss_before,
    }
    Path(out).write_text(json.dumps(figures))


def _run_splink(folder: str) -> dict[str, float]:
    import json

    out = str(Path(folder) / "splink.json")
    child = mp.get_context("spawn").Process(target=_splink_peer, args=(folder, out))
    child.start()
    child.join()
    if child.exitcode != 0:  # -9: killed, most likely out of memory
        print(f"Splink peer failed with exit code {child.exitcode}", file=sys.stderr)
        return {}
    return json.loads(Path(out).read_text())


def _splink_skip(voters: int, wanted: bool | None) -> str | None:
    """Why the Splink peer is skipped (None: it runs)."""
    if wanted is False:
        return "--no-splink"
    try:
        import splink  # noqa: F401
    except ImportError:
        return "splink is not installed (pip install splink)"
    if wanted is None and voters > SPLINK_MAX_VOTERS:
        return f"{voters:,} voters > {SPLINK_MAX_VOTERS:,} (pass --splink to force)"
    return None


def run(voters: int, splink: bool = False) -> dict[str, float]:
    """Generate, then match (then the Splink peer if asked); return the figures."""
    from linkage.matching import match
    from linkage.matching.config import MatchConfig
    from linkage.matching.synthetic import RECIPES

    with tempfile.TemporaryDirectory(prefix="bench_match_") as folder:
        started = time.perf_counter()
        child = mp.get_context("spawn").Process(target=_generate, args=(voters, folder))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"generation failed with exit code {child.exitcode}")
        generated = time.perf_counter() - started
        scans = {name: pl.scan_parquet(Path(folder) / f"{name}.parquet") for name in FILES}
        sizes = sum(f.stat().st_size for f in Path(folder).iterdir())
        rss_before = _peak_gib()
        started, cpu = time.perf_counter(), _cpu_s()
        result = match(
            scans["campaign_tokens"],
            scans["operator_tokens"],
            scans["campaign_payloads"],
            scans["operator_payloads"],
            MatchConfig(recipes=RECIPES),
        )
        elapsed, cpu = time.perf_counter() - started, _cpu_s() - cpu
        peak = _peak_gib()
        peer = _run_splink(folder) if splink else {}
    summary = {n: v for s, n, v in result.report.iter_rows() if s == "summary"}
    return {
        "voters": summary["campaign_records"],
        "accounts": summary["operator_records"],
        "campaign_tokens": summary["campaign_tokens"],
        "operator_tokens": summary["operator_tokens"],
        "input_gib": sizes / 2**30,
        "candidate_pairs": summary["candidate_pairs"],
        "matched_voters": summary["matched_voters"],
        "matched_households": summary["matched_households"],
        "em_iterations": float(result.model.iterations),
        "generate_s": generated,
        "match_s": elapsed,
        "match_cpu_s": cpu,
        "peak_rss_gib": peak,
        "rss_before_match_gib": rss_before,
    } | peer


def main(voters: int | None = None, splink: bool | None = None) -> None:
    """Print the figures of one run (default size: ``BLINDLINK_BENCH_VOTERS`` or 1 M).

    ``splink``: None runs the Splink peer when importable and the size allows it.
    """
    n = voters or int(os.environ.get("BLINDLINK_BENCH_VOTERS", DEFAULT_VOTERS))
    skip = _splink_skip(n, splink)
    stages = logging.getLogger("linkage.matching.pipeline")
    if not stages.handlers:  # the stage timings, on stderr
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("  stage %(message)s"))
        stages.addHandler(handler)
    stages.setLevel(logging.DEBUG)
    figures = run(n, splink=skip is None)
    threads = pl.thread_pool_size()
    print(f"match: {n:,} voters x {round(n * 3.5 / 8):,} accounts, polars threads: {threads}")
    for name, value in figures.items():
        shown = f"{value:,.0f}" if value >= 100 and float(value).is_integer() else f"{value:.2f}"
        print(f"  {name:<22} {shown}")
    if skip is None and "splink_s" not in figures:
        print("Splink peer failed (see stderr); no ratio")
    elif skip is None:
        ratio = figures["match_s"] / figures["splink_s"]
        print(
            f"vs Splink (DuckDB): ours {figures['match_s']:.2f} s, "
            f"Splink {figures['splink_s']:.2f} s, ratio ours/Splink {ratio:.2f}; "
            f"peak {figures['peak_rss_gib']:.2f} GiB vs {figures['splink_peak_rss_gib']:.2f} GiB"
        )
    else:
        print(f"Splink peer skipped: {skip}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=None)
    parser.add_argument(
        "--splink",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="time the Splink (DuckDB) peer (default: if importable and size allows)",
    )
    args = parser.parse_args(sys.argv[1:])
    main(args.voters, args.splink)
