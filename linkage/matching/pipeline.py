"""``match``: blind multi-pass linkage of a campaign's and an operator's token files.

candidates (hash joins on tokens) -> group support -> pattern counts -> EM -> weights ->
assignment -> households, members, match report (+ the private pairs frame).

The two token files are only scanned by streaming queries; what is held in memory is the
payloads (one row per record) and the candidate pairs (one row per pair sharing a token).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import polars as pl

from hashing.errors import InputError
from linkage.contracts import check_frame
from linkage.matching.assign import REASONS, Assignment, assign
from linkage.matching.candidates import (
    TokenCounts,
    add_group_support,
    candidate_pairs,
    index_pairs,
    pattern_counts,
    prepared_payloads,
    token_counts,
    token_counts_query,
)
from linkage.matching.config import MatchConfig
from linkage.matching.em import FSModel, fit_em, gamma_from_masks, with_non_candidates
from linkage.matching.outputs import (
    PAIRS,
    Randomness,
    decided_pairs,
    households_and_members,
    pattern_table,
    private_pairs,
    report_frame,
    section,
    weight_histogram,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatchResult:
    """What one matching run produces.

    ``households`` and ``members`` go to measurement, ``report`` to both list owners;
    ``pairs`` (contract ``PAIRS``) stays in the matcher's private folder, for evaluation
    only. ``model`` is the fitted Fellegi–Sunter model; ``unmatched`` counts campaign
    records per reason.
    """

    households: pl.DataFrame
    members: pl.DataFrame
    report: pl.DataFrame
    pairs: pl.DataFrame
    model: FSModel
    unmatched: dict[str, int]


def match(
    campaign_tokens: pl.LazyFrame | pl.DataFrame,
    operator_tokens: pl.LazyFrame | pl.DataFrame,
    campaign_payloads: pl.LazyFrame | pl.DataFrame,
    operator_payloads: pl.LazyFrame | pl.DataFrame,
    config: MatchConfig,
) -> MatchResult:
    """Link campaign records to operator accounts through their tokens alone.

    Inputs follow the contracts ``tokens``, ``campaign_payloads`` and
    ``operator_payloads`` (checked here). Raises ``InputError`` when a frame breaks its
    contract, a ref is malformed or repeated, or a token names a record that has no
    payload row. See ``docs/matching.md`` for the method.
    """
    clock = _Stopwatch()
    c_tokens, o_tokens = campaign_tokens.lazy(), operator_tokens.lazy()
    check_frame(c_tokens, "tokens")
    check_frame(o_tokens, "tokens")
    check_frame(campaign_payloads, "campaign_payloads")
    check_frame(operator_payloads, "operator_payloads")

    c_pay = prepared_payloads(campaign_payloads.lazy(), "a", "sealed_segments", "campaign_payloads")
    o_pay = prepared_payloads(operator_payloads.lazy(), "b", "sealed_boxes", "operator_payloads")
    c_agg, o_agg = pl.collect_all(
        [token_counts_query(c_tokens), token_counts_query(o_tokens)], engine="streaming"
    )
    c_counts, o_counts = token_counts(c_agg, config), token_counts(o_agg, config)
    clock.lap("payloads and token counts")

    pairs = candidate_pairs(c_tokens, o_tokens, config).collect(engine="streaming")
    clock.lap("candidate pairs")
    pairs = index_pairs(pairs, c_pay, o_pay)
    pairs = add_group_support(pairs, c_pay.get_column("group"), config)
    clock.lap("group support")
    log.info("candidate pairs: %d", pairs.height)

    patterns = pattern_counts(pairs)
    space = c_pay.height * o_pay.height
    masks, counts = with_non_candidates(
        patterns.get_column("mask").to_numpy(), patterns.get_column("pairs").to_numpy(), space
    )
    gamma = gamma_from_masks(masks, len(config.features))
    model = fit_em(config.features, gamma, counts, config.em).with_u_floor(1.0 / max(space, 1))
    log.info("EM: %d iterations, converged=%s", model.iterations, model.converged)

    table = pattern_table(patterns.get_column("mask").to_list(), model, config)
    scored = pairs.join(
        table.select("mask", "weight", "posterior", "first_recipe"), on="mask", how="left"
    )
    clock.lap("EM and weights")
    held_back = 0
    if not config.accept_household_only:
        scored, held_back = _without_household_only(scored, config)
    assignment = assign(scored, config)
    clock.lap("assignment")

    households, members, _ = households_and_members(
        assignment.matches, c_pay, o_pay, Randomness(config.seed)
    )
    check_frame(households, "households")
    check_frame(members, "members")
    decided = decided_pairs(scored, assignment.matches)
    pairs_out = private_pairs(decided, c_pay, o_pay)
    check_frame_private(pairs_out)
    clock.lap("outputs")

    unmatched = assignment.reason_counts()
    unmatched["household_only"] = held_back
    unmatched["no_candidate"] = c_pay.height - scored.get_column("a").n_unique() - held_back
    report = _report(
        config,
        c_pay.height,
        o_pay.height,
        c_counts,
        o_counts,
        patterns,
        table,
        model,
        decided,
        assignment,
        unmatched,
        households.height,
    )
    check_frame(report, "match_report")
    log.info("matched voters: %d, households: %d", assignment.matches.height, households.height)
    return MatchResult(households, members, report, pairs_out, model, unmatched)


class _Stopwatch:
    """Logs the seconds each stage took (debug level)."""

    def __init__(self) -> None:
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        log.debug("%s: %.2f s", stage, now - self._last)
        self._last = now


def _without_household_only(scored: pl.DataFrame, config: MatchConfig) -> tuple[pl.DataFrame, int]:
    """Drop the candidate pairs of voters whose every pair agrees at household level only.

    Returns the remaining pairs and how many voters were held back (reason
    ``household_only``). A voter with at least one person-level agreement keeps all its
    pairs, so assignment still sees its competing addresses.
    """
    person = 0
    for recipe in config.recipes:
        if recipe.level == "person":
            person |= config.bit(recipe.name)
    has_person = (pl.col("mask") & person) != 0
    keep = has_person.any().over("a")
    held = scored.filter(~keep).get_column("a").n_unique()
    return scored.filter(keep), held


def check_frame_private(pairs: pl.DataFrame) -> None:
    """Raise ``InputError`` unless ``pairs`` has exactly the columns and dtypes of ``PAIRS``."""
    if dict(pairs.schema) != PAIRS:
        raise InputError("pairs frame does not match its contract (linkage.matching.PAIRS)")


def _report(
    config: MatchConfig,
    campaign_records: int,
    operator_records: int,
    c_counts: TokenCounts,
    o_counts: TokenCounts,
    patterns: pl.DataFrame,
    table: pl.DataFrame,
    model: FSModel,
    decided: pl.DataFrame,
    assignment: Assignment,
    unmatched: dict[str, int],
    households: int,
) -> pl.DataFrame:
    """Aggregate figures only: counts, rates, estimated parameters, a weight histogram."""
    voters = assignment.matches.height
    candidates = decided.height
    summary = {
        "campaign_records": campaign_records,
        "operator_records": operator_records,
        "campaign_tokens": c_counts.total,
        "operator_tokens": o_counts.total,
        "campaign_tokens_unconfigured": c_counts.unconfigured,
        "operator_tokens_unconfigured": o_counts.unconfigured,
        "campaign_tokens_malformed": c_counts.malformed,
        "operator_tokens_malformed": o_counts.malformed,
        "comparison_space": float(campaign_records) * float(operator_records),
        "candidate_pairs": candidates,
        "campaign_records_with_candidates": campaign_records - unmatched["no_candidate"],
        "matched_voters": voters,
        "matched_households": households,
        "match_rate": voters / campaign_records if campaign_records else 0.0,
        "household_match_rate": households / operator_records if operator_records else 0.0,
        "voters_per_household": voters / households if households else 0.0,
        "min_posterior": config.min_posterior,
        "one_to_one": float(config.link_type == "one_to_one"),
        "waterfall": float(config.mode == "waterfall"),
    }
    masks = patterns.get_column("mask").to_list()
    pair_counts = patterns.get_column("pairs").to_list()
    first = decided.filter("matched").get_column("first_recipe").value_counts()
    first_counts = {str(k): int(n) for k, n in first.iter_rows()}
    recipe: dict[str, float] = {}
    for i, name in enumerate(config.features):
        if name in c_counts.per_recipe:
            recipe[f"{name}.campaign_tokens"] = c_counts.per_recipe[name]
            recipe[f"{name}.operator_tokens"] = o_counts.per_recipe[name]
        recipe[f"{name}.candidate_pairs"] = sum(
            n for m, n in zip(masks, pair_counts, strict=True) if m >> i & 1
        )
        if name in c_counts.per_recipe:
            recipe[f"{name}.matched_first"] = first_counts.get(name, 0)
    pattern = dict(zip(table.get_column("pattern").to_list(), pair_counts, strict=True))
    em: dict[str, float] = {
        "prior": model.p,
        "prior_log2_odds": model.prior_log2_odds,
        "iterations": model.iterations,
        "converged": float(model.converged),
    }
    agree, disagree = model.agree_weights, model.disagree_weights
    for i, name in enumerate(config.features):
        em[f"{name}.m"] = model.m[i]
        em[f"{name}.u"] = model.u[i]
        em[f"{name}.weight_agree"] = agree[i]
        em[f"{name}.weight_disagree"] = disagree[i]
    histogram = weight_histogram(decided.get_column("weight"), config.weight_bin)
    rows = (
        section("summary", summary)
        + section("recipe", recipe)
        + section("pattern", pattern)
        + section("unmatched", {r: unmatched.get(r, 0) for r in REASONS})
        + section("em", em)
        + section("weights", histogram)
    )
    return report_frame(rows)
