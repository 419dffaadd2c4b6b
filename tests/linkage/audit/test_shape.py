"""Shape checks of binary columns (``linkage.audit.shape``)."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import polars as pl

from linkage.audit import shape


def _random(n: int, size: int) -> pl.Series:
    return pl.Series([os.urandom(size) for _ in range(n)], dtype=pl.Binary)


def test_chi_square_threshold_is_far_above_the_mean() -> None:
    # a random column's statistic averages the degrees of freedom (255)
    assert 390 < shape.chi_square_threshold() < 450


def test_random_bytes_pass_and_structured_bytes_fail() -> None:
    assert shape.byte_entropy(_random(2000, 32)).random
    hex_text = pl.Series([os.urandom(16).hex().encode() for _ in range(2000)])
    result = shape.byte_entropy(hex_text)
    assert result.judged and not result.random
    zero_padded = pl.Series([os.urandom(16) + bytes(16) for _ in range(2000)])
    assert not shape.byte_entropy(zero_padded).random


def test_too_few_bytes_are_not_judged() -> None:
    result = shape.byte_entropy(pl.Series([b"\x00" * 32] * 1000))
    assert not result.judged and result.random  # one distinct value: 32 bytes seen


def test_entropy_is_reproducible() -> None:
    values = _random(100_000, 16)
    assert shape.byte_entropy(values) == shape.byte_entropy(values)


def test_lengths_and_repeats() -> None:
    values = pl.Series([b"a" * 36, b"b" * 36, b"c" * 40, b"a" * 36, None])
    profile = shape.length_profile(values)
    assert (profile.modal, profile.off_rows, profile.distinct) == (36, 1, 2)
    assert shape.repeated_rows(values) == 2
    assert shape.wrong_length_rows(values, 36) == 1


def test_blank_digests_in_binary_and_text() -> None:
    blank = hashlib.sha256(b"").digest()
    space_md5 = hashlib.md5(b" ").digest()
    values = pl.Series([blank, space_md5, os.urandom(32), blank.hex().encode()])
    assert shape.blank_hash_rows(values) == 3
    text = pl.Series([hashlib.sha1(b"NULL").hexdigest().upper(), "summary", None])
    assert shape.blank_hash_rows(text) == 1


def test_frequency_is_exact_per_value_and_across_recipes() -> None:
    rng = np.random.default_rng(0)
    tokens = [rng.bytes(32) for _ in range(1000)]
    handle = b"\x01" * 32
    shared = tokens[0]
    frame = pl.DataFrame(
        {
            "recipe": ["email"] * 1000 + ["phone"] * 30 + ["phone"],
            "token": tokens + [handle] * 30 + [shared],
        }
    )
    freq = shape.token_frequency(frame, "token", 25, "recipe")
    assert (freq.over_rows, freq.over_values) == (30, 1)
    assert freq.cross_recipe_rows == 2  # the shared value, under email and under phone
    assert shape.token_frequency(frame, "token", 30, "recipe").over_rows == 0


def test_frequency_without_recipes_and_with_nulls() -> None:
    frame = pl.DataFrame({"group": [b"g" * 32] * 5 + [None] * 50}, schema={"group": pl.Binary})
    freq = shape.token_frequency(frame, "group", 4, None)
    assert (freq.over_rows, freq.over_values, freq.cross_recipe_rows) == (5, 1, 0)
