"""Keyed tokens: canonical fields → recipes → HMAC-SHA256 tokens, vectorized.

A *recipe* names the canonical fields (optionally through a transform such as
``nysiis(last_name)``) whose values together form a match key. For each record and recipe
the canonical bytes are the components joined by the ASCII unit separator (0x1F, which no
normalized value contains); the token is HMAC-SHA256 under that recipe's own key, 32 raw
bytes. A record with any component missing gets **no token** for that recipe — a blank is
never hashed. A surname with variants (``SMITHJONES``, ``SMITH``, ``JONES``) yields one
token per variant, so either half of a compound surname can meet the other side.

The frequency guard drops a token value that more than ``frequency_ceiling`` records of
one file share: such a value is a placeholder, a blank in disguise or a frequency-attack
handle, and it would only produce ambiguous candidates.

Example::

    keys = {r.name: recipe_key(secret, r.canonical_spec()) for r in recipes}
    result = tokenize(canonical_frame, recipes, keys, frequency_ceiling=25)
    result.tokens      # ref, recipe, token
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import jellyfish
import numpy as np
import polars as pl

from hashing._crypto import JoinedHasher, joined_message
from hashing.canonical import VARIANTS
from hashing.errors import InputError
from hashing.normalize._common import by_distinct

UNIT_SEPARATOR = "\x1f"
UNIT_SEPARATOR_BYTES = UNIT_SEPARATOR.encode("ascii")
TOKEN_BYTES = 32


class RecipeLike(Protocol):
    """What the tokenizer needs of a recipe (``hashing.engagement.Recipe`` provides it)."""

    @property
    def name(self) -> str: ...

    @property
    def components(self) -> Sequence[tuple[str | None, str]]: ...

    def is_optional(self, component: Any) -> bool: ...


def _per_value(func: Callable[[str], str]) -> Callable[[pl.Series], pl.Series]:
    """A per-string function (a phonetic code) as a function of a column of distinct values."""

    def apply(distinct: pl.Series) -> pl.Series:
        return pl.Series([func(v) or None for v in distinct.to_list()], dtype=pl.String)

    return apply


def _present_only(func: Callable[[pl.Series], pl.Series]) -> Callable[[pl.Series], pl.Series]:
    """``func`` applied to the non-null values of a column; nulls stay null."""

    def apply(values: pl.Series) -> pl.Series:
        present = values.is_not_null()
        out = pl.Series(values.name, [None] * values.len(), pl.String)
        if not present.any():
            return out
        return out.scatter(present.arg_true(), func(values.filter(present)))

    return apply


def _map_distinct(series: pl.Series, func: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``func`` computed once per distinct value of ``series`` and spread back over its rows."""
    return by_distinct(series, _present_only(func))


def _distinct_expr(func: Callable[[pl.Series], pl.Series]) -> Callable[[pl.Expr], pl.Expr]:
    def apply(expr: pl.Expr) -> pl.Expr:
        return expr.map_batches(
            lambda s: _map_distinct(s, func), return_dtype=pl.String, is_elementwise=True
        )

    return apply


@cache
def _street_core_patterns() -> tuple[str, str]:
    from hashing.normalize.address import DIRECTIONALS, street_suffixes

    directionals = "|".join(sorted(set(DIRECTIONALS.values()), key=len, reverse=True))
    suffixes = "|".join(sorted(set(street_suffixes().values()), key=len, reverse=True))
    return rf"^(?:{directionals}) (\S.*)$|^(.*\S) (?:{directionals})$", rf"^(.*\S) (?:{suffixes})$"


def _street_core_values(streets: pl.Series) -> pl.Series:
    directional, suffix = _street_core_patterns()
    stripped = pl.col("s")
    for _ in range(2):  # a leading and a trailing directional
        stripped = (
            pl.when(stripped.str.contains(directional))
            .then(
                pl.concat_str(
                    stripped.str.extract(directional, 1).fill_null(""),
                    stripped.str.extract(directional, 2).fill_null(""),
                )
            )
            .otherwise(stripped)
        )
    core = pl.when(stripped.str.contains(suffix)).then(stripped.str.extract(suffix, 1))
    return pl.DataFrame({"s": streets}).select(core.otherwise(stripped)).to_series()


