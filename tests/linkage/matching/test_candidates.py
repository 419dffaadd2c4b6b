"""Candidate pairs: token equality within a recipe, agreement masks, group support."""

from __future__ import annotations

import polars as pl
import pytest

from hashing.errors import InputError
from linkage.matching.candidates import (
    add_group_support,
    candidate_pairs,
    index_pairs,
    prepared_payloads,
    token_counts,
    token_counts_query,
)
from tests.linkage.matching.builders import campaign_payloads, config, ref, token_frame


def _pairs(campaign: pl.DataFrame, operator: pl.DataFrame) -> dict[tuple[bytes, bytes], int]:
    cfg = config()
    out = candidate_pairs(campaign.lazy(), operator.lazy(), cfg).collect()
    refs = {
        int.from_bytes(ref(label), "little"): ref(label)
        for label in ("v1", "v2", "v3", "a1", "a2", "a3")
    }
    return {(refs[a], refs[b]): m for a, b, m in out.iter_rows()}


def test_equal_tokens_of_one_recipe_make_a_pair_with_its_agreement_mask() -> None:
    campaign = token_frame([("v1", "email", "x"), ("v1", "address", "home"), ("v2", "phone", "p")])
    operator = token_frame([("a1", "email", "x"), ("a1", "address", "home"), ("a2", "phone", "q")])
    cfg = config()
    pairs = _pairs(campaign, operator)
    assert pairs == {(ref("v1"), ref("a1")): cfg.bit("email") | cfg.bit("address")}


def test_the_same_value_under_another_recipe_is_no_agreement() -> None:
    # the builder keys tokens by recipe, so build the clash by hand: same bytes, two recipes
    campaign = token_frame([("v1", "email", "x")])
    operator = token_frame([("a1", "email", "x")]).with_columns(recipe=pl.lit("phone"))
    assert _pairs(campaign, operator) == {}


def test_any_of_several_tokens_of_a_recipe_agrees_and_duplicates_change_nothing() -> None:
    campaign = token_frame(
        [("v1", "name_address", "smith"), ("v1", "name_address", "jones-smith")] * 3
    )
    operator = token_frame([("a1", "name_address", "jones-smith"), ("a2", "name_address", "x")])
    assert _pairs(campaign, operator) == {(ref("v1"), ref("a1")): config().bit("name_address")}


def test_tokens_under_another_key_never_pair() -> None:
    rows = [("v1", "email", "x"), ("v2", "address", "home")]
    campaign = token_frame(rows, key="campaign-key")
    operator = token_frame([("a1", "email", "x"), ("a2", "address", "home")], key="other-key")
    assert _pairs(campaign, operator) == {}


def test_unconfigured_and_malformed_tokens_are_left_out_and_counted() -> None:
    frame = pl.concat(
        [
            token_frame([("v1", "email", "x"), ("v1", "address", "h")]),
            token_frame([("v1", "shoe_size", "42")]),
            token_frame([("v2", "email", "y")]).with_columns(token=pl.lit(b"short")),
        ]
    )
    counts = token_counts(token_counts_query(frame.lazy()).collect(), config())
    assert counts.per_recipe == {"email": 1, "phone": 0, "name_address": 0, "address": 1}
    assert counts.unconfigured == 1
    assert counts.malformed == 1
    operator = token_frame([("a1", "email", "y")]).with_columns(token=pl.lit(b"short"))
    assert _pairs(frame, operator) == {}


def _support(
    campaign: pl.DataFrame, operator: pl.DataFrame, groups: dict[str, str | None]
) -> dict[str, bool]:
    cfg = config()
    pairs = candidate_pairs(campaign.lazy(), operator.lazy(), cfg).collect()
    c_pay = prepared_payloads(
        campaign_payloads(groups).lazy(), "a", "sealed_segments", "campaign_payloads"
    )
    accounts = operator.get_column("ref").unique()
    o_pay = prepared_payloads(
        pl.DataFrame({"ref": accounts, "sealed_boxes": accounts}).lazy(),
        "b",
        "sealed_boxes",
        "operator_payloads",
    )
    indexed = index_pairs(pairs, c_pay, o_pay)
    out = add_group_support(indexed, c_pay.get_column("group"), cfg)
    names = list(groups)
    return {names[a]: bool(m & cfg.support_bit) for a, _, m in out.iter_rows()}


def test_a_token_of_an_unknown_record_is_refused() -> None:
    campaign = token_frame([("v1", "email", "x"), ("v9", "email", "y")])
    operator = token_frame([("a1", "email", "x"), ("a1", "email", "y")])
    pairs = candidate_pairs(campaign.lazy(), operator.lazy(), config()).collect()
    c_pay = prepared_payloads(
        campaign_payloads({"v1": None}).lazy(), "a", "sealed_segments", "campaign_payloads"
    )
    o_pay = prepared_payloads(
        pl.DataFrame({"ref": [ref("a1")], "sealed_boxes": [b"box"]}).lazy(),
        "b",
        "sealed_boxes",
        "operator_payloads",
    )
    with pytest.raises(InputError, match="campaign tokens: 1 records have tokens but no row"):
        index_pairs(pairs, c_pay, o_pay)


def test_a_housemate_agreeing_by_a_person_recipe_supports_an_address_agreement() -> None:
    # v1 holds the account (email); v2 lives with v1 and shares only the address.
    # v3 lives elsewhere and shares the address token by mistake: no support.
    campaign = token_frame(
        [
            ("v1", "email", "x"),
            ("v1", "address", "home"),
            ("v2", "address", "home"),
            ("v3", "address", "home"),
        ]
    )
    operator = token_frame([("a1", "email", "x"), ("a1", "address", "home")])
    support = _support(campaign, operator, {"v1": "g1", "v2": "g1", "v3": "g2"})
    assert support == {"v1": False, "v2": True, "v3": False}


def test_the_voter_itself_never_supports_its_own_pair() -> None:
    campaign = token_frame([("v1", "email", "x"), ("v1", "address", "home")])
    operator = token_frame([("a1", "email", "x"), ("a1", "address", "home")])
    assert _support(campaign, operator, {"v1": "g1"}) == {"v1": False}


def test_a_household_recipe_agreement_of_a_housemate_is_no_support() -> None:
    campaign = token_frame([("v1", "address", "home"), ("v2", "address", "home")])
    operator = token_frame([("a1", "address", "home")])
    assert _support(campaign, operator, {"v1": "g1", "v2": "g1"}) == {"v1": False, "v2": False}


def test_a_missing_group_supports_nothing() -> None:
    campaign = token_frame([("v1", "email", "x"), ("v2", "address", "home")])
    operator = token_frame([("a1", "email", "x"), ("a1", "address", "home")])
    assert _support(campaign, operator, {"v1": None, "v2": None}) == {"v1": False, "v2": False}
