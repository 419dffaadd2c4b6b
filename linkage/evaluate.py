"""Precision, recall and F1 of a matching run against ground truth.

Only possible where the truth is known: a synthetic world, or a benchmark data set such
as Febrl. It joins things no party holds together in production: the matcher's private
pairs frame and both parties' crosswalks (``ref`` -> own record id). Nothing here runs in
the engagement pipeline.

Inputs:

- ``pairs``: the matcher's private pairs frame (``linkage.matching.PAIRS``): every
  candidate pair, its first agreeing recipe and whether it was matched;
- ``campaign_crosswalk``, ``operator_crosswalk``: ``ref, record_id``;
- ``voter_truth``, ``account_truth``: ``record_id, household_id`` (the true household or
  entity of each record; null when the record belongs to none).

Two levels:

- ``many_to_one`` (voter -> household): a voter counts once. It is a true link when its
  household has an account on the operator file; a match is right when the account's
  household is the voter's.
- ``one_to_one`` (record pairs, Febrl): a true pair is a campaign record and an operator
  record of the same entity; a match is right when it is a true pair.

Per recipe, matches are grouped by the first agreeing recipe of the matched pair, and
true links by the first agreeing recipe of their true pair when it is a candidate (else
under ``no_candidate``: no recipe could find it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from hashing.errors import InputError

NO_CANDIDATE = "no_candidate"
OVERALL = "overall"

EVALUATION: dict[str, pl.DataType] = {
    "scope": pl.String(),
    "matched": pl.Int64(),
    "true_positives": pl.Int64(),
    "false_positives": pl.Int64(),
    "true_links": pl.Int64(),
    "precision": pl.Float64(),
    "recall": pl.Float64(),
    "f1": pl.Float64(),
}


@dataclass(frozen=True)
class Evaluation:
    """One row per scope: ``overall``, each recipe, and ``no_candidate``.

    ``precision``/``recall``/``f1`` are null where undefined (nothing matched, no true
    link in that scope).
    """

    frame: pl.DataFrame
    level: str

    def as_dict(self) -> dict[str, dict[str, float | int | None]]:
        """``{scope: {metric: value}}``."""
        return {
            row["scope"]: {k: v for k, v in row.items() if k != "scope"}
            for row in self.frame.iter_rows(named=True)
        }

    @property
    def overall(self) -> dict[str, float | int | None]:
        """The ``overall`` row as a dict."""
        return self.as_dict()[OVERALL]


def evaluate(
    pairs: pl.DataFrame | pl.LazyFrame,
    campaign_crosswalk: pl.DataFrame | pl.LazyFrame,
    operator_crosswalk: pl.DataFrame | pl.LazyFrame,
    voter_truth: pl.DataFrame | pl.LazyFrame,
    account_truth: pl.DataFrame | pl.LazyFrame,
    link_type: Literal["many_to_one", "one_to_one"] = "many_to_one",
) -> Evaluation:
    """Score the matched pairs of ``pairs`` against the truth (see the module docs)."""
    _require(pairs, {"campaign_ref", "operator_ref", "weight", "first_recipe", "matched"}, "pairs")
    for frame, name in ((campaign_crosswalk, "campaign"), (operator_crosswalk, "operator")):
        _require(frame, {"ref", "record_id"}, f"{name} crosswalk")
    for frame, name in ((voter_truth, "voter"), (account_truth, "account")):
        _require(frame, {"record_id", "household_id"}, f"{name} truth")

    voters = (
        campaign_crosswalk.lazy()
        .join(voter_truth.lazy(), on="record_id", how="left")
        .select(campaign_ref="ref", truth_c="household_id")
    )
    accounts = (
        operator_crosswalk.lazy()
        .join(account_truth.lazy(), on="record_id", how="left")
        .select(operator_ref="ref", truth_o="household_id")
    )
    scored = (
        pairs.lazy()
        .select("campaign_ref", "operator_ref", "weight", "first_recipe", "matched")
        .join(voters, on="campaign_ref", how="left")
        .join(accounts, on="operator_ref", how="left")
        .with_columns(
            (pl.col("truth_c").is_not_null() & (pl.col("truth_c") == pl.col("truth_o"))).alias(
                "true_pair"
            )
        )
    )
    matched = scored.filter("matched").select(
        pl.col("first_recipe").alias("scope"), pl.col("true_pair").alias("right")
    )
    if link_type == "many_to_one":
        linkable = accounts.select(pl.col("truth_o").alias("truth_c")).drop_nulls().unique()
        truth = voters.join(linkable, on="truth_c", how="semi").select("campaign_ref")
        found = (
            scored.filter("true_pair")
            .sort("weight", descending=True)
            .group_by("campaign_ref")
            .agg(pl.col("first_recipe").first())
        )
        key = ["campaign_ref"]
    elif link_type == "one_to_one":
        truth = (
            voters.drop_nulls("truth_c")
            .join(accounts, left_on="truth_c", right_on="truth_o", how="inner")
            .select("campaign_ref", "operator_ref")
        )
        found = scored.filter("true_pair").select("campaign_ref", "operator_ref", "first_recipe")
        key = ["campaign_ref", "operator_ref"]
    else:
        raise InputError(f"link_type must be many_to_one or one_to_one, got '{link_type}'")
    links = (
        truth.join(found, on=key, how="left")
        .select(pl.col("first_recipe").fill_null(NO_CANDIDATE).alias("scope"))
        .group_by("scope")
        .agg(pl.len().cast(pl.Int64).alias("true_links"))
    )
    per_scope = (
        matched.group_by("scope")
        .agg(
            pl.len().cast(pl.Int64).alias("matched"),
            pl.col("right").sum().cast(pl.Int64).alias("true_positives"),
        )
        .join(links, on="scope", how="full", coalesce=True)
        .with_columns(pl.col("matched", "true_positives", "true_links").fill_null(0))
    )
    overall = per_scope.select(
        pl.lit(OVERALL).alias("scope"), pl.col("matched", "true_positives", "true_links").sum()
    )
    frame = (
        pl.concat([overall, per_scope.sort("scope")], how="diagonal")
        .with_columns((pl.col("matched") - pl.col("true_positives")).alias("false_positives"))
        .with_columns(_metrics())
        .select(list(EVALUATION))
        .collect()
        .cast(EVALUATION)  # type: ignore[arg-type]
    )
    return Evaluation(frame, link_type)


def _metrics() -> list[pl.Expr]:
    tp = pl.col("true_positives").cast(pl.Float64)
    precision = pl.when(pl.col("matched") > 0).then(tp / pl.col("matched"))
    recall = pl.when(pl.col("true_links") > 0).then(tp / pl.col("true_links"))
    return [
        precision.alias("precision"),
        recall.alias("recall"),
        pl.when((pl.col("matched") + pl.col("true_links")) > 0)
        .then(2 * tp / (pl.col("matched") + pl.col("true_links")))
        .alias("f1"),
    ]


def _require(frame: pl.DataFrame | pl.LazyFrame, columns: set[str], name: str) -> None:
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    missing = sorted(columns - set(schema))
    if missing:
        raise InputError(f"{name}: missing column(s) {', '.join(missing)}")
