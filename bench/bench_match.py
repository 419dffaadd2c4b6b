"""Benchmark of the matcher: synthetic token files at scale, wall time and peak memory.

``python -m bench match`` runs 1 M voters (set ``BLINDLINK_BENCH_VOTERS`` to change it);
``python -m bench.bench_match --voters 8000000`` runs the reference state (8 M voters,
3.5 M accounts). Accounts are 3.5/8 of the voters.

The token and payload files are generated in a child process and written as Parquet, the
way the matcher receives them; the parent then scans them with ``match`` and reports its
wall time, CPU time (all threads) and its own peak resident memory (``getrusage``), so
that generation does not count. On a shared machine the CPU time is the steadier figure.
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


def run(voters: int) -> dict[str, float]:
    """Generate, then match; return the figures."""
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
        "peak_rss_gib": _peak_gib(),
        "rss_before_match_gib": rss_before,
    }


def main(voters: int | None = None) -> None:
    """Print the figures of one run (default size: ``BLINDLINK_BENCH_VOTERS`` or 1 M)."""
    n = voters or int(os.environ.get("BLINDLINK_BENCH_VOTERS", DEFAULT_VOTERS))
    stages = logging.getLogger("linkage.matching.pipeline")
    if not stages.handlers:  # the stage timings, on stderr
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("  stage %(message)s"))
        stages.addHandler(handler)
    stages.setLevel(logging.DEBUG)
    figures = run(n)
    threads = pl.thread_pool_size()
    print(f"match: {n:,} voters x {round(n * 3.5 / 8):,} accounts, polars threads: {threads}")
    for name, value in figures.items():
        shown = f"{value:,.0f}" if value >= 100 and float(value).is_integer() else f"{value:.2f}"
        print(f"  {name:<22} {shown}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=None)
    main(parser.parse_args(sys.argv[1:]).voters)
