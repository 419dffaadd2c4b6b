"""Assignment: which candidate pairs become links, and why the other voters stay unmatched.

Input is the scored pair frame: ``a, b, mask, weight, posterior`` (one row per candidate
pair; ``a`` and ``b`` are the records' row numbers in their payload frames, UInt32).
Output is an ``Assignment``: the accepted ``(a, b)`` pairs and, for every campaign record
that has candidates but stays unmatched, one reason:

``ambiguous_tie``      the best candidates (by weight, or in one waterfall pass) are several
                       accounts, with person-level evidence: nothing tells them apart.
``ambiguous_address``  the same with household-level evidence only; or a best pair that
                       agrees at household level only while the voter's household-level
                       tokens reach several accounts (support from a housemate does not
                       settle that: in a building whose units are missing, every account
                       may have a confirming neighbour).
``below_threshold``    the best pair is unique but not convincing: posterior under
                       ``min_posterior`` (waterfall: household-level agreement only, without
                       housemate support, when ``household_requires_support``).
``partner_taken``      one-to-one only: every acceptable partner was taken by a better pair.
``household_only``     every candidate pair agrees on household-level recipes only, and
                       the configuration does not accept such matches (the default).
``no_candidate``       the record shares no token with any account (counted, never listed).

Ambiguity is decided before the threshold: a voter tied between two accounts is reported
as ambiguous whatever the tied weight.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import polars as pl

from linkage.matching.candidates import ROW
from linkage.matching.config import MatchConfig

log = logging.getLogger(__name__)

REASONS: tuple[str, ...] = (
    "ambiguous_tie",
    "ambiguous_address",
    "below_threshold",
    "partner_taken",
    "household_only",
    "no_candidate",
)

# One-to-one Fellegi–Sunter assignment resolves in rounds; real data needs a handful.
MAX_ROUNDS = 10_000


@dataclass(frozen=True)
class Assignment:
    """Accepted pairs ``(a, b)`` and the unmatched campaign records ``(a, reason)``.

    ``unmatched`` lists only records with candidate pairs; ``no_candidate`` records are
    counted by the caller, who knows how many records came in.
    """

    matches: pl.DataFrame
    unmatched: pl.DataFrame

    def reason_counts(self) -> dict[str, int]:
        """Unmatched records with candidates, per reason (every reason present, maybe 0)."""
        counts = dict.fromkeys(REASONS, 0)
        for reason, n in self.unmatched.group_by("reason").len().iter_rows():
            counts[str(reason)] = int(n)
        return counts


def assign(scored: pl.DataFrame, config: MatchConfig) -> Assignment:
    """Dispatch on ``config.link_type`` and ``config.mode``."""
    if config.link_type == "many_to_one":
        if config.mode == "waterfall":
            return many_to_one_waterfall(scored, config)
        return many_to_one_fellegi_sunter(scored, config)
    if config.mode == "waterfall":
        return one_to_one_waterfall(scored, config)
    return one_to_one_fellegi_sunter(scored, config)


def _bits(value: int) -> pl.Expr:
    return pl.lit(value, pl.UInt32)


def _has(bits: int) -> pl.Expr:
    return (pl.col("mask") & _bits(bits)) != 0


def _empty_matches() -> pl.DataFrame:
    return pl.DataFrame(schema={"a": ROW, "b": ROW})


def _unmatched(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select("a", pl.col("reason").cast(pl.String))


def many_to_one_fellegi_sunter(scored: pl.DataFrame, config: MatchConfig) -> Assignment:
    """Each voter takes its unique highest-weight account, if convincing enough.

    A household may receive any number of voters. Rules, in order, per voter: a best
    weight shared by several accounts is ambiguous; a best pair with household-level
    agreement only is ambiguous when the voter's household-level tokens reach several
    accounts (housemate support cannot settle it: in a building whose units are missing,
    every account there may have a confirming neighbour); a unique best pair under
    ``min_posterior`` is below threshold.
    """
    flags = scored.lazy().select(
        "a",
        "b",
        "weight",
        "posterior",
        _has(config.person_bits).alias("person"),
        _has(config.household_bits).alias("household"),
    )
    per_voter = flags.group_by("a").agg(
        pl.col("weight").max().alias("top"),
        pl.col("household").sum().alias("household_accounts"),
    )
    best = (
        flags.join(per_voter, on="a")
        .filter(pl.col("weight") == pl.col("top"))
        .group_by("a")
        .agg(
            pl.len().alias("n_best"),
            pl.col("b").first(),
            pl.col("person").any().alias("best_person"),
            pl.col("posterior").first(),
            pl.col("household_accounts").first(),
        )
    )
    reason = (
        pl.when((pl.col("n_best") > 1) & pl.col("best_person"))
        .then(pl.lit("ambiguous_tie"))
        .when(pl.col("n_best") > 1)
        .then(pl.lit("ambiguous_address"))
        .when(~pl.col("best_person") & (pl.col("household_accounts") > 1))
        .then(pl.lit("ambiguous_address"))
        .when(pl.col("posterior") < config.min_posterior)
        .then(pl.lit("below_threshold"))
        .otherwise(None)
        .alias("reason")
    )
    decided = best.with_columns(reason).collect()
    matches = decided.filter(pl.col("reason").is_null()).select("a", "b")
    return Assignment(matches, _unmatched(decided.filter(pl.col("reason").is_not_null())))


def _passes(scored: pl.DataFrame, config: MatchConfig) -> pl.DataFrame:
    """One row per (pair, agreeing recipe) of the waterfall: ``a, b, rank, usable``.

    Uniqueness is judged over every agreeing account; ``usable`` says whether the
    agreement may decide. With ``household_requires_support``, a household-level
    agreement only decides when the pair carries housemate support.
    """
    parts = []
    for rank, recipe in enumerate(config.recipes):
        usable = pl.lit(True)
        if recipe.level == "household" and config.household_requires_support:
            usable = _has(config.support_bit) if config.support_bit else pl.lit(False)
        parts.append(
            scored.filter(_has(config.bit(recipe.name))).select(
                "a", "b", pl.lit(rank, pl.UInt8).alias("rank"), usable.alias("usable")
            )
        )
    return pl.concat(parts)


def _level_is_person(config: MatchConfig) -> pl.Expr:
    """``True`` where ``rank`` is a person-level recipe."""
    people = [i for i, r in enumerate(config.recipes) if r.level == "person"]
    return pl.col("rank").is_in(people)


def many_to_one_waterfall(scored: pl.DataFrame, config: MatchConfig) -> Assignment:
    """Each voter takes the account of the first recipe, in order, that yields exactly one."""
    per_pass = (
        _passes(scored, config)
        .group_by("a", "rank")
        .agg(pl.len().alias("n"), pl.col("b").first(), pl.col("usable").all())
    )
    matches = (
        per_pass.filter((pl.col("n") == 1) & pl.col("usable"))
        .group_by("a")
        .agg(pl.col("b").sort_by("rank").first())
    )
    ambiguous = (
        per_pass.filter(pl.col("n") > 1)
        .join(matches, on="a", how="anti")
        .group_by("a")
        .agg(_level_is_person(config).any().alias("person"))
        .select(
            "a",
            pl.when(pl.col("person"))
            .then(pl.lit("ambiguous_tie"))
            .otherwise(pl.lit("ambiguous_address"))
            .alias("reason"),
        )
    )
    rest = (
        scored.select("a")
        .unique()
        .join(matches, on="a", how="anti")
        .join(ambiguous, on="a", how="anti")
        .with_columns(pl.lit("below_threshold").alias("reason"))
    )
    return Assignment(matches, _unmatched(pl.concat([ambiguous, rest])))


def one_to_one_fellegi_sunter(scored: pl.DataFrame, config: MatchConfig) -> Assignment:
    """Each record on each side at most once: greedy by weight, ties ambiguous.

    Computed in rounds: a pair is accepted when it is the unique best of both of its
    records (a "mutually best" pair). With distinct weights this gives exactly the
    matching of the sequential greedy algorithm (take the heaviest pair, drop its records,
    repeat), but each round is one vectorized pass. When no pair is mutually and uniquely
    best, the heaviest remaining pairs are tied: the records whose best is tied are
    ambiguous and leave; the rest continue. Only pairs at or above ``min_posterior`` can
    be accepted.
    """
    household_only = ~_has(config.person_bits | config.support_bit)
    remaining = scored.filter(pl.col("posterior") >= config.min_posterior).select(
        "a", "b", "weight", household_only.alias("household_only")
    )
    accepted: list[pl.DataFrame] = []
    tied: list[pl.DataFrame] = []
    rounds = 0
    while remaining.height and rounds < MAX_ROUNDS:
        rounds += 1
        ranked = remaining.with_columns(
            (pl.col("weight") == pl.col("weight").max().over("a")).alias("top_a"),
            (pl.col("weight") == pl.col("weight").max().over("b")).alias("top_b"),
        ).with_columns(
            pl.col("top_a").sum().over("a").alias("n_a"),
            pl.col("top_b").sum().over("b").alias("n_b"),
        )
        dominant = ranked.filter(pl.col("top_a") & pl.col("top_b"))
        take = dominant.filter((pl.col("n_a") == 1) & (pl.col("n_b") == 1)).select("a", "b")
        if take.height:
            accepted.append(take)
            drop_a, drop_b = take.select("a"), take.select("b")
        else:
            # every dominant pair is tied on one side or the other: those records leave.
            stuck_a = dominant.filter(pl.col("n_a") > 1)
            drop_a = stuck_a.select("a").unique()
            drop_b = dominant.filter(pl.col("n_b") > 1).select("b").unique()
            tied.append(
                stuck_a.group_by("a").agg(pl.col("household_only").all().alias("household_only"))
            )
        remaining = remaining.join(drop_a, on="a", how="anti").join(drop_b, on="b", how="anti")
    if remaining.height:
        log.warning(
            "one-to-one assignment stopped after %d rounds; %d pairs left unassigned",
            rounds,
            remaining.height,
        )
        tied.append(
            remaining.group_by("a").agg(pl.col("household_only").all().alias("household_only"))
        )
    matches = pl.concat(accepted) if accepted else _empty_matches()
    ambiguous = _ambiguous_reasons(tied).join(matches, on="a", how="anti")
    eligible = scored.filter(pl.col("posterior") >= config.min_posterior).select("a").unique()
    return Assignment(matches, _one_to_one_unmatched(scored, matches, ambiguous, eligible))


def _ambiguous_reasons(tied: list[pl.DataFrame]) -> pl.DataFrame:
    if not tied:
        return pl.DataFrame(schema={"a": ROW, "reason": pl.String()})
    return (
        pl.concat(tied)
        .group_by("a")
        .agg(pl.col("household_only").all())
        .select(
            "a",
            pl.when(pl.col("household_only"))
            .then(pl.lit("ambiguous_address"))
            .otherwise(pl.lit("ambiguous_tie"))
            .alias("reason"),
        )
    )


def _one_to_one_unmatched(
    scored: pl.DataFrame, matches: pl.DataFrame, ambiguous: pl.DataFrame, eligible: pl.DataFrame
) -> pl.DataFrame:
    """Reasons of unmatched campaign records with candidates, one-to-one."""
    unmatched = scored.select("a").unique().join(matches, on="a", how="anti")
    rest = unmatched.join(ambiguous, on="a", how="anti").with_columns(
        pl.when(pl.col("a").is_in(eligible.get_column("a").implode()))
        .then(pl.lit("partner_taken"))
        .otherwise(pl.lit("below_threshold"))
        .alias("reason")
    )
    return _unmatched(pl.concat([ambiguous, rest]))


def one_to_one_waterfall(scored: pl.DataFrame, config: MatchConfig) -> Assignment:
    """Pass by pass, in recipe order, accept the pairs unique on both sides among the
    records still free; a record seen with several partners in a pass may still link in a
    later pass."""
    passes = _passes(scored, config)
    person_ranks = {i for i, r in enumerate(config.recipes) if r.level == "person"}
    accepted: list[pl.DataFrame] = []
    tied: list[pl.DataFrame] = []
    free = passes
    for rank in range(len(config.recipes)):
        here = free.filter(pl.col("rank") == rank).with_columns(
            pl.len().over("a").alias("n_a"), pl.len().over("b").alias("n_b")
        )
        unique = (pl.col("n_a") == 1) & (pl.col("n_b") == 1)
        take = here.filter(unique & pl.col("usable")).select("a", "b")
        tied.append(
            here.filter((pl.col("n_a") > 1) | (pl.col("n_b") > 1))
            .select("a")
            .unique()
            .with_columns(pl.lit(rank not in person_ranks).alias("household_only"))
        )
        accepted.append(take)
        free = free.join(take.select("a"), on="a", how="anti").join(
            take.select("b"), on="b", how="anti"
        )
    matches = pl.concat(accepted)
    ambiguous = _ambiguous_reasons(tied).join(matches, on="a", how="anti")
    eligible = passes.filter("usable").select("a").unique()
    return Assignment(matches, _one_to_one_unmatched(scored, matches, ambiguous, eligible))
