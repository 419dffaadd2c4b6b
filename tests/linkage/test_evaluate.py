"""Precision, recall and F1 against ground truth, at both levels."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import pytest

from hashing.errors import InputError
from linkage.evaluate import EVALUATION, evaluate
from linkage.matching import match
from linkage.matching.synthetic import synthetic_world


def _ref(label: str) -> bytes:
    return label.encode().ljust(16, b"_")


def _pairs(rows: list[tuple[str, str, float, str, bool]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(_ref(c), _ref(o), w, r, m) for c, o, w, r, m in rows],
        schema={
            "campaign_ref": pl.Binary,
            "operator_ref": pl.Binary,
            "weight": pl.Float64,
            "first_recipe": pl.String,
            "matched": pl.Boolean,
        },
        orient="row",
    )


def _crosswalk(labels: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"ref": [_ref(x) for x in labels], "record_id": labels})


def _truth(mapping: Mapping[str, int | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"record_id": list(mapping), "household_id": list(mapping.values())},
        schema={"record_id": pl.String, "household_id": pl.Int64},
    )


VOTERS = {"v1": 1, "v2": 1, "v3": 2, "v4": 3, "v5": None, "v6": 9}
ACCOUNTS = {"a1": 1, "a2": 2, "a3": 3}


def test_many_to_one_counts_voters_against_their_household() -> None:
    pairs = _pairs(
        [
            ("v1", "a1", 30.0, "email", True),  # right
            ("v2", "a1", 20.0, "address", True),  # right (a housemate)
            ("v3", "a3", 15.0, "address", True),  # wrong household
            ("v3", "a2", 10.0, "address", False),  # the true pair, not chosen
            ("v5", "a2", 12.0, "address", True),  # a voter of no subscribing household
            # v4 (household 3) has no candidate pair; v6's household has no account
        ]
    )
    result = evaluate(
        pairs,
        _crosswalk(list(VOTERS)),
        _crosswalk(list(ACCOUNTS)),
        _truth(VOTERS),
        _truth(ACCOUNTS),
    )
    assert dict(result.frame.schema) == EVALUATION
    overall = result.overall
    assert overall["matched"] == 4
    assert overall["true_positives"] == 2
    assert overall["false_positives"] == 2
    assert overall["true_links"] == 4  # v1, v2, v3, v4 (v6's household has no account)
    assert overall["precision"] == pytest.approx(0.5)
    assert overall["recall"] == pytest.approx(0.5)
    assert overall["f1"] == pytest.approx(0.5)
    scopes = result.as_dict()
    assert scopes["email"]["precision"] == 1.0 and scopes["email"]["true_links"] == 1
    assert scopes["address"]["matched"] == 3 and scopes["address"]["true_positives"] == 1
    assert scopes["address"]["true_links"] == 2  # v2 and v3's true pair start at address
    assert scopes["no_candidate"]["true_links"] == 1 and scopes["no_candidate"]["recall"] == 0
    assert scopes["no_candidate"]["precision"] is None


def test_one_to_one_counts_record_pairs() -> None:
    voters = {"c1": 1, "c2": 2, "c3": 3}
    accounts = {"o1": 1, "o2": 2, "o4": 4}
    pairs = _pairs(
        [
            ("c1", "o1", 30.0, "name", True),
            ("c2", "o4", 10.0, "dob", True),
            ("c2", "o2", 9.0, "name", False),
        ]
    )
    result = evaluate(
        pairs,
        _crosswalk(list(voters)),
        _crosswalk(list(accounts)),
        _truth(voters),
        _truth(accounts),
        link_type="one_to_one",
    )
    overall = result.overall
    assert (overall["matched"], overall["true_positives"], overall["true_links"]) == (2, 1, 2)
    assert overall["precision"] == pytest.approx(0.5) and overall["recall"] == pytest.approx(0.5)
    assert result.as_dict()["name"]["true_links"] == 2


def test_missing_columns_are_named() -> None:
    with pytest.raises(InputError, match="record_id"):
        evaluate(
            _pairs([]),
            pl.DataFrame({"ref": [b"x"]}),
            _crosswalk([]),
            _truth({}),
            _truth({}),
        )


def test_the_matcher_is_precise_on_a_synthetic_world() -> None:
    w = synthetic_world(5000, seed=3)
    result = match(
        w.campaign_tokens,
        w.operator_tokens,
        w.campaign_payloads,
        w.operator_payloads,
        w.config(seed=1, accept_household_only=True),
    )
    scores = evaluate(
        result.pairs,
        w.campaign_crosswalk,
        w.operator_crosswalk,
        w.voter_truth,
        w.account_truth,
    ).overall
    assert scores["precision"] is not None and scores["precision"] > 0.97
    assert scores["recall"] is not None and scores["recall"] > 0.8
    # without household reasoning, plain address agreement costs precision or recall
    plain = match(
        w.campaign_tokens,
        w.operator_tokens,
        w.campaign_payloads,
        w.operator_payloads,
        w.config(seed=1, group_support=False, accept_household_only=True),
    )
    plain_scores = evaluate(
        plain.pairs,
        w.campaign_crosswalk,
        w.operator_crosswalk,
        w.voter_truth,
        w.account_truth,
    ).overall
    assert plain_scores["f1"] is not None and scores["f1"] is not None
    assert scores["f1"] > plain_scores["f1"]
