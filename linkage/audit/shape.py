"""Shape checks for binary columns: length, randomness, repetition, hashes of blanks.

A keyed token, a random reference and an AEAD ciphertext all look like uniformly random
bytes of one fixed length. Whatever is not — a short value, a constant, ASCII hex text
stored as bytes, a value repeated far more often than chance allows, the well-known digest
of an empty string — is a sign that something other than a keyed hash or a random value
went out.

The checks are vectorized over the whole column (lengths, duplicates, membership) except
the byte-frequency test, which runs on a seeded sample of distinct values: a chi-square
test on 20,000 values is as decisive as one on ten million.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

ENTROPY_SAMPLE = 20_000
MIN_ENTROPY_BYTES = 2_048  # below this the byte histogram says too little to judge
CHI_SQUARE_Z = 6.0  # a one-sided z of 6: a false alarm about once in a billion audits

# Values a careless pipeline hashes when a field is missing.
BLANKS = ("", " ", "  ", "\t", "\n", "\r\n", "NULL", "null", "None", "none", "N/A", "n/a",
          "NA", "na", "-", "0", "unknown", "UNKNOWN")  # fmt: skip


def _blank_digests() -> tuple[list[bytes], list[str]]:
    raw: list[bytes] = []
    for text in BLANKS:
        data = text.encode("utf-8")
        raw += [hashlib.md5(data).digest(), hashlib.sha1(data).digest()]
        raw += [hashlib.sha256(data).digest(), hashlib.sha512(data).digest()]
    texts = [d.hex() for d in raw] + [d.hex().upper() for d in raw]
    return raw, texts


BLANK_DIGESTS, BLANK_DIGEST_TEXTS = _blank_digests()


_BLANK_BINARY = pl.Series(BLANK_DIGESTS + [t.encode("ascii") for t in BLANK_DIGEST_TEXTS])
_BLANK_HASHES = _BLANK_BINARY.hash()


def blank_hash_rows(values: pl.Series) -> int:
    """Rows holding the unkeyed digest (MD5, SHA-1, SHA-256, SHA-512) of a blank value.

    Binary columns are compared with the raw digests (and their hex text as bytes), text
    columns with the hex text. On binary columns a 64-bit hash prefilter finds the few
    candidates, which are then compared exactly.
    """
    if values.dtype == pl.Binary:
        candidates = values.filter(values.hash().is_in(_BLANK_HASHES.implode()))
        return int(candidates.is_in(_BLANK_BINARY.implode()).sum()) if len(candidates) else 0
    if values.dtype == pl.String:
        counted = values.drop_nulls().rename("v").value_counts(name="n")
        hit = counted["v"].str.strip_chars().is_in(BLANK_DIGEST_TEXTS)
        return int(counted["n"].filter(hit).sum())
    return 0


def wrong_length_rows(values: pl.Series, length: int) -> int:
    """Rows whose value is not exactly ``length`` bytes (nulls not counted)."""
    return int((values.bin.size() != length).sum())


@dataclass(frozen=True)
class LengthProfile:
    """Byte lengths of a column: the most common one and the rows of any other length."""

    modal: int | None
    off_rows: int
    distinct: int


def length_profile(values: pl.Series) -> LengthProfile:
    """How uniform the byte lengths of a binary column are."""
    counts = values.drop_nulls().bin.size().value_counts(name="n", sort=True)
    if counts.is_empty():
        return LengthProfile(None, 0, 0)
    modal = int(counts[0, 0])
    total = int(counts["n"].sum())
    return LengthProfile(modal, total - int(counts[0, "n"]), counts.height)


def repeated_rows(values: pl.Series) -> int:
    """Rows whose (non-null) value occurs more than once in the column."""
    s = values.drop_nulls()
    return int(s.is_duplicated().sum()) if len(s) else 0


def chi_square_threshold(df: int = 255, z: float = CHI_SQUARE_Z) -> float:
    """The chi-square value a random column exceeds with probability about Φ(-z).

    Wilson–Hilferty: (X/df)^(1/3) is close to normal with mean 1 - 2/(9 df) and variance
    2/(9 df), which is accurate to a few percent at 255 degrees of freedom.
    """
    v = 2.0 / (9.0 * df)
    return df * (1.0 - v + z * math.sqrt(v)) ** 3


@dataclass(frozen=True)
class EntropyResult:
    """The byte-frequency test of one column."""

    statistic: float
    threshold: float
    sample_bytes: int

    @property
    def judged(self) -> bool:
        """Whether enough bytes were seen to judge."""
        return self.sample_bytes >= MIN_ENTROPY_BYTES

    @property
    def random(self) -> bool:
        """True unless the test was judged and the bytes are clearly not uniform."""
        return not self.judged or self.statistic <= self.threshold


def byte_entropy(
    values: pl.Series, *, sample: int = ENTROPY_SAMPLE, seed: int = 0
) -> EntropyResult:
    """Chi-square of the byte histogram of (a sample of) the column's distinct values.

    Distinct values only, so that legitimate repetition (voters of one household sharing
    an address token) does not weigh; a seeded sample, so that the result is reproducible.
    """
    s = values.drop_nulls()
    if len(s) > 4 * sample:
        s = s.sample(4 * sample, seed=seed)
    s = s.unique(maintain_order=True)
    if len(s) > sample:
        s = s.sample(sample, seed=seed)
    blob = b"".join(s.to_list())
    if len(blob) == 0:
        return EntropyResult(0.0, chi_square_threshold(), 0)
    counts = np.bincount(np.frombuffer(blob, dtype=np.uint8), minlength=256).astype(np.float64)
    expected = len(blob) / 256.0
    statistic = float(((counts - expected) ** 2).sum() / expected)
    return EntropyResult(statistic, chi_square_threshold(), len(blob))


@dataclass(frozen=True)
class Frequency:
    """Repetition of token values: over the ceiling, and shared across recipes."""

    over_rows: int  # rows whose token value occurs more often than the ceiling
    over_values: int  # distinct such values
    cross_recipe_rows: int  # rows whose token value also occurs under another recipe


def token_frequency(frame: pl.DataFrame, token: str, ceiling: int, recipe: str | None) -> Frequency:
    """Count repetition of ``token`` (per recipe when there is one), exactly and fast.

    Tokens of different recipes come from different keys, so one value under two recipes
    is no coincidence: the recipe keys are not separated (or the value is not keyed).

    A first pass groups 64-bit hashes of the values (cheap, and a hash collision can only
    merge groups, never split one); only the groups it flags are then regrouped by their
    exact bytes, so the counts are exact.
    """
    recipe_expr = pl.col(recipe).cast(pl.Categorical) if recipe is not None else pl.lit(0)
    keyed = frame.lazy().with_columns(pl.col(token).hash().alias("_h"), recipe_expr.alias("_r"))
    flagged = (
        keyed.select("_h", "_r")
        .group_by("_h")
        .agg(pl.len().alias("rows"), pl.col("_r").n_unique().alias("recipes"))
        .filter((pl.col("rows") > ceiling) | (pl.col("recipes") > 1))
        .select("_h")
        .collect()
    )
    if flagged.is_empty():
        return Frequency(0, 0, 0)
    exact = (
        keyed.join(flagged.lazy(), on="_h", how="semi")
        .filter(pl.col(token).is_not_null())
        .group_by(token)
        .agg(pl.len().alias("rows"), pl.col("_r").n_unique().alias("recipes"))
    )
    over = pl.col("rows") > ceiling
    row = (
        exact.select(
            pl.col("rows").filter(over).sum().alias("over_rows"),
            over.sum().alias("over_values"),
            pl.col("rows").filter(pl.col("recipes") > 1).sum().alias("cross"),
        )
        .collect()
        .row(0, named=True)
    )
    return Frequency(
        int(row["over_rows"] or 0), int(row["over_values"] or 0), int(row["cross"] or 0)
    )
