"""Small hand-made token worlds for the matcher's tests.

Refs and tokens are random-looking bytes derived from a label (blake2b), so a test can say
"voter 3 and account 7 share the email token" and read as such.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import polars as pl

from linkage.matching import MatchConfig, Recipe

RECIPES = (
    Recipe("email", "person"),
    Recipe("phone", "person"),
    Recipe("name_address", "person"),
    Recipe("address", "household"),
)


def config(**settings: object) -> MatchConfig:
    """The test recipes, seeded outputs; household-only matches accepted, so that the
    household reasoning (housemate support, shared addresses) is exercised."""
    settings.setdefault("seed", 11)
    settings.setdefault("accept_household_only", True)
    return MatchConfig(recipes=RECIPES, **settings)  # type: ignore[arg-type]


def ref(label: str) -> bytes:
    """A 16-byte ref named by ``label`` (e.g. ``"v3"``, ``"acc7"``)."""
    return hashlib.blake2b(label.encode(), digest_size=16, person=b"ref").digest()


def token(value: str, key: str = "k1") -> bytes:
    """A 32-byte token of ``value`` under a key named ``key``."""
    return hashlib.blake2b(value.encode(), digest_size=32, key=key.encode()).digest()


def token_frame(rows: Iterable[tuple[str, str, str]], key: str = "k1") -> pl.DataFrame:
    """Token frame of ``(record label, recipe, value)`` rows."""
    listed = list(rows)
    return pl.DataFrame(
        {
            "ref": [ref(r) for r, _, _ in listed],
            "recipe": [c for _, c, _ in listed],
            "token": [token(f"{c}:{v}", key) for _, c, v in listed],
        },
        schema={"ref": pl.Binary, "recipe": pl.String, "token": pl.Binary},
    )


def campaign_payloads(voters: dict[str, str | None]) -> pl.DataFrame:
    """Campaign payloads of ``{voter label: group label or None}``."""
    return pl.DataFrame(
        {
            "ref": [ref(v) for v in voters],
            "sealed_segments": [hashlib.sha256(f"seg{v}".encode()).digest() for v in voters],
            "group": [token(f"group:{g}") if g is not None else None for g in voters.values()],
        },
        schema={"ref": pl.Binary, "sealed_segments": pl.Binary, "group": pl.Binary},
    )


def operator_payloads(accounts: Iterable[str]) -> pl.DataFrame:
    """Operator payloads of account labels."""
    labels = list(accounts)
    return pl.DataFrame(
        {
            "ref": [ref(a) for a in labels],
            "sealed_boxes": [hashlib.sha256(f"box{a}".encode()).digest() * 2 for a in labels],
        },
        schema={"ref": pl.Binary, "sealed_boxes": pl.Binary},
    )


Row = tuple[str, str, str]


def background(n: int, prefix: str = "bg") -> tuple[list[Row], list[Row], list[str], list[str]]:
    """``n`` clean one-person households (voter i <-> account i on every recipe, a few
    values missing) so that EM has something to learn from; returns
    ``(campaign rows, operator rows, voter labels, account labels)``."""
    c_rows: list[Row] = []
    o_rows: list[Row] = []
    voters: list[str] = []
    accounts: list[str] = []
    for i in range(n):
        v, a = f"{prefix}v{i}", f"{prefix}a{i}"
        voters.append(v)
        accounts.append(a)
        for j, recipe in enumerate(("email", "phone", "name_address", "address")):
            if (i + j) % 5 == 0:  # a missing or mistyped value now and then
                continue
            c_rows.append((v, recipe, f"{prefix}{i}"))
            o_rows.append((a, recipe, f"{prefix}{i}"))
    return c_rows, o_rows, voters, accounts


def matched_pairs(pairs: pl.DataFrame) -> set[tuple[bytes, bytes]]:
    """The (campaign ref, operator ref) pairs that were matched."""
    return set(pairs.filter("matched").select("campaign_ref", "operator_ref").iter_rows())
