"""The paths measurement takes for speed change no result: log order, slice sizes, sparse
counting, chains of shared quarter-hours, and averages over a period of odd length."""

from __future__ import annotations

import random
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import linkage.measure.crediting as crediting
import linkage.measure.metrics as metrics
from hashing.errors import InputError
from linkage.measure import MeasureConfig, measure
from linkage.measure.crediting import credit_quarter_hours

from .reference import direct_audiences
from .world import CHANNELS, DAY, LABELS, at, households, random_world, viewing

K = 10
WORLD = random_world(seed=23, n_households=250, n_days=3)
CONFIG = MeasureConfig(k_min=K, channels=CHANNELS)


def _measure(events: list, config: MeasureConfig = CONFIG) -> object:
    homes, people, _ = WORLD
    return measure(homes, people, LABELS, viewing(events), config)


@pytest.fixture(scope="module")
def baseline() -> object:
    return _measure(WORLD[2])


def _same(a: object, b: object) -> None:
    assert_frame_equal(a.viewership, b.viewership, check_exact=True)  # type: ignore[attr-defined]
    assert_frame_equal(a.summary, b.summary, check_exact=True)  # type: ignore[attr-defined]
    assert a.quality == b.quality  # type: ignore[attr-defined]


def test_a_shuffled_log_gives_the_same_results(baseline: object) -> None:
    events = list(WORLD[2])
    random.Random(1).shuffle(events)
    _same(_measure(events), baseline)


def test_boxes_in_another_order_give_the_same_results(baseline: object) -> None:
    # each box's events together and in time order, boxes in reverse: no sort needed
    events = sorted(WORLD[2], key=lambda ev: ev[0], reverse=True)
    by_box: dict[str, list] = {}
    for event in events:
        by_box.setdefault(event[0], []).append(event)
    grouped = [ev for box in by_box for ev in sorted(by_box[box], key=lambda ev: ev[2])]
    _same(_measure(grouped), baseline)


def test_tiny_slices_and_sparse_counts_give_the_same_results(
    baseline: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crediting, "SLICE_EVENTS", 3)
    monkeypatch.setattr(metrics, "SLICE_ROWS", 2)
    monkeypatch.setattr(metrics, "DENSE_LIMIT", 1)
    _same(_measure(WORLD[2]), baseline)


def test_three_days_equal_a_direct_computation(baseline: object) -> None:
    homes, people, events = WORLD
    reach, matched, _ = direct_audiences(homes, people, LABELS, events, n_days=3)
    view = baseline.viewership.filter(~pl.col("suppressed"))  # type: ignore[attr-defined]
    assert view.height > 300
    for row in view.iter_rows(named=True):
        key = (row["segment"], row["band"])
        if row["day"] is not None:
            day = (row["day"] - DAY.date()).days
            assert row["reach"] == reach.get((*key, day, row["quarter_hour"], row["channel"]), 0)
        else:
            days = [reach.get((*key, d, row["quarter_hour"], row["channel"]), 0) for d in range(3)]
            assert row["audience"] == pytest.approx(sum(days) / 3)
            if row["rating"] is not None:
                assert row["rating"] == pytest.approx(sum(days) / 3 / matched[key])


def test_band_all_averages_its_own_day_counts(baseline: object) -> None:
    """Not the sum of three rounded band averages, which would depend on their order."""
    view = baseline.viewership  # type: ignore[attr-defined]
    band_all = view.filter((pl.col("band") == "all") & ~pl.col("suppressed"))
    days = band_all.filter(pl.col("day").is_not_null())
    summed = days.group_by("segment", "channel", "quarter_hour").agg(pl.col("audience").sum())
    averaged = band_all.filter(pl.col("day").is_null()).join(
        summed, on=["segment", "channel", "quarter_hour"], suffix="_days"
    )
    assert averaged.height > 50
    assert (averaged["audience"] == averaged["audience_days"] * (1 / 3)).all()
    _same(_measure(WORLD[2]), baseline)


def test_a_chain_of_short_tunes_is_summed_per_channel() -> None:
    # qh 41 (10:15-10:30): CH02 1 + 3 minutes, CH01 3 minutes; qh 40: CH02 1 minute
    events = [
        ("B1", "CH02", at("10:14"), at("10:16")),
        ("B1", "CH01", at("10:16"), at("10:19")),
        ("B1", "CH02", at("10:19"), at("10:22")),
    ]
    homes = households({0: ["B1"]})
    for minutes, expected in ((5.0, set()), (4.0, {(0, 41, "CH02")})):
        config = MeasureConfig(channels=CHANNELS, credit_minutes=minutes)
        credited, _ = credit_quarter_hours(viewing(events), homes, config)
        got = {(hh, qh, credited.channels[ch]) for hh, qh, ch in credited.tuned.iter_rows()}
        assert got == expected


def test_a_grid_too_large_to_count_is_an_input_error() -> None:
    channels = tuple(f"C{i:05d}" for i in range(70_000))
    config = MeasureConfig(channels=channels, period=(date(1, 1, 1), date(9999, 12, 31)))
    log = viewing([("B1", "C00001", at("10:00"), at("10:30"))])
    with pytest.raises(InputError, match="too many cells"):
        credit_quarter_hours(log, households({0: ["B1"]}), config)
