"""What the matcher hands on: households and members for measurement, the aggregate match
report for the list owners, and the private pairs frame it keeps for evaluation.

``households`` and ``members`` carry no campaign or operator ``ref``: each matched account
gets a fresh random 16-byte ``household`` reference minted here, and both frames are
shuffled, so their row order says nothing about either input file.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping

import numpy as np
import polars as pl
import pyarrow as pa

from linkage.contracts import REF_BYTES
from linkage.matching.config import MatchConfig
from linkage.matching.em import FSModel, gamma_from_masks

# The private pairs frame: every candidate pair, scored, with the decision. It never
# leaves the matcher's private folder (evaluation only).
PAIRS: dict[str, pl.DataType] = {
    "campaign_ref": pl.Binary(),
    "operator_ref": pl.Binary(),
    "weight": pl.Float64(),
    "posterior": pl.Float64(),
    "first_recipe": pl.String(),
    "matched": pl.Boolean(),
}


class Randomness:
    """Random household references and shuffle keys for one run.

    Without a seed, references come from the operating system's CSPRNG (``secrets``) and
    shuffles from a generator seeded from it; with a seed (tests), both are reproducible.
    """

    def __init__(self, seed: int | None) -> None:
        self._seeded = seed is not None
        self._rng = np.random.default_rng(seed if seed is not None else secrets.randbits(128))

    def refs(self, n: int) -> pl.Series:
        """``n`` distinct random 16-byte references (Binary)."""
        size = REF_BYTES * n
        while True:
            raw = self._rng.bytes(size) if self._seeded else secrets.token_bytes(size)
            buffer = pa.py_buffer(raw)
            array = pa.FixedSizeBinaryArray.from_buffers(pa.binary(REF_BYTES), n, [None, buffer])
            series = pl.Series("household", array).cast(pl.Binary())
            # a 128-bit collision is astronomically rare, but cheap to rule out
            if series.n_unique() == n:
                return series

    def sort_keys(self, n: int) -> pl.Series:
        """``n`` random 64-bit keys: sorting by them is a uniform shuffle."""
        return pl.Series("_shuffle", self._rng.integers(0, 2**63, size=n, dtype=np.int64))


def households_and_members(
    matches: pl.DataFrame,
    campaign_payloads: pl.DataFrame,
    operator_payloads: pl.DataFrame,
    randomness: Randomness,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Mint a household per matched account; return ``(households, members, minted)``.

    ``matches`` holds ``(a, b)`` payload row numbers. ``minted`` (``b, household``) stays
    inside the matcher. Members are every matched voter's sealed segments under its
    household reference.
    """
    # Refs are minted and shuffle keys drawn in the order of the input refs (not of the
    # rows), so that a seeded run gives the same outputs however the inputs are ordered.
    accounts = matches.select("b").unique()
    accounts = accounts.sort(operator_payloads.get_column("b").gather(accounts.get_column("b")))
    minted = accounts.with_columns(randomness.refs(accounts.height))
    boxes = operator_payloads.get_column("sealed_boxes").gather(minted.get_column("b"))
    households = minted.select("household", boxes)
    voters = matches.sort(campaign_payloads.get_column("a").gather(matches.get_column("a")))
    voters = voters.join(minted, on="b", how="inner", maintain_order="left")
    segments = campaign_payloads.get_column("sealed_segments").gather(voters.get_column("a"))
    members = voters.select("household", segments)
    return _shuffled(households, randomness), _shuffled(members, randomness), minted


def _shuffled(frame: pl.DataFrame, randomness: Randomness) -> pl.DataFrame:
    """``frame`` in a uniformly random order."""
    keys = randomness.sort_keys(frame.height)
    return frame.with_columns(keys).sort("_shuffle").drop("_shuffle")


def pattern_table(masks: Iterable[int], model: FSModel, config: MatchConfig) -> pl.DataFrame:
    """Per agreement pattern: weight, posterior, first agreeing recipe, and a readable name."""
    mask_list = sorted(int(m) for m in masks)
    gamma = gamma_from_masks(mask_list, len(config.features))
    return pl.DataFrame(
        {
            "mask": mask_list,
            "weight": model.weights(gamma),
            "posterior": model.posteriors(gamma),
            "first_recipe": [_first_recipe(m, config) for m in mask_list],
            "pattern": [pattern_name(m, config) for m in mask_list],
        },
        schema={
            "mask": pl.UInt32(),
            "weight": pl.Float64(),
            "posterior": pl.Float64(),
            "first_recipe": pl.String(),
            "pattern": pl.String(),
        },
    )


def _first_recipe(mask: int, config: MatchConfig) -> str | None:
    for i, name in enumerate(config.names):
        if mask >> i & 1:
            return name
    return None


def pattern_name(mask: int, config: MatchConfig) -> str:
    """``email+address+group_support``; ``none`` for the all-disagree pattern."""
    names = [name for i, name in enumerate(config.features) if mask >> i & 1]
    return "+".join(names) if names else "none"


def decided_pairs(scored: pl.DataFrame, matches: pl.DataFrame) -> pl.DataFrame:
    """``scored`` with a ``matched`` flag (each record has at most one match)."""
    chosen = matches.select("a", pl.col("b").alias("b_match"))
    return (
        scored.join(chosen, on="a", how="left")
        .with_columns((pl.col("b") == pl.col("b_match")).fill_null(False).alias("matched"))
        .drop("b_match")
    )


def private_pairs(
    decided: pl.DataFrame, campaign_payloads: pl.DataFrame, operator_payloads: pl.DataFrame
) -> pl.DataFrame:
    """The private pairs frame (``PAIRS``): every candidate pair with its score and fate."""
    return decided.select(
        campaign_payloads.get_column("ref").gather(decided.get_column("a")).alias("campaign_ref"),
        operator_payloads.get_column("ref").gather(decided.get_column("b")).alias("operator_ref"),
        "weight",
        "posterior",
        "first_recipe",
        "matched",
    )


def weight_histogram(weights: pl.Series, width: float) -> dict[str, int]:
    """Counts of ``weights`` in bins ``[k*width, (k+1)*width)``, named ``[lo,hi)``."""
    if weights.is_empty():
        return {}
    bins = (weights / width).floor().cast(pl.Int64)
    counts = bins.value_counts().sort(bins.name)
    return {f"[{_fmt(k * width)},{_fmt((k + 1) * width)})": int(n) for k, n in counts.iter_rows()}


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def report_frame(rows: Iterable[tuple[str, str, float]]) -> pl.DataFrame:
    """The match report (contract ``match_report``) from ``(section, name, value)`` rows."""
    listed = list(rows)
    return pl.DataFrame(
        {
            "section": pl.Series([r[0] for r in listed], dtype=pl.String),
            "name": pl.Series([r[1] for r in listed], dtype=pl.String),
            "value": pl.Series([float(r[2]) for r in listed], dtype=pl.Float64),
        }
    )


def section(name: str, values: Mapping[str, float]) -> list[tuple[str, str, float]]:
    """Rows of one report section (NaN stands for a value that could not be estimated)."""
    return [(name, key, float(v)) for key, v in values.items()]
