"""Candidate pairs: equal tokens of the same recipe, and the agreement pattern of each pair.

A candidate pair is a (campaign record, operator record) pair that shares at least one
token of one recipe. It is found with hash joins on ``(recipe bit, token)``, never by
comparing records one by one, and the query runs on polars' streaming engine so that the
token files need not fit in memory at once.

Inside the join a 16-byte ``ref`` is carried as an unsigned 128-bit integer (the same 16
bytes, reinterpreted): hashing fixed-width integers is much cheaper than hashing byte
strings, and the mapping is exact. Right after the join, each pair's refs are replaced by
the row numbers of the two records in their payload frames (``index_pairs``): everything
downstream groups on 32-bit integers and fetches payload columns by position.

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
ROW = pl.UInt32()  # a record's row number in its payload frame


def ref_as_int(column: str = "ref") -> pl.Expr:
    """The 16-byte ``column`` as an unsigned 128-bit integer (null if not 16 bytes)."""
    return pl.col(column).bin.reinterpret(dtype=REF_INT, endianness="little")


def _recipe_tokens(tokens: pl.LazyFrame, recipe: str, side: str) -> pl.LazyFrame:
    """Well-formed tokens of one recipe as ``(side, token)``."""
    return tokens.filter(
        (pl.col("recipe") == recipe)
        & (pl.col("ref").bin.size() == REF_BYTES)
        & (pl.col("token").bin.size() == TOKEN_BYTES)
    ).select(ref_as_int().alias(side), "token")


def candidate_pairs(
    campaign_tokens: pl.LazyFrame, operator_tokens: pl.LazyFrame, config: MatchConfig
) -> pl.LazyFrame:
    """Every pair sharing a token of the same recipe: ``a, b: UInt128, mask: UInt32``.

    One hash join per recipe (each smaller than one join over all recipes: less memory,
    and measured faster), then one row per distinct ``(a, b)`` with the OR of the recipe
    bits. ``mask`` holds the recipe bits only (the group-support bit is added by
    ``add_group_support``). Duplicate token rows change nothing. Tokens of recipes not in
    ``config`` and malformed rows (a ref not 16 bytes, a token not 32 bytes) are left
    out; ``token_counts`` counts them.
    """
    per_recipe = [
        _recipe_tokens(campaign_tokens, recipe, "a")
        .join(_recipe_tokens(operator_tokens, recipe, "b"), on="token", how="inner")
        .select("a", "b", pl.lit(1 << i, MASK).alias("bit"))
        for i, recipe in enumerate(config.names)
    ]
    return pl.concat(per_recipe).group_by("a", "b").agg(pl.col("bit").bitwise_or().alias("mask"))


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
    """The payloads of one side, collected, with the integer ref ``side``; refs checked.

    Row ``i`` of the result is record ``i`` of the matcher: pairs refer to records by
    these row numbers. Raises ``InputError`` (with counts only) when a ref is not 16 bytes
    or appears twice: a record must be one row, or it could be attached twice.
    """
    extra = ["group"] if "group" in payloads.collect_schema() else []
    frame = payloads.select(ref_as_int().alias(side), "ref", blob, *extra).collect().rechunk()
    bad = frame.get_column(side).null_count()
    if bad:
        raise InputError(f"{kind}: {bad} rows have a 'ref' that is not {REF_BYTES} bytes")
    duplicates = frame.height - frame.get_column(side).n_unique()
    if duplicates:
        raise InputError(f"{kind}: {duplicates} rows repeat a 'ref' of an earlier row")
    return frame


def index_pairs(
    pairs: pl.DataFrame, campaign_payloads: pl.DataFrame, operator_payloads: pl.DataFrame
) -> pl.DataFrame:
    """Replace the integer refs ``a``, ``b`` of each pair by payload row numbers (UInt32).

    Raises ``InputError`` when a token names a record that has no payload row.
    """
    rows_a = campaign_payloads.select("a", pl.int_range(pl.len(), dtype=ROW).alias("row_a"))
    rows_b = operator_payloads.select("b", pl.int_range(pl.len(), dtype=ROW).alias("row_b"))
    indexed = (
        pairs.lazy()
        .join(rows_a.lazy(), on="a", how="left")
        .join(rows_b.lazy(), on="b", how="left")
        .select(pl.col("row_a").alias("a"), pl.col("row_b").alias("b"), "mask")
        .collect()
    )
    for side, party in (("a", "campaign"), ("b", "operator")):
        unknown = indexed.filter(pl.col(side).is_null()).get_column(side).len()
        if unknown:
            records = pairs.filter(indexed.get_column(side).is_null()).get_column(side)
            raise InputError(
                f"{party} tokens: {records.n_unique()} records have tokens but no row in "
                f"{party}_payloads"
            )
    return indexed


def add_group_support(
    pairs: pl.DataFrame, campaign_groups: pl.Series, config: MatchConfig
) -> pl.DataFrame:
    """Set the group-support bit of each pair (household reasoning, DESIGN §7).

    A pair (voter ``a``, account ``b``) is supported when *another* voter of ``a``'s
    group (the campaign's keyed token of the home address) agrees with ``b`` by a
    person-level recipe: a housemate is the account holder, so an address agreement of
    ``a`` with ``b`` is very likely a true household link. ``campaign_groups`` holds the
    group of each campaign record, by row number; a null group supports nothing.
    """
    if not config.group_support:
        return pairs
    has_person = (pl.col("mask") & pl.lit(config.person_bits, MASK)) != 0
    # voters of the group agreeing with the account by a person-level recipe, minus self
    confirmers = has_person.cast(pl.Int64).sum().over("group", "b")
    others = confirmers - has_person.cast(pl.Int64)
    supported = pl.col("group").is_not_null() & (others > 0)
    bit = pl.when(supported).then(pl.lit(config.support_bit, MASK)).otherwise(pl.lit(0, MASK))
    return pairs.with_columns(campaign_groups.gather(pairs.get_column("a")).alias("group")).select(
        "a", "b", (pl.col("mask") | bit).alias("mask")
    )


def pattern_counts(pairs: pl.DataFrame) -> pl.DataFrame:
    """How many candidate pairs show each agreement pattern: ``mask, pairs``."""
    return pairs.group_by("mask").agg(pl.len().alias("pairs")).sort("mask")
