"""A plaintext baseline: link the voter file to the subscriber file in the clear.

The blind pipeline can only find pairs that share a token. To know how many true pairs
that leaves out, we need a linkage that sees the records themselves: this module is it.
It handles names and addresses in the clear, so it lives on the party side (``hashing/``)
and is meant for campaign staff checking their own match, and for our measurements on
synthetic worlds. Nothing it returns ever crosses a boundary.

The method, with ``recordlinkage``:

1. **Normalize** both files with :func:`hashing.canonical.canonicalize`, through the
   engagement's input mappings, so both sides have ``first_name``, ``last_name``,
   ``house_number``, ``street`` and ``zip`` in the very canonical form the tokens use
   (the subscriber's whole name and one-line address are split by the same code).
2. **Index** by blocking on ZIP, refined: ZIP alone makes blocks of hundreds of voters
   times hundreds of accounts (27 million pairs at 100k voters), so the index is
   the union of ZIP + first letter of the surname and ZIP + house number (about 2
   million pairs at 100k voters). Every pair the rule below can accept is in it, except
   a house-number disagreement whose surnames start differently; pairs across ZIPs are
   never compared.
3. **Compare** Jaro–Winkler on first name, last name and street, each agreeing at
   ``>= 0.85`` (:data:`JW_THRESHOLD`; it keeps a single typo, a nickname the normalizer
   did not map but that shares its first letters, a double surname cut to its first
   half, a dropped street suffix or directional; it rejects most different names), and
   house number exactly.
4. **Classify** with a documented score rule, not ``ECMClassifier``. A pair is a match
   when the house numbers are equal, the surnames agree, and the first names or the
   streets agree (the voter holds the account, or a housemate under the household's
   surname does); or, with different house numbers, when first name, surname and street
   all agree (a typo in the house number). Its ``score`` is the mean of the four
   similarities (house number 0 or 1). ECM was tried first and rejected: its two-class
   EM needs the agreements to be independent within a class, and blocking on house
   number breaks that (a building's neighbours agree on street and house number
   together), so what it learns depends on the size of the world: at 3k voters it
   accepted "first name + address" pairs that are mostly neighbours, at 100k it put
   every same-address pair in the match class (161k pairs, 4 % of them true). The rule
   is the same at every size and can be read in one line.
5. **Resolve** many-to-one: each voter goes to its best-scoring accepted account; a
   voter whose best score is shared by two accounts is ambiguous and left out.

A voter whose household's account is held by someone of another surname agrees on the
address only, and is not linked: the baseline is deliberately a person-and-surname
linkage, so every pair it reports can be checked by eye.

Example::

    engagement = load_engagement(Path("samples/engagement.toml"))
    voters = pl.read_csv("campaign/voters.csv", infer_schema=False)
    subscribers = pl.read_csv("operator/subscribers.csv", infer_schema=False)
    links = plaintext_baseline(voters, subscribers, engagement)  # voter_id, account_id, score
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl
import recordlinkage
from recordlinkage.index import Block

from hashing.canonical import canonicalize
from hashing.engagement import Engagement
from hashing.errors import InputError

log = logging.getLogger(__name__)

#: The canonical fields both sides need.
FIELDS: tuple[str, ...] = ("first_name", "last_name", "house_number", "street", "zip")
#: Jaro–Winkler similarity at or above which two names (or streets) agree.
JW_THRESHOLD = 0.85
#: Columns of the result.
BASELINE: dict[str, pl.DataType] = {
    "voter_id": pl.String(),
    "account_id": pl.String(),
    "score": pl.Float64(),
}


@dataclass(frozen=True)
class BaselineStats:
    """Counts of one baseline run (safe to log and print: no values)."""

    voters: int
    accounts: int
    candidate_pairs: int
    matched_pairs: int
    linked_voters: int
    ambiguous_voters: int


def canonical_side(frame: pl.DataFrame, engagement: Engagement, role: str) -> pl.DataFrame:
    """``id`` plus the canonical :data:`FIELDS` of one list owner's file."""
    mapping = engagement.input_for(role)
    if mapping.id_column not in frame.columns:
        raise InputError(f"{role} input lacks its id column '{mapping.id_column}'")
    fields = mapping.fields.model_dump(exclude_none=True)
    canonical = canonicalize(frame.lazy(), fields, source=f"inputs.{role}.fields")
    return canonical.select(
        pl.col(mapping.id_column).cast(pl.String).alias("id"), *FIELDS
    ).collect()


