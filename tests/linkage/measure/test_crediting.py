"""Quarter-hour crediting: splitting, the longest-channel rule, and every excluded event
counted by reason."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from hashing.errors import ConfigError, InputError, PolicyError
from linkage.measure import EXCLUSION_REASONS, MeasureConfig
from linkage.measure.crediting import credit_quarter_hours

from .world import at, households, viewing

CHANNELS = ("CH01", "CH02", "CH03")
ONE_HOUSE = households({0: ["B1", "B2"]})


def credits(
    events: list, config: MeasureConfig | None = None, homes: pl.DataFrame = ONE_HOUSE
) -> set[tuple[int, int, int, str]]:
    """{(household, day, quarter-hour of day, channel)} credited."""
    config = config or MeasureConfig(channels=CHANNELS)
    credited, _ = credit_quarter_hours(viewing(events), homes, config)
    return {
        (hh, qh // 96, qh % 96, credited.channels[ch]) for hh, qh, ch in credited.tuned.iter_rows()
    }


def test_event_across_quarter_hours_is_split_at_each_boundary() -> None:
    # 10:05-10:40: 10 min in 10:00, 15 in 10:15, 10 in 10:30
    got = credits([("B1", "CH01", at("10:05"), at("10:40"))])
    assert got == {(0, 0, 40, "CH01"), (0, 0, 41, "CH01"), (0, 0, 42, "CH01")}


def test_event_across_midnight_credits_both_days() -> None:
    got = credits([("B1", "CH02", at("23:50"), at("00:20", day=1))])
    assert got == {(0, 0, 95, "CH02"), (0, 1, 0, "CH02"), (0, 1, 1, "CH02")}


def test_two_channels_in_one_quarter_hour_the_longest_wins() -> None:
    got = credits(
        [("B1", "CH01", at("10:00"), at("10:06")), ("B1", "CH02", at("10:06"), at("10:15"))]
    )
    assert got == {(0, 0, 40, "CH02")}


def test_a_channel_watched_in_two_stretches_adds_up() -> None:
    # CH01 4 + 4 minutes around a 7-minute CH02: CH01 has 8, CH02 7.
    got = credits(
        [
            ("B1", "CH01", at("10:00"), at("10:04")),
            ("B1", "CH02", at("10:04"), at("10:11")),
            ("B1", "CH01", at("10:11"), at("10:15")),
        ]
    )
    assert got == {(0, 0, 40, "CH01")}


def test_a_tie_goes_to_the_channel_that_sorts_first() -> None:
    start, middle, end = at("10:00"), at("10:00").replace(minute=7, second=30), at("10:15")
    got = credits([("B1", "CH03", start, middle), ("B1", "CH02", middle, end)])
    assert got == {(0, 0, 40, "CH02")}


def test_below_credit_minutes_is_not_credited() -> None:
    events = [("B1", "CH01", at("10:00"), at("10:04"))]
    assert credits(events) == set()
    assert credits(events, MeasureConfig(channels=CHANNELS, credit_minutes=4)) == {
        (0, 0, 40, "CH01")
    }
    # exactly credit_minutes is enough
    assert credits([("B1", "CH01", at("10:00"), at("10:05"))]) == {(0, 0, 40, "CH01")}


def test_credit_is_per_box_and_a_household_is_tuned_if_any_box_is() -> None:
    # two boxes, 4 minutes each on CH01: neither box is credited
    assert (
        credits(
            [("B1", "CH01", at("10:00"), at("10:04")), ("B2", "CH01", at("10:05"), at("10:09"))]
        )
        == set()
    )
    # boxes on two channels: the household is tuned to both
    got = credits(
        [("B1", "CH01", at("10:00"), at("10:15")), ("B2", "CH02", at("10:00"), at("10:10"))]
    )
    assert got == {(0, 0, 40, "CH01"), (0, 0, 40, "CH02")}


def test_malformed_events_are_counted_by_reason_and_reconcile() -> None:
    homes = households({0: ["B1", "B2"], 1: ["B3", "B2"]})  # B2 is listed twice
    events = [
        ("B1", "CH01", at("10:00"), at("10:30")),  # good
        (None, "CH01", at("10:00"), at("10:30")),  # null_field
        ("B1", None, at("10:00"), at("10:30")),  # null_field
        ("B1", "CH01", None, at("10:30")),  # null_field
        ("B1", "CH01", at("11:00"), at("11:00")),  # non_positive_duration
        ("B1", "CH01", at("11:30"), at("11:00")),  # non_positive_duration
        ("B1", "CH99", at("12:00"), at("12:30")),  # unknown_channel
        ("B9", "CH01", at("12:00"), at("12:30")),  # box_not_matched
        ("B2", "CH01", at("12:00"), at("12:30")),  # box_in_several_households
        ("B3", "CH01", at("13:00"), at("14:00")),  # trimmed by the next: 13:00-13:20
        ("B3", "CH02", at("13:20"), at("13:40")),  # used
        ("B3", "CH03", at("13:20"), at("13:50")),  # same start, ends later: supersedes CH02
        ("B3", "CH01", at("09:00", day=-1), at("09:30", day=-1)),  # outside_period
        ("B3", "CH01", at("23:50"), at("00:30", day=1)),  # cropped_to_period
    ]
    config = MeasureConfig(channels=CHANNELS, period=(date(2026, 3, 2), date(2026, 3, 2)))
    credited, _ = credit_quarter_hours(viewing(events), homes, config)
    q = credited.quality
    assert q["events_in"] == len(events)
    assert q["null_field"] == 3
    assert q["non_positive_duration"] == 2
    assert q["unknown_channel"] == 1
    assert q["box_not_matched"] == 1
    assert q["box_in_several_households"] == 1
    assert q["overlap_superseded"] == 1
    assert q["outside_period"] == 1
    assert q["overlap_trimmed"] == 1  # 13:00-14:00 cut at 13:20
    assert q["cropped_to_period"] == 1
    assert q["events_credited"] == q["events_in"] - sum(q[r] for r in EXCLUSION_REASONS)
    assert q["events_credited"] == 4
    assert q["boxes_in_several_households"] == 1
    tuned = {(hh, qh, credited.channels[ch]) for hh, qh, ch in credited.tuned.iter_rows()}
    # 13:00-13:20 on CH01 (qh 52: 15 min, qh 53: 5 min), then CH03 13:20-13:50 (qh 53: 10)
    assert (1, 52, "CH01") in tuned and (1, 53, "CH01") not in tuned
    assert {(1, 53, "CH03"), (1, 54, "CH03"), (1, 55, "CH03")} <= tuned
    assert not any(ch == "CH02" for _, _, ch in tuned)
    assert (1, 95, "CH01") in tuned and max(qh for _, qh, _ in tuned) == 95


def test_text_timestamps_parse_and_bad_ones_are_counted() -> None:
    log = pl.LazyFrame(
        {
            "box_id": ["B1", "B1"],
            "channel": ["CH01", "CH01"],
            "start": ["2026-03-02 10:00:00", "yesterday"],
            "end": ["2026-03-02 10:20:00", "2026-03-02 11:00:00"],
        }
    )
    credited, _ = credit_quarter_hours(log, ONE_HOUSE, MeasureConfig(channels=CHANNELS))
    assert credited.quality["bad_timestamp"] == 1
    assert credited.quality["events_credited"] == 1
    assert credited.tuned.height == 2


def test_channels_default_to_those_seen_in_the_log() -> None:
    credited, _ = credit_quarter_hours(
        viewing(
            [("B1", "ZED", at("10:00"), at("10:15")), ("B1", "ALPHA", at("11:00"), at("11:15"))]
        ),
        ONE_HOUSE,
        MeasureConfig(),
    )
    assert credited.channels == ("ALPHA", "ZED")
    assert credited.quality["unknown_channel"] == 0


def test_missing_viewing_column_is_an_input_error() -> None:
    with pytest.raises(InputError, match="end"):
        credit_quarter_hours(
            pl.LazyFrame({"box_id": ["B1"], "channel": ["CH01"], "start": [at("10:00")]}),
            ONE_HOUSE,
            MeasureConfig(channels=CHANNELS),
        )


def test_k_under_the_floor_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="k_min"):
        MeasureConfig(k_min=9)
    MeasureConfig(k_min=10)


def test_config_reports_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        MeasureConfig(credit_minutes=20, light_hours=7, dp_epsilon=1.0)
    paths = {path for path, _ in caught.value.problems}
    assert paths == {
        "measure.credit_minutes",
        "measure.light_hours",
        "measure.channels",
        "measure.period",
    }