def _year(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Date, strict=False).dt.year().cast(pl.String)


# Transforms whose work is per value (Python or several regular expressions): computed
# once per distinct value of a column. ``core``: the street name without directionals and
# street type (``N MAIN ST`` → ``MAIN``), since the two sides of a match often disagree on
# exactly these parts; a name that is nothing but a type or a directional is kept whole.
DISTINCT_TRANSFORMS: dict[str, Callable[[pl.Series], pl.Series]] = {
    "nysiis": _per_value(jellyfish.nysiis),
    "soundex": _per_value(jellyfish.soundex),
    "metaphone": _per_value(jellyfish.metaphone),
    "core": _street_core_values,
}

TRANSFORMS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    **{name: _distinct_expr(func) for name, func in DISTINCT_TRANSFORMS.items()},
    "initial": lambda e: e.str.slice(0, 1),
    "first3": lambda e: e.str.slice(0, 3),
    "year": _year,
}


def _as_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Date:
        return expr.dt.to_string("%Y-%m-%d")
    return expr.cast(pl.String)


def component_expr(transform: str | None, field_name: str, dtype: pl.DataType) -> pl.Expr:
    """The canonical text of one recipe component; null (never "") when missing."""
    base = _as_text(pl.col(field_name), dtype)
    if transform is not None:
        if transform not in TRANSFORMS:
            raise InputError(f"unknown recipe transform '{transform}'")
        base = TRANSFORMS[transform](pl.col(field_name) if transform == "year" else base)
    text = base.str.strip_chars()
    return pl.when(text.str.len_bytes() > 0).then(text).otherwise(None)


def component_series(
    frame: pl.DataFrame, transform: str | None, field_name: str, *, cleaned: bool = False
) -> pl.Series:
    """:func:`component_expr` evaluated on ``frame``; a transformed component is computed
    once per distinct value of the column (not once per row, nor once per batch).

    ``cleaned=True`` promises that the column's text values are already trimmed and never
    blank (what :func:`hashing.canonical.canonicalize` produces), so an untransformed
    text component is taken as it is instead of being trimmed again row by row.
    """
    dtype = frame.schema[field_name]
    if transform is None and cleaned and dtype == pl.String:
        return frame.get_column(field_name)
    if transform is None:
        expr = component_expr(transform, field_name, dtype)
        return frame.select(expr.alias(field_name)).to_series()
    if transform not in TRANSFORMS:
        raise InputError(f"unknown recipe transform '{transform}'")

    def on_distinct(distinct: pl.Series) -> pl.Series:
        if transform in DISTINCT_TRANSFORMS:
            text = distinct.to_frame(field_name).select(_as_text(pl.col(field_name), dtype))
            coded = _present_only(DISTINCT_TRANSFORMS[transform])(text.to_series())
            return _blank_to_null(coded)
        expr = component_expr(transform, field_name, dtype)
        return distinct.to_frame(field_name).select(expr).to_series()

    return by_distinct(frame.get_column(field_name), on_distinct).alias(field_name)


def _blank_to_null(values: pl.Series) -> pl.Series:
    stripped = values.str.strip_chars()
    return pl.select(pl.when(stripped.str.len_bytes() > 0).then(stripped)).to_series()


@dataclass(frozen=True)
class TokenResult:
    """Tokens of one file plus the counts the party's summary reports."""

    tokens: pl.DataFrame  # ref: Binary(16), recipe: String, token: Binary(32)
    per_recipe: dict[str, int] = field(default_factory=dict)  # tokens kept
    dropped_by_guard: dict[str, int] = field(default_factory=dict)  # token rows dropped
    # Per input row (in the canonical frame's order): did any recipe keep a token for it?
    has_token: pl.Series | None = None


ROW = "_row_index"


