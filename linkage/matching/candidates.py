"""Candidate pairs: equal tokens of the same recipe, and the agreement pattern of each pair.

A candidate pair is a (campaign record, operator record) pair that shares at least one
token of one recipe. It is found with hash joins on ``(recipe bit, token)``, never by
comparing records one by one, and the query runs on polars' streaming engine so that the
token files need not fit in memory at once.

Inside the matcher a 16-byte ``ref`` is carried as an unsigned 128-bit integer (the same
16 bytes, reinterpreted): hashing and grouping fixed-width integers is much cheaper than
hashing byte strings, and the mapping is exact, so nothing is lost or confused.

The agreement pattern of a pair is a ``UInt32`` bitmask: bit ``i`` is set when the pair
shares a token of recipe ``i`` (``MatchConfig.features`` order). A record may carry
several tokens of one recipe (surname variants): any shared one sets the bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from hashing.errors import InputError
from linkage.contracts import REF_BYTES, TOKEN_BYTES
from linkage.matching.config import MatchConfig

REF_INT = pl.UInt128()
MASK = pl.UInt32()


def ref_as_int(column: str = "ref") -> pl.Expr:
    """The 16-byte ``column`` as an unsigned 128-bit integer (null if not 16 bytes)."""
    return pl.col(column).bin.reinterpret(dtype=REF_INT, endianness="little")


def _recipe_bits(config: MatchConfig) -> dict[str, int]:
    return {name: 1 << i for i, name in enumerate(config.names)}


def _usable_tokens(tokens: pl.LazyFrame, config: MatchConfig, side: str) -> pl.LazyFrame:
    """Configured, well-formed tokens as ``(side, bit, token)``."""
    bits = _recipe_bits(config)
    return tokens.filter(
        pl.col("recipe").is_in(list(bits))
        & (pl.col("ref").bin.size() == REF_BYTES)
        & (pl.col("token").bin.size() == TOKEN_BYTES)
    ).select(
        ref_as_int().alias(side),
        pl.col("recipe").replace_strict(bits, return_dtype=MASK).alias("bit"),
        pl.col("token"),
    )


def candidate_pairs(
    campaign_tokens: pl.LazyFrame, operator_tokens: pl.LazyFrame, config: MatchConfig
) -> pl.LazyFrame:
    """Every pair sharing a token of the same recipe: ``a, b: UInt128, mask: UInt32``.

    One row per distinct ``(a, b)``; ``mask`` holds the recipe bits only (the
    group-support bit is added by ``add_group_support``). Duplicate token rows change
    nothing. Tokens of recipes not in ``config`` and malformed rows (a ref not 16 bytes,
    a token not 32 bytes) are left out; ``token_counts`` counts them.
    """
    left = _usable_tokens(campaign_tokens, config, "a")
    right = _usable_tokens(operator_tokens, config, "b")
    joined = left.join(right, on=["bit", "token"], how="inner")
    return joined.group_by("a", "b").agg(pl.col("bit").bitwise_or().alias("mask"))


@dataclass(frozen=True)
class TokenCounts:
    """Token rows of one side: per configured recipe, not configured, and malformed."""

    per_recipe: dict[str, int]
    unconfigured: int
    malformed: int

    @property
    def total(self) -> int:
        """Usable token rows (configured recipe, well-formed)."""
        return sum(self.per_recipe.values())


def token_counts_query(tokens: pl.LazyFrame) -> pl.LazyFrame:
    """Rows per recipe and malformed rows per recipe: one small aggregate."""
    ref_ok = pl.col("ref").bin.size() == REF_BYTES
    malformed = ~(ref_ok & (pl.col("token").bin.size() == TOKEN_BYTES))
    return tokens.group_by("recipe").agg(
        pl.len().alias("rows"), malformed.fill_null(True).sum().alias("malformed")
    )


def token_counts(aggregate: pl.DataFrame, config: MatchConfig) -> TokenCounts:
    """Read the result of ``token_counts_query`` into a ``TokenCounts``."""
    per_recipe = dict.fromkeys(config.names, 0)
    unconfigured = malformed = 0
    for recipe, rows, bad in aggregate.iter_rows():
        if recipe in per_recipe:
            per_recipe[recipe] = int(rows) - int(bad)
            malformed += int(bad)
        else:
            unconfigured += int(rows)
    return TokenCounts(per_recipe, unconfigured, malformed)


def prepared_payloads(payloads: pl.LazyFrame, side: str, blob: str, kind: str) -> pl.DataFrame:
    """The payloads of one side keyed by the integer ref ``side``; refs checked.

    Raises ``InputError`` (with counts only) when a ref is not 16 bytes or appears twice:
    a record must be one row, or it could be attached twice.
    """
    extra = ["group"] if "group" in payloads.collect_schema() else []
    frame = payloads.select(ref_as_int().alias(side), "ref", blob, *extra).collect()
    bad = frame.get_column(side).null_count()
    if bad:
        raise InputError(f"{kind}: {bad} rows have a 'ref' that is not {REF_BYTES} bytes")
    duplicates = frame.height - frame.get_column(side).n_unique()
    if duplicates:
        raise InputError(f"{kind}: {duplicates} rows repeat a 'ref' of an earlier row")
    return frame


def add_group_support(
    pairs: pl.LazyFrame, campaign_groups: pl.LazyFrame, config: MatchConfig
) -> pl.LazyFrame:
    """Set the group-support bit of each pair (household reasoning, DESIGN §7).

    A pair (voter ``a``, account ``b``) is supported when *another* voter of ``a``'s
    group (the campaign's keyed token of the home address) agrees with ``b`` by a
    person-level recipe: a housemate is the account holder, so an address agreement of
    ``a`` with ``b`` is very likely a true household link. ``campaign_groups`` is
    ``(a, group)``; a null group supports nothing.
    """
    if not config.group_support:
        return pairs
    person = pl.lit(config.person_bits, MASK)
    with_group = pairs.join(campaign_groups, on="a", how="left")
    has_person = (pl.col("mask") & person) != 0
    confirmers = (
        with_group.filter(has_person & pl.col("group").is_not_null())
        .group_by("group", "b")
        .agg(pl.len().alias("confirmers"))
    )
    others = pl.col("confirmers").cast(pl.Int64).fill_null(0) - has_person.cast(pl.Int64)
    support = pl.when(others > 0).then(pl.lit(config.support_bit, MASK)).otherwise(0)
    return (
        with_group.join(confirmers, on=["group", "b"], how="left", nulls_equal=False)
        .with_columns((pl.col("mask") | support).cast(MASK).alias("mask"))
        .select("a", "b", "mask")
    )


def pattern_counts(pairs: pl.DataFrame) -> pl.DataFrame:
    """How many candidate pairs show each agreement pattern: ``mask, pairs``."""
    return pairs.group_by("mask").agg(pl.len().alias("pairs")).sort("mask")
