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

How the peer keeps within memory at 8 M voters on a 24 GiB machine (with DuckDB's
defaults its limit was 80 % of RAM, 18.8 GiB, and the kernel killed it at 12.8 GB):

- the reshape runs in DuckDB itself, from the token Parquet files into two native tables
  (``arg_min(token, file_row_number)`` per recipe keeps the first token in file order, the
  same rows as a Polars group-by/pivot; ``unique_id`` numbers the records in ``ref`` order
  so the u sample is the same from run to run). No copy of the inputs is held in Python,
  and the tables are DuckDB's own, which it writes out to its temporary directory when
  over the limit (registered Arrow tables would sit outside the limit);
- an explicit connection with ``memory_limit`` (``SPLINK_MEMORY_LIMIT``, 10 GB, or
  ``BLINDLINK_SPLINK_MEMORY_LIMIT``) and ``temp_directory`` in the benchmark's temporary
  folder: past the limit DuckDB spills joins, aggregates and table blocks there (on disk)
  instead of growing; an in-memory database would otherwise spill into ``.tmp`` under the
  working directory;
- ``preserve_insertion_order = false``: keeping row order costs memory when large results
  are materialised, and no figure here depends on it (the counts are unchanged);
- ``threads`` = the Polars thread pool size, the budget our matcher runs with;
- before ``predict`` the tables Splink left from EM (blocked pairs and comparison
  vectors of the training sessions) are dropped;
- the parent drops the matcher's result before starting the peer.

Splink's ``materialisation="parquet"`` (every intermediate table written as Parquet)
was tried and not kept: at 1 M voters it more than doubled Splink's time for a small
saving in memory, which the memory limit gives without it. ``predict`` is not chunked:
the candidate pairs grow linearly here (under 2 per voter) and are not what fills memory.
"""

from __future__ import annotations

import argparse
import gc
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
# the largest size the Splink peer runs at by default (--splink forces it). It ran at 4 M on
# 24 GB; at 8 M, before the memory limit below, it was killed at 12.8 GB
SPLINK_MAX_VOTERS = 4_000_000
SPLINK_U_MAX_PAIRS = 1e7
# DuckDB's memory limit in the peer (its default is 80 % of RAM); spills past it to disk
SPLINK_MEMORY_LIMIT = "10GB"
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


def _wide_sql(path: Path, table: str, recipes: list[str]) -> str:
    """One row per record, one column per recipe (its first token), integer unique_id.

    The first token in file order, as a Polars ``group_by(ref, recipe).first()`` keeps it; a
    recipe absent from a record (or from the whole side) is null.
    """
    firsts = ", ".join(
        f"arg_min(token, file_row_number) filter (where recipe = '{r}') as {r}" for r in recipes
    )
    source = f"read_parquet('{path}', file_row_number = true)"
    return (
        f"create table {table} as "
        "select row_number() over (order by ref)::bigint - 1 as unique_id, * exclude (ref) "
        f"from (select ref, {firsts} from {source} group by ref)"
    )


def _splink_peer(folder: str, out: str) -> None:
    """Child process: reshape, then link with Splink on DuckDB; write the figures."""
    import json

    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from linkage.matching.synthetic import RECIPES

    recipes = [r.name for r in RECIPES]
    spill = Path(folder) / "splink_spill"
    spill.mkdir()
    limit = os.environ.get("BLINDLINK_SPLINK_MEMORY_LIMIT", SPLINK_MEMORY_LIMIT)
    con = duckdb.connect(
        config={
            "memory_limit": limit,
            "temp_directory": str(spill),
            "preserve_insertion_order": False,
            "threads": pl.thread_pool_size(),
        }
    )
    started = time.perf_counter()
    heights = {}
    for side in ("campaign", "operator"):
        con.execute(_wide_sql(Path(folder) / f"{side}_tokens.parquet", f"{side}_wide", recipes))
        heights[side] = con.sql(f"select count(*) from {side}_wide").fetchall()[0][0]
    reshaped = time.perf_counter() - started
    rss_before = _peak_gib()

    started, cpu = time.perf_counter(), _cpu_s()
    db_api = DuckDBAPI(con)
    tables = [db_api.register(f"{side}_wide", table_name=side) for side in heights]
    prior = 1 / (heights["campaign"] * heights["operator"]) ** 0.5  # one true pair per voter
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[cl.ExactMatch(r) for r in recipes],
        blocking_rules_to_generate_predictions=[block_on(r) for r in recipes],
        retain_matching_columns=False,
        probability_two_random_records_match=prior,
    )
    linker = Linker(tables, settings, log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=SPLINK_U_MAX_PAIRS, seed=1)
    trained = time.perf_counter()
    for rule in ("address", "email"):  # the second session trains the address m
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(rule))
    em_s = time.perf_counter() - trained
    # the training sessions' blocked pairs and comparison vectors are not needed any more
    linker.table_management.invalidate_cache()
    linker.table_management.delete_tables_created_by_splink_from_db()
    predicted = time.perf_counter()
    pairs = linker.inference.predict(threshold_match_probability=0.9)
    count, matched = con.sql(
        f"select count(*), count(distinct unique_id_l) from {pairs.physical_name}"
    ).fetchall()[0]
    predict_s = time.perf_counter() - predicted
    elapsed, cpu = time.perf_counter() - started, _cpu_s() - cpu
    figures = {
        "splink_reshape_s": reshaped,
        "splink_s": elapsed,
        "splink_cpu_s": cpu,
        "splink_em_s": em_s,
        "splink_predict_s": predict_s,
        "splink_pairs_ge_0_9": float(count),
        "splink_matched_voters": float(matched),
        "splink_peak_rss_gib": _peak_gib(),
        "splink_rss_before_gib": rss_before,
    }
    con.close()
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
        summary = {n: v for s, n, v in result.report.iter_rows() if s == "summary"}
        iterations = float(result.model.iterations)
        del result, scans  # the peer gets the memory the matcher's result held
        gc.collect()
        peer = _run_splink(folder) if splink else {}
    return {
        "voters": summary["campaign_records"],
        "accounts": summary["operator_records"],
        "campaign_tokens": summary["campaign_tokens"],
        "operator_tokens": summary["operator_tokens"],
        "input_gib": sizes / 2**30,
        "candidate_pairs": summary["candidate_pairs"],
        "matched_voters": summary["matched_voters"],
        "matched_households": summary["matched_households"],
        "em_iterations": iterations,
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
