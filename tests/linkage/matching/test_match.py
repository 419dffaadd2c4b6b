"""``match`` end to end on a small hand-made world with known answers."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from hashing.errors import InputError
from linkage.contracts import check_frame
from linkage.matching import PAIRS, REASONS, MatchResult, match
from tests.linkage.matching.builders import (
    background,
    campaign_payloads,
    config,
    matched_pairs,
    operator_payloads,
    ref,
    token_frame,
)


def world() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    c_rows, o_rows, voters, accounts = background(200)
    c_rows += [
        # a couple: the holder agrees by person recipes, the spouse by address only
        ("holder", "email", "h@x"),
        ("holder", "phone", "555-1"),
        ("holder", "address", "1 elm"),
        ("spouse", "address", "1 elm"),
        # a mover: the address now belongs to a stranger's account
        ("mover", "email", "m@x"),
        ("mover", "address", "9 oak"),
        # a phone that two accounts share
        ("tied", "phone", "555-2"),
        # two voters of a building whose units are missing: one address, two accounts
        ("flat1", "address", "3 main"),
        ("flat2", "address", "3 main"),
        # a voter nobody knows
        ("lonely", "email", "nobody@x"),
    ]
    o_rows += [
        ("H", "email", "h@x"),
        ("H", "phone", "555-1"),
        ("H", "address", "1 elm"),
        ("M", "email", "stranger@x"),
        ("M", "address", "9 oak"),
        ("T1", "phone", "555-2"),
        ("T2", "phone", "555-2"),
        ("B1", "address", "3 main"),
        ("B2", "address", "3 main"),
    ]
    groups: dict[str, str | None] = {v: f"g-{v}" for v in voters}
    groups.update(
        holder="g-elm", spouse="g-elm", mover="g-oak", tied=None, flat1="g-3", flat2="g-3"
    )
    groups["lonely"] = "g-lonely"
    accounts += ["H", "M", "T1", "T2", "B1", "B2"]
    return (
        token_frame(c_rows),
        token_frame(o_rows),
        campaign_payloads(groups),
        operator_payloads(accounts),
    )


@pytest.fixture(scope="module")
def result() -> MatchResult:
    c_tokens, o_tokens, c_pay, o_pay = world()
    return match(c_tokens.lazy(), o_tokens.lazy(), c_pay.lazy(), o_pay.lazy(), config())


def test_known_matches_are_found(result: MatchResult) -> None:
    expected = {(ref(f"bgv{i}"), ref(f"bga{i}")) for i in range(200)}
    expected |= {(ref("holder"), ref("H")), (ref("spouse"), ref("H"))}
    assert matched_pairs(result.pairs) == expected


def test_unmatched_voters_are_counted_by_reason(result: MatchResult) -> None:
    assert result.unmatched == {
        "ambiguous_tie": 1,
        "ambiguous_address": 2,
        "below_threshold": 1,
        "partner_taken": 0,
        "household_only": 0,
        "no_candidate": 1,
    }


def test_household_only_voters_are_held_back_by_default(result: MatchResult) -> None:
    """Without ``accept_household_only`` a voter whose every agreement is the address
    (the spouse, the mover, the two flats) is not matched, and is counted under its own reason."""
    c_tokens, o_tokens, c_pay, o_pay = world()
    held = match(
        c_tokens.lazy(),
        o_tokens.lazy(),
        c_pay.lazy(),
        o_pay.lazy(),
        config(accept_household_only=False),
    )
    assert held.unmatched["household_only"] == 4  # spouse, mover, two flats
    assert held.unmatched["ambiguous_address"] == 0
    assert held.members.height == result.members.height - 1  # the spouse
    assert sum(held.unmatched.values()) + held.members.height == c_pay.height


def test_outputs_obey_their_contracts(result: MatchResult) -> None:
    check_frame(result.households, "households")
    check_frame(result.members, "members")
    check_frame(result.report, "match_report")
    assert dict(result.pairs.schema) == PAIRS
    assert result.households.height == 201  # 200 background accounts and H
    assert result.members.height == 202
    assert result.households.get_column("household").bin.size().unique().to_list() == [16]
    assert result.households.get_column("household").n_unique() == 201
    # every member belongs to a household that measurement receives
    assert set(result.members.get_column("household")) <= set(
        result.households.get_column("household")
    )
    # the couple's household holds both voters
    sizes = result.members.group_by("household").len().get_column("len").sort().to_list()
    assert sizes == [1] * 200 + [2]


def test_payloads_travel_with_the_right_household(result: MatchResult) -> None:
    _, _, c_pay, o_pay = world()
    boxes_of_h = o_pay.filter(pl.col("ref") == ref("H")).get_column("sealed_boxes").item()
    household = (
        result.households.filter(pl.col("sealed_boxes") == boxes_of_h).get_column("household")
    ).item()
    members = result.members.filter(pl.col("household") == household)
    expected = c_pay.filter(pl.col("ref").is_in([ref("holder"), ref("spouse")]))
    assert sorted(members.get_column("sealed_segments").to_list()) == sorted(
        expected.get_column("sealed_segments").to_list()
    )


def test_no_input_ref_appears_in_what_measurement_receives(result: MatchResult) -> None:
    _, _, c_pay, o_pay = world()
    refs = set(c_pay.get_column("ref")) | set(o_pay.get_column("ref"))
    blobs = [
        value
        for frame in (result.households, result.members)
        for column in frame.columns
        for value in frame.get_column(column).to_list()
    ]
    assert not any(r in blob for r in refs for blob in blobs)


def test_report_is_aggregate_and_reconciles(result: MatchResult) -> None:
    report = {(s, n): v for s, n, v in result.report.iter_rows()}
    assert report[("summary", "campaign_records")] == 207
    assert report[("summary", "operator_records")] == 206
    assert report[("summary", "matched_voters")] == 202
    assert report[("summary", "matched_households")] == 201
    unmatched = sum(report[("unmatched", r)] for r in REASONS)
    assert report[("summary", "matched_voters")] + unmatched == 207
    assert report[("summary", "match_rate")] == pytest.approx(202 / 207)
    assert report[("summary", "comparison_space")] == 207 * 206
    assert report[("recipe", "email.candidate_pairs")] > 0
    assert ("em", "address.m") in report and ("em", "group_support.weight_agree") in report
    histogram = sum(v for (s, _), v in report.items() if s == "weights")
    assert histogram == report[("summary", "candidate_pairs")]
    patterns = sum(v for (s, _), v in report.items() if s == "pattern")
    assert patterns == report[("summary", "candidate_pairs")]
    # names are metric names and values numbers: no ref or token bytes anywhere
    assert result.report.get_column("name").str.len_bytes().max() < 100  # type: ignore[operator]


def test_without_group_support_the_spouse_is_not_linked() -> None:
    c_tokens, o_tokens, c_pay, o_pay = world()
    result = match(c_tokens, o_tokens, c_pay, o_pay, config(group_support=False))
    assert (ref("spouse"), ref("H")) not in matched_pairs(result.pairs)
    assert (ref("holder"), ref("H")) in matched_pairs(result.pairs)


def test_waterfall_mode_links_the_same_known_households() -> None:
    c_tokens, o_tokens, c_pay, o_pay = world()
    result = match(c_tokens, o_tokens, c_pay, o_pay, config(mode="waterfall"))
    expected = {(ref(f"bgv{i}"), ref(f"bga{i}")) for i in range(200)}
    expected |= {(ref("holder"), ref("H")), (ref("spouse"), ref("H"))}
    assert matched_pairs(result.pairs) == expected


def test_a_token_of_a_record_without_payload_is_refused() -> None:
    c_tokens, o_tokens, c_pay, o_pay = world()
    with pytest.raises(InputError, match="campaign tokens: 1 records"):
        match(c_tokens, o_tokens, c_pay.filter(pl.col("ref") != ref("holder")), o_pay, config())


def test_a_repeated_payload_ref_is_refused() -> None:
    c_tokens, o_tokens, c_pay, o_pay = world()
    with pytest.raises(InputError, match="repeat"):
        match(c_tokens, o_tokens, pl.concat([c_pay, c_pay.head(1)]), o_pay, config())


def test_a_frame_off_its_contract_is_refused() -> None:
    c_tokens, o_tokens, c_pay, o_pay = world()
    with pytest.raises(InputError, match="tokens frame does not match"):
        match(c_tokens.rename({"token": "tok"}), o_tokens, c_pay, o_pay, config())


def test_error_messages_carry_no_ref_bytes() -> None:
    c_tokens, o_tokens, c_pay, o_pay = world()
    with pytest.raises(InputError) as info:
        match(c_tokens, o_tokens, c_pay.filter(pl.col("ref") != ref("holder")), o_pay, config())
    message = str(info.value)
    assert ref("holder").hex() not in message and repr(ref("holder")) not in message
    assert hashlib.sha256(b"").hexdigest() not in message


def test_seeded_runs_are_reproducible_and_unseeded_refs_are_fresh() -> None:
    c_tokens, o_tokens, c_pay, o_pay = world()
    one = match(c_tokens, o_tokens, c_pay, o_pay, config(seed=5))
    two = match(c_tokens, o_tokens, c_pay, o_pay, config(seed=5))
    assert one.households.equals(two.households) and one.members.equals(two.members)
    fresh = match(c_tokens, o_tokens, c_pay, o_pay, config(seed=None))
    assert not set(fresh.households.get_column("household")) & set(
        one.households.get_column("household")
    )
