"""The Febrl4 benchmark pipeline (``bench/bench_febrl.py``) end to end, against its truth.

Every party runs in its own workspace and artifacts travel by send/receive, as in the
benchmark. The floors are the figures measured when the recipes of
``samples/febrl4.toml`` were set (docs/benchmarks-febrl.md) less a small margin. The
engagement sets ``dob.max_age = 130``, so Febrl's birth dates (1900-1999) are not cut by
age before 2031 and the figures do not drift with the calendar until then.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import polars as pl
import pytest

from bench.bench_febrl import FebrlRun, febrl4_files, report, run
from linkage.evaluate import NO_CANDIDATE, OVERALL

SUBSET = 500


@pytest.fixture(scope="module")
def subset_run(tmp_path_factory: pytest.TempPathFactory) -> FebrlRun:
    return run(tmp_path_factory.mktemp("febrl") / "run", subset=SUBSET)


def _overall(result: FebrlRun, mode: str | None = None) -> dict[str, float | int | None]:
    evaluation = result.evaluations[mode] if mode else result.evaluation
    return evaluation.overall


def test_subset_holds_every_pair_once() -> None:
    a, b = febrl4_files(SUBSET)
    entity = pl.col("rec_id").str.extract(r"^(rec-\d+)-")
    assert a.height == b.height == SUBSET
    assert a.select(entity).sort("rec_id").equals(b.select(entity).sort("rec_id"))


def test_subset_links_with_high_precision_and_recall(subset_run: FebrlRun) -> None:
    overall = _overall(subset_run)
    # measured: precision 1.0, recall 0.996, F1 0.998, ceiling 0.996 (waterfall)
    assert overall["true_links"] == subset_run.true_pairs == SUBSET
    assert overall["precision"] is not None and overall["precision"] >= 0.995
    assert overall["f1"] is not None and overall["f1"] >= 0.995
    assert subset_run.ceiling >= 0.99
    # nothing is matched beyond what a shared token allows
    assert overall["recall"] is not None and overall["recall"] <= subset_run.ceiling + 1e-9
    for summary in subset_run.parties.values():
        assert summary.reconciles


def test_subset_reports_both_modes_and_every_recipe(subset_run: FebrlRun) -> None:
    assert set(subset_run.evaluations) == {"waterfall", "fellegi_sunter"}
    fs = _overall(subset_run, "fellegi_sunter")
    assert fs["precision"] is not None and fs["precision"] >= 0.99
    # the national-ID recipes link pairs that no other recipe does
    first = dict(subset_run.evaluation.frame.select("scope", "true_positives").iter_rows())
    assert first.get("ssn_zip", 0) + first.get("ssn_city_mp", 0) > 0
    scopes = set(subset_run.evaluation.frame.get_column("scope"))
    assert OVERALL in scopes and NO_CANDIDATE in scopes
    coverage = subset_run.recipe_coverage
    assert coverage.height >= 10
    assert (coverage.get_column("true_pairs") <= coverage.get_column("candidate_pairs")).all()
    missed = subset_run.missed
    assert missed.get_column("field").to_list()[:3] == ["first_name", "last_name", "dob"]


def test_report_prints_counts_never_record_values(subset_run: FebrlRun) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        report(subset_run)
    text = out.getvalue()
    assert "precision" in text and "recall ceiling" in text
    assert "rec-" not in text
    a, _ = febrl4_files(SUBSET)
    values = {
        v.lower()
        for column in ("given_name", "surname", "suburb", "address_1")
        for v in a.get_column(column).drop_nulls().to_list()
        if len(v) >= 5
    }
    words = set(re.findall(r"[a-z]+", text.lower()))
    assert not words & values


@pytest.mark.slow
def test_full_febrl4_benchmark(tmp_path: Path) -> None:
    result = run(tmp_path / "run")
    overall = _overall(result)
    # measured (2026-11): waterfall precision 1.0, recall 0.9978, F1 0.9989, ceiling
    # 0.9978; fellegi_sunter precision 1.0, F1 0.9906. The target: F1 and precision >= 0.995.
    assert result.true_pairs == overall["true_links"] == 5000
    assert overall["precision"] is not None and overall["precision"] >= 0.998
    assert overall["f1"] is not None and overall["f1"] >= 0.997
    assert result.ceiling >= 0.996
    fs = _overall(result, "fellegi_sunter")
    assert fs["precision"] is not None and fs["precision"] >= 0.995
    assert fs["f1"] is not None and fs["f1"] >= 0.985