def _surname_rows(canonical: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """(row index, last_name) with one row per surname variant, and the multi-variant flag.

    Most surnames have one variant; only the compound ones (a few percent) are exploded,
    so the surname recipes cost about one row per record, not a full explode. A row
    whose variants list is null has its ``last_name`` as its only variant (a caller may
    keep the lists of compound surnames only: the first variant is the surname itself).
    """
    variants = pl.col(VARIANTS)
    first = variants.list.first()
    if "last_name" in canonical.columns:
        first = pl.coalesce(first, pl.col("last_name").cast(pl.String))
    rows = canonical.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(ROW), first.alias("last_name"), variants
    )
    main = rows.select(ROW, "last_name")
    multi = rows.filter(variants.list.len() > 1)
    extra = multi.select(ROW, variants.list.slice(1).alias("last_name")).explode("last_name")
    flags = pl.concat(
        [
            (rows.get_column(VARIANTS).list.len() > 1).fill_null(False),
            pl.Series([True] * extra.height, dtype=pl.Boolean),
        ]
    )
    return pl.concat([main, extra]), flags


@dataclass(frozen=True)
class RecipeParts:
    """One recipe's components, row-aligned: ``rows`` gives each row's index in the
    canonical frame; ``dedupe`` marks the rows (records with several surname variants)
    that may repeat a message and must be kept once per (record, message)."""

    rows: pl.Series
    components: list[pl.Series]
    required: list[bool]
    dedupe: pl.Series | None


def recipe_parts(
    canonical: pl.DataFrame, recipes: Sequence[RecipeLike], *, cleaned: bool = False
) -> Iterator[RecipeParts]:
    """Each recipe's component columns, one row per record (per surname variant where
    the recipe uses the surname). Every component (``core(street)``,
    ``nysiis(last_name)``...) is computed once and shared by the recipes that use it.
    Yielded one recipe at a time, so a caller can hash one recipe while the next one's
    components are computed. ``cleaned``: see :func:`component_series`.
    """
    schema = canonical.schema
    for recipe in recipes:
        for _, field_name in recipe.components:
            if field_name not in schema:
                raise InputError(
                    f"recipe '{recipe.name}' needs canonical field '{field_name}', "
                    "which the input mapping does not provide"
                )
    uses_last = any(f == "last_name" for r in recipes for _, f in r.components)
    explode = uses_last and VARIANTS in schema
    wanted = sorted({f for r in recipes for _, f in r.components})
    base = canonical.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias(ROW), *wanted)
    surname = base
    flags: pl.Series | None = None
    if explode:
        # One row per surname variant: (row index, last_name); the other components of
        # these rows are gathered from the base rows, not computed again.
        surname, flags = _surname_rows(canonical)
    surname_rows = surname.get_column(ROW)

    cache: dict[tuple[bool, str | None, str], pl.Series] = {}

    def component(on_surname: bool, transform: str | None, field_name: str) -> pl.Series:
        key = (on_surname, transform, field_name)
        if key not in cache:
            if on_surname and field_name != "last_name":
                cache[key] = component(False, transform, field_name).gather(surname_rows)
            else:
                frame = surname if on_surname else base
                cache[key] = component_series(frame, transform, field_name, cleaned=cleaned)
        return cache[key]

    for recipe in recipes:
        on_surname = explode and any(f == "last_name" for _, f in recipe.components)
        transformed = any(t is not None and f == "last_name" for t, f in recipe.components)
        yield RecipeParts(
            rows=(surname if on_surname else base).get_column(ROW),
            components=[component(on_surname, t, f) for t, f in recipe.components],
            required=[not recipe.is_optional(c) for c in recipe.components],
            # Two variants can share a code (nysiis of both halves).
            dedupe=flags if on_surname and transformed else None,
        )