def _blocking_frame(side: pl.DataFrame) -> pd.DataFrame:
    """The pandas frame recordlinkage indexes: fields plus the two blocking keys."""
    return side.with_columns(
        pl.col("last_name").str.slice(0, 1).alias("last_initial"),
    ).to_pandas()


def candidate_pairs(voters: pd.DataFrame, accounts: pd.DataFrame) -> pd.MultiIndex:
    """ZIP + surname initial ∪ ZIP + house number (rows with a missing key drop out)."""
    indexer = recordlinkage.Index()
    indexer.add(Block(["zip", "last_initial"]))
    indexer.add(Block(["zip", "house_number"]))
    return indexer.index(voters, accounts)


def similarities(
    pairs: pd.MultiIndex, voters: pd.DataFrame, accounts: pd.DataFrame
) -> pd.DataFrame:
    """Per pair: Jaro–Winkler of first name, last name and street, and house number 0/1.

    A value missing on either side scores 0 (disagrees).
    """
    compare = recordlinkage.Compare()
    for name in ("first_name", "last_name", "street"):
        compare.string(name, name, method="jarowinkler", label=name)
    compare.exact("house_number", "house_number", label="house_number")
    return compare.compute(pairs, voters, accounts)


def classify(sims: pl.DataFrame, threshold: float = JW_THRESHOLD) -> pl.DataFrame:
    """Keep the pairs the score rule accepts, with their ``score`` (see the module docs).

    ``sims`` has one row per candidate pair and the columns of :func:`similarities`.
    """
    first, last, street = (pl.col(c) >= threshold for c in ("first_name", "last_name", "street"))
    house = pl.col("house_number") == 1
    accept = (house & last & (first | street)) | (~house & first & last & street)
    score = pl.mean_horizontal("first_name", "last_name", "street", "house_number")
    return sims.filter(accept).with_columns(score.alias("score"))


def plaintext_baseline_with_stats(
    voters: pl.DataFrame,
    subscribers: pl.DataFrame,
    engagement: Engagement,
    *,
    threshold: float = JW_THRESHOLD,
) -> tuple[pl.DataFrame, BaselineStats]:
    """:func:`plaintext_baseline` plus the counts of the run."""
    left = canonical_side(voters, engagement, "campaign")
    right = canonical_side(subscribers, engagement, "operator")
    a, b = _blocking_frame(left), _blocking_frame(right)
    pairs = candidate_pairs(a, b)
    if len(pairs) == 0:
        return pl.DataFrame(schema=BASELINE), BaselineStats(left.height, right.height, 0, 0, 0, 0)
    compared = similarities(pairs, a, b)
    sims = pl.DataFrame(
        {
            "v": pairs.get_level_values(0).to_numpy(),
            "a": pairs.get_level_values(1).to_numpy(),
            **{c: compared[c].to_numpy(dtype=np.float64) for c in compared.columns},
        }
    )
    matched = classify(sims, threshold)
    links, ambiguous = _resolve(matched)
    result = pl.DataFrame(
        {
            "voter_id": left["id"].gather(links["v"]),
            "account_id": right["id"].gather(links["a"]),
            "score": links["score"],
        },
        schema=BASELINE,
    ).sort("voter_id")
    stats = BaselineStats(
        voters=left.height,
        accounts=right.height,
        candidate_pairs=len(pairs),
        matched_pairs=matched.height,
        linked_voters=result.height,
        ambiguous_voters=ambiguous,
    )
    log.info("plaintext baseline: %s", stats)
    return result, stats


def _resolve(matched: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Each voter's best account; voters whose best score is tied are dropped."""
    best = matched.filter(pl.col("score") == pl.col("score").max().over("v"))
    ties = pl.len().over("v") > 1
    ambiguous = best.filter(ties)["v"].n_unique()
    return best.filter(~ties), ambiguous


def plaintext_baseline(
    voters: pl.DataFrame,
    subscribers: pl.DataFrame,
    engagement: Engagement,
    *,
    threshold: float = JW_THRESHOLD,
) -> pl.DataFrame:
    """Link voters to accounts in the clear: ``voter_id, account_id, score``.

    ``voters`` and ``subscribers`` are the list owners' files as read (every column as
    text is fine), mapped by the engagement's ``[inputs.campaign]`` and
    ``[inputs.operator]`` tables. One row per linked voter (many voters may share an
    account); ``score`` is the mean similarity of the pair, in (0, 1]. ``threshold`` is
    the Jaro–Winkler similarity at which names and streets agree. See the module docs
    for the method.
    """
    return plaintext_baseline_with_stats(voters, subscribers, engagement, threshold=threshold)[0]
