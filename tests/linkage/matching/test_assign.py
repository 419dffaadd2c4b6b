"""Assignment rules on hand-made scored pairs (weights given, no EM)."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.matching.assign import Assignment, assign
from tests.linkage.matching.builders import config

CFG = config()
EMAIL, PHONE, ADDRESS, SUPPORT = (
    CFG.bit("email"),
    CFG.bit("phone"),
    CFG.bit("address"),
    CFG.support_bit,
)


def scored(rows: list[tuple[int, int, int, float, float]]) -> pl.DataFrame:
    """Scored pairs from ``(voter, account, mask, weight, posterior)`` rows."""
    return pl.DataFrame(
        rows,
        schema={
            "a": pl.UInt32,
            "b": pl.UInt32,
            "mask": pl.UInt32,
            "weight": pl.Float64,
            "posterior": pl.Float64,
        },
        orient="row",
    )


def links(result: Assignment) -> set[tuple[int, int]]:
    return set(result.matches.iter_rows())


def reasons(result: Assignment) -> dict[int, str]:
    return dict(result.unmatched.iter_rows())


# --- many-to-one, Fellegi–Sunter -------------------------------------------------------


def test_each_voter_takes_its_unique_best_account_and_households_hold_many() -> None:
    result = assign(
        scored(
            [
                (1, 10, EMAIL, 30.0, 0.99),
                (1, 11, ADDRESS, 5.0, 0.2),
                (2, 10, ADDRESS | SUPPORT, 25.0, 0.98),
                (3, 10, PHONE, 20.0, 0.97),
            ]
        ),
        CFG,
    )
    assert links(result) == {(1, 10), (2, 10), (3, 10)}
    assert reasons(result) == {}


def test_a_tie_between_accounts_is_ambiguous_and_says_which_kind() -> None:
    result = assign(
        scored(
            [
                (1, 10, PHONE, 20.0, 0.97),  # a phone shared by two accounts
                (1, 11, PHONE, 20.0, 0.97),
                (2, 10, ADDRESS, 9.0, 0.95),  # an address two accounts share
                (2, 11, ADDRESS, 9.0, 0.95),
            ]
        ),
        CFG,
    )
    assert links(result) == set()
    assert reasons(result) == {1: "ambiguous_tie", 2: "ambiguous_address"}


def test_an_unsupported_address_reaching_several_accounts_is_ambiguous_even_if_best() -> None:
    result = assign(scored([(1, 10, ADDRESS, 12.0, 0.95), (1, 11, ADDRESS, 11.0, 0.93)]), CFG)
    assert reasons(result) == {1: "ambiguous_address"}


def test_housemate_support_cannot_settle_an_address_several_accounts_share() -> None:
    # in a building whose units are missing, every account may have a confirming neighbour
    result = assign(
        scored([(1, 10, ADDRESS | SUPPORT, 40.0, 0.99), (1, 11, ADDRESS, 11.0, 0.93)]), CFG
    )
    assert reasons(result) == {1: "ambiguous_address"}


def test_person_evidence_settles_an_address_several_accounts_share() -> None:
    result = assign(
        scored([(1, 10, ADDRESS | PHONE, 40.0, 0.99), (1, 11, ADDRESS, 11.0, 0.93)]), CFG
    )
    assert links(result) == {(1, 10)}


def test_a_unique_best_under_the_threshold_is_below_threshold() -> None:
    result = assign(scored([(1, 10, ADDRESS, 3.0, 0.4), (2, 11, EMAIL, 30.0, 0.899)]), CFG)
    assert reasons(result) == {1: "below_threshold", 2: "below_threshold"}
    assert result.reason_counts()["below_threshold"] == 2


# --- one-to-one, Fellegi–Sunter --------------------------------------------------------

O2O = config(link_type="one_to_one")


def test_one_to_one_is_greedy_by_weight() -> None:
    result = assign(
        scored(
            [
                (1, 10, EMAIL, 30.0, 0.99),
                (1, 11, PHONE, 20.0, 0.97),
                (2, 10, PHONE, 25.0, 0.98),
                (2, 11, ADDRESS, 15.0, 0.95),
                (3, 11, ADDRESS, 12.0, 0.94),
            ]
        ),
        O2O,
    )
    assert links(result) == {(1, 10), (2, 11)}
    assert reasons(result) == {3: "partner_taken"}


def test_one_to_one_ties_are_ambiguous_and_free_the_contested_records() -> None:
    result = assign(
        scored(
            [
                (1, 10, EMAIL, 30.0, 0.99),
                (1, 11, EMAIL, 30.0, 0.99),
                (2, 10, PHONE, 20.0, 0.97),
            ]
        ),
        O2O,
    )
    assert links(result) == {(2, 10)}
    assert reasons(result) == {1: "ambiguous_tie"}


def test_one_to_one_never_accepts_a_pair_under_the_threshold() -> None:
    result = assign(scored([(1, 10, ADDRESS, 3.0, 0.4)]), O2O)
    assert links(result) == set()
    assert reasons(result) == {1: "below_threshold"}


def _sequential_greedy(rows: list[tuple[int, int, float]]) -> set[tuple[int, int]]:
    taken_a: set[int] = set()
    taken_b: set[int] = set()
    out = set()
    for a, b, _ in sorted(rows, key=lambda r: -r[2]):
        if a not in taken_a and b not in taken_b:
            out.add((a, b))
            taken_a.add(a)
            taken_b.add(b)
    return out


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), min_size=1, max_size=40, unique=True),
    st.randoms(use_true_random=False),
)
def test_one_to_one_rounds_give_the_sequential_greedy_matching(
    edges: list[tuple[int, int]], rnd: object
) -> None:
    weights = list(range(len(edges)))
    rnd.shuffle(weights)  # type: ignore[attr-defined]
    rows = [(a, b, float(w)) for (a, b), w in zip(edges, weights, strict=True)]
    result = assign(scored([(a, b, EMAIL, w, 0.99) for a, b, w in rows]), O2O)
    assert links(result) == _sequential_greedy(rows)


# --- waterfall -------------------------------------------------------------------------

WATERFALL = config(mode="waterfall")


def test_waterfall_takes_the_first_recipe_that_yields_one_account() -> None:
    result = assign(
        scored(
            [
                (1, 10, EMAIL | PHONE, 0.0, 0.0),  # email hits two accounts...
                (1, 11, EMAIL, 0.0, 0.0),  # ...phone singles out account 10
                (2, 12, ADDRESS | SUPPORT, 0.0, 0.0),
                (3, 13, ADDRESS, 0.0, 0.0),  # address without housemate support
                (4, 14, EMAIL, 0.0, 0.0),
                (4, 15, EMAIL, 0.0, 0.0),
            ]
        ),
        WATERFALL,
    )
    assert links(result) == {(1, 10), (2, 12)}
    assert reasons(result) == {3: "below_threshold", 4: "ambiguous_tie"}


def test_waterfall_judges_address_uniqueness_over_every_account_it_reaches() -> None:
    result = assign(
        scored([(1, 10, ADDRESS | SUPPORT, 0.0, 0.0), (1, 11, ADDRESS, 0.0, 0.0)]), WATERFALL
    )
    assert reasons(result) == {1: "ambiguous_address"}


def test_waterfall_can_accept_plain_address_agreement_when_told_to() -> None:
    cfg = config(mode="waterfall", household_requires_support=False)
    result = assign(
        scored(
            [(3, 13, ADDRESS, 0.0, 0.0), (5, 16, ADDRESS, 0.0, 0.0), (5, 17, ADDRESS, 0.0, 0.0)]
        ),
        cfg,
    )
    assert links(result) == {(3, 13)}
    assert reasons(result) == {5: "ambiguous_address"}


def test_one_to_one_waterfall_needs_uniqueness_on_both_sides() -> None:
    cfg = config(mode="waterfall", link_type="one_to_one")
    result = assign(
        scored(
            [
                (1, 10, EMAIL, 0.0, 0.0),
                (2, 10, EMAIL | PHONE, 0.0, 0.0),  # account 10 has two email voters
                (2, 11, PHONE, 0.0, 0.0),
                (3, 12, PHONE, 0.0, 0.0),
            ]
        ),
        cfg,
    )
    # email pass: account 10 is contested; phone pass: voter 2 has two accounts, 3 -> 12
    assert links(result) == {(3, 12)}
    assert reasons(result) == {1: "ambiguous_tie", 2: "ambiguous_tie"}