def recipe_messages(
    canonical: pl.DataFrame, recipes: Sequence[RecipeLike], *, cleaned: bool = False
) -> list[pl.DataFrame]:
    """Each recipe's rows ``(_row_index: UInt32, message: String)``, no null messages.

    ``_row_index`` is the row of ``canonical`` the message belongs to; a surname recipe
    has one row per distinct message of the record's surname variants. The message is
    the components joined by 0x1F; a missing optional component (e.g. the unit of an
    address) is empty, a missing required one means no message.
    """
    out: list[pl.DataFrame] = []
    for parts in recipe_parts(canonical, recipes, cleaned=cleaned):
        message = joined_message(parts.components, parts.required, UNIT_SEPARATOR)
        rows = pl.DataFrame([parts.rows, message])
        out.append(_dedupe(rows, parts.dedupe, "message").drop_nulls("message"))
    return out


def _dedupe(rows: pl.DataFrame, flags: pl.Series | None, value: str) -> pl.DataFrame:
    """Keep one row per (record, value); only the flagged rows can repeat."""
    return rows if flags is None else rows.filter(_first_per_record(rows, flags, value))


def _first_per_record(rows: pl.DataFrame, flags: pl.Series, value: str) -> pl.Series:
    """False for a flagged row that repeats an earlier flagged row's (record, value)."""
    repeat = rows.filter(flags).select(~pl.struct(ROW, value).is_first_distinct()).to_series()
    drop = np.zeros(rows.height, dtype=bool)
    drop[flags.to_numpy()] = repeat.to_numpy()
    return pl.Series("keep", ~drop)


def shared_by_more_than(
    values: pl.Series, limit: int, hashes: np.ndarray | None = None
) -> pl.Series:
    """True for each non-null value that more than ``limit`` rows of ``values`` share.

    Rows are counted per bucket of a 64-bit hash (a bucket's count is at least the count
    of any value in it), and only the rows of buckets over the limit — the shared values
    and a few bystanders — are counted exactly on their values. So the answer is exact,
    and the cost is a hash and a histogram for all but a handful of rows. ``hashes``:
    a 64-bit hash per row when the caller has one (the first bytes of a token).
    """
    n = values.len()
    present = values.is_not_null().to_numpy()
    # About 4 / limit rows a bucket: a bucket then passes the limit by chance almost
    # never (Poisson tail), and the histogram stays small enough for the cache.
    target = max(1024, 4 * n // max(limit, 1))
    buckets = 1 << min(22, (target - 1).bit_length())  # at most 32 MiB of counts
    keys = values.hash().to_numpy() if hashes is None else hashes
    slot = (keys & np.uint64(buckets - 1)).astype(np.int64)
    counts = np.bincount(slot[present], minlength=buckets)
    flags = (counts[slot] > limit) & present
    if flags.any():
        suspects = values.filter(pl.Series(flags)).to_frame("v")
        flags[flags] = suspects.select(pl.len().over("v") > limit).to_series().to_numpy()
    return pl.Series("over", flags)


@dataclass(frozen=True)
class RecipeTokens:
    """One recipe's kept tokens: ``rows`` is ``(_row_index: UInt32, token: Binary)``."""

    rows: pl.DataFrame
    dropped: int  # rows the frequency guard dropped
    hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))


def recipe_tokens(
    canonical: pl.DataFrame,
    recipes: Sequence[RecipeLike],
    keys: Mapping[str, bytes],
    *,
    frequency_ceiling: int,
    cleaned: bool = False,
    unguarded: Collection[str] = (),
) -> list[RecipeTokens]:
    """Each recipe's tokens after the frequency guard, keyed by row of ``canonical``.

    The components of all recipes are hashed together on every core, read in place (no
    message column is built). Equal tokens mean equal messages, so the guard counts
    tokens. ``cleaned``: see :func:`component_series`. Recipes named in ``unguarded`` are
    returned before the guard (the caller applies it to the rows it keeps, with
    :func:`guarded`).
    """
    if frequency_ceiling < 1:
        raise InputError("frequency_ceiling must be at least 1")
    missing = [r.name for r in recipes if r.name not in keys]
    if missing:
        raise InputError(f"no key for recipe(s): {', '.join(missing)}")
    out: list[RecipeTokens] = []
    with JoinedHasher(UNIT_SEPARATOR_BYTES) as hasher:
        # Each recipe is hashed on the worker threads as soon as its components are
        # ready, while the next recipe's components are computed here.
        pending = [
            (p, hasher.submit(p.components, p.required, keys[r.name]))
            for r, p in zip(recipes, recipe_parts(canonical, recipes, cleaned=cleaned), strict=True)
        ]
        for recipe, (p, result) in zip(recipes, pending, strict=True):
            tokens, mask, hashes = result()
            rows = pl.DataFrame([p.rows.filter(mask).alias(ROW), tokens.alias("token")])
            if p.dedupe is not None:
                keep = _first_per_record(rows, p.dedupe.filter(mask), "token")
                rows, hashes = rows.filter(keep), hashes[keep.to_numpy()]
            if recipe.name in unguarded:
                out.append(RecipeTokens(rows, 0, hashes))
            else:
                out.append(guarded(RecipeTokens(rows, 0, hashes), frequency_ceiling))
    return out


def guarded(
    tokens: RecipeTokens, frequency_ceiling: int, keep: np.ndarray | None = None
) -> RecipeTokens:
    """The frequency guard: ``tokens`` (optionally only the rows where ``keep`` is true)
    without the token values more than ``frequency_ceiling`` rows share. Within a recipe
    each (row, token) is unique, so the number of rows sharing a token is the number of
    records sharing it."""
    rows, hashes = tokens.rows, tokens.hashes
    if keep is not None:
        rows, hashes = rows.filter(pl.Series(keep)), hashes[keep]
    over = shared_by_more_than(rows.get_column("token"), frequency_ceiling, hashes)
    kept = rows.filter(~over)
    return RecipeTokens(kept, tokens.dropped + rows.height - kept.height, hashes[~over.to_numpy()])


def long_tokens(
    refs: pl.Series, recipes: Sequence[RecipeLike], results: Sequence[RecipeTokens]
) -> pl.DataFrame:
    """Tokens in long form ``(ref, recipe, token)`` from :func:`recipe_tokens`' rows."""
    parts = [
        pl.DataFrame(
            [
                refs.gather(result.rows.get_column(ROW)).alias("ref"),
                pl.repeat(recipe.name, result.rows.height, dtype=pl.String, eager=True).alias(
                    "recipe"
                ),
                result.rows.get_column("token"),
            ]
        )
        for recipe, result in zip(recipes, results, strict=True)
    ]
    if not parts:
        return pl.DataFrame(schema={"ref": pl.Binary, "recipe": pl.String, "token": pl.Binary})
    return pl.concat(parts, how="vertical")


def rows_with_token(n: int, results: Sequence[RecipeTokens]) -> pl.Series:
    """Per row of the canonical frame: did any of ``results`` keep a token for it?"""
    flags = np.zeros(n, dtype=bool)
    for result in results:
        flags[result.rows.get_column(ROW).to_numpy()] = True
    return pl.Series("has_token", flags)


def tokenize(
    canonical: pl.DataFrame,
    recipes: Sequence[RecipeLike],
    keys: Mapping[str, bytes],
    *,
    frequency_ceiling: int,
) -> TokenResult:
    """Compute every recipe's tokens for a canonical frame that carries a ``ref`` column.

    ``keys`` maps recipe name → its 32-byte HMAC key (see ``hashing.keys.recipe_key``).
    Returns tokens in long form after the frequency guard, with counts per recipe and a
    per-row flag saying which rows kept at least one token.
    """
    if "ref" not in canonical.columns:
        raise InputError("canonical frame has no 'ref' column")
    results = recipe_tokens(canonical, recipes, keys, frequency_ceiling=frequency_ceiling)
    return TokenResult(
        tokens=long_tokens(canonical.get_column("ref"), recipes, results),
        per_recipe={r.name: t.rows.height for r, t in zip(recipes, results, strict=True)},
        dropped_by_guard={r.name: t.dropped for r, t in zip(recipes, results, strict=True)},
        has_token=rows_with_token(canonical.height, results),
    )
