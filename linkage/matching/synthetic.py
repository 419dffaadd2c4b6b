"""A synthetic token world for the matcher's tests and benchmark (not used by the pipeline).

It builds, with numpy and without any PII or key, what the matcher would receive from a
campaign and an operator: token frames, payload frames (random bytes in place of sealed
blobs), plus what only the parties know (crosswalks) and the ground truth. Tokens are
32 pseudo-random bytes derived from an integer "value key": two records agree on a
recipe exactly when they carry the same key, as if HMAC had been applied to equal
normalized values.

The world has the difficulties that matter to household linkage:

- households of one to five voters, with spouses of another surname; account holders who
  are not on the voter file (a spouse who never registered);
- movers: addresses whose registered voters left, and whose account belongs to a new
  occupant (address agrees, nobody in the group confirms: the voters are not members);
- buildings whose units are missing on both sides, so one address token reaches several
  accounts (ambiguous);
- missing values, typos (a token that agrees with nothing), surname variants (two tokens
  of one recipe for one record), shared landlines, accounts at addresses with no voter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from linkage.matching.config import MatchConfig, Recipe

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

RECIPES: tuple[Recipe, ...] = (
    Recipe("email", "person"),
    Recipe("phone", "person"),
    Recipe("name_address", "person"),
    Recipe("last_address", "person"),
    Recipe("phonetic", "person"),
    Recipe("address", "household"),
)

_GROUP_SALT = 97  # the group token is keyed apart from the address recipe


@dataclass(frozen=True)
class WorldSettings:
    """Knobs of the synthetic world (shares are probabilities)."""

    subscribe: float = 0.6  # an address with voters has an account
    holder_is_voter: float = 0.75  # else a non-registered person holds the account
    movers: float = 0.06  # addresses whose voters moved away; a new occupant subscribes
    unitless: float = 0.08  # addresses in buildings whose units are missing on both sides
    building_units: int = 6
    other_surname: float = 0.3  # a housemate with another surname
    surname_variant: float = 0.1  # a voter with two surname tokens (hyphenated)
    landline: float = 0.35  # housemates share the household phone
    voter_email: float = 0.75
    voter_phone: float = 0.85
    account_email: float = 0.85
    account_phone: float = 0.9
    typo: float = 0.03  # per token and side: the token agrees with nothing
    name_typo: float = 0.04  # a misspelt surname: the phonetic recipe still agrees
    no_group: float = 0.01  # voters without a group token


@dataclass(frozen=True)
class SyntheticWorld:
    """Everything a test or benchmark needs about one synthetic engagement.

    ``voter_truth`` and ``account_truth`` map ``record_id`` to ``household_id`` (null: the
    voter belongs to no subscribing household); crosswalks map ``ref`` to ``record_id``.
    """

    campaign_tokens: pl.DataFrame
    operator_tokens: pl.DataFrame
    campaign_payloads: pl.DataFrame
    operator_payloads: pl.DataFrame
    campaign_crosswalk: pl.DataFrame
    operator_crosswalk: pl.DataFrame
    voter_truth: pl.DataFrame
    account_truth: pl.DataFrame

    def config(self, **settings: object) -> MatchConfig:
        """A ``MatchConfig`` over the world's recipes."""
        return MatchConfig(recipes=RECIPES, **settings)  # type: ignore[arg-type]


def _mix(x: U64) -> U64:
    """splitmix64 finalizer: a bijective scramble of 64-bit integers."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64, copy=True)
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def _key(*parts: npt.ArrayLike) -> U64:
    """Combine integer arrays into one 64-bit value key."""
    acc = np.zeros(np.broadcast(*[np.asarray(p) for p in parts]).shape, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, part in enumerate(parts):
            salt = np.uint64(0x9E3779B97F4A7C15 * (i + 1) % 2**64)
            acc = _mix(acc ^ (np.asarray(part).astype(np.uint64) + salt))
    return acc


def _bytes_column(words: U64, name: str) -> pl.Series:
    """An (n, k) uint64 array as a Binary column of 8k-byte values."""
    n, k = words.shape
    buffer = pa.py_buffer(np.ascontiguousarray(words).view(np.uint8).reshape(-1))
    array = pa.FixedSizeBinaryArray.from_buffers(pa.binary(8 * k), n, [None, buffer])
    return pl.Series(name, array).cast(pl.Binary())


def _tokens(keys: U64, recipe_salt: int, seed: int) -> pl.Series:
    """32-byte tokens of value keys under one recipe: equal keys, equal tokens."""
    base = _key(keys, np.full(keys.shape, recipe_salt), np.full(keys.shape, seed))
    words = np.stack([_mix(base + np.uint64(j + 1)) for j in range(4)], axis=1)
    return _bytes_column(words, "token")


def _random_bytes(rng: np.random.Generator, n: int, size: int, name: str) -> pl.Series:
    words = rng.integers(0, 2**63, size=(n, size // 8), dtype=np.int64).astype(np.uint64)
    return _bytes_column(words, name)


def synthetic_world(
    voters: int,
    seed: int = 0,
    accounts: int | None = None,
    settings: WorldSettings | None = None,
) -> SyntheticWorld:
    """A seeded world of about ``voters`` campaign records and ``accounts`` accounts.

    ``accounts`` defaults to the subscribing voter addresses plus 30% more at addresses
    with no voter (a reference state: 8 M voters, about 3.5 M accounts).
    """
    s = settings or WorldSettings()
    rng = np.random.default_rng(seed)

    # --- addresses and residents -------------------------------------------------------
    sizes = rng.choice([1, 2, 3, 4, 5], size=voters, p=[0.3, 0.38, 0.17, 0.1, 0.05])
    n_addr = int(np.searchsorted(np.cumsum(sizes), voters) + 1)
    sizes = sizes[:n_addr].copy()
    sizes[-1] -= int(sizes.sum() - voters)
    addr = np.repeat(np.arange(n_addr), sizes)  # address of each voter
    pos = np.arange(voters) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # rank within it

    unitless = rng.random(n_addr) < s.unitless
    building = np.cumsum(unitless) // s.building_units
    addr_key = np.where(unitless, n_addr + building, np.arange(n_addr)).astype(np.uint64)
    stale = rng.random(n_addr) < s.movers
    subscribes = rng.random(n_addr) < s.subscribe

    # --- voters ------------------------------------------------------------------------
    family = rng.integers(0, 40_000, size=n_addr)
    other = (pos > 0) & (rng.random(voters) < s.other_surname)
    surname = np.where(other, rng.integers(0, 40_000, size=voters), family[addr])
    first = rng.integers(0, 4_000, size=voters)
    person = np.arange(voters, dtype=np.uint64)  # voter i is person i
    landline = rng.random(n_addr) < s.landline
    v_phone = np.where(landline[addr], 10**10 + addr, person)
    holder_voter = rng.random(n_addr) < s.holder_is_voter  # resident 0 holds the account

    # --- accounts at voter addresses --------------------------------------------------
    acc_addr = np.flatnonzero(subscribes)
    n_sub = acc_addr.size
    first_voter = np.cumsum(sizes) - sizes  # index of resident 0 of each address
    by_voter = holder_voter[acc_addr] & ~stale[acc_addr]
    new_person = (2**40 + np.arange(n_sub)).astype(np.uint64)
    hv = first_voter[acc_addr]
    a_surname = np.where(
        by_voter,
        surname[hv],
        np.where(
            ~stale[acc_addr] & (rng.random(n_sub) < 0.5),
            family[acc_addr],
            rng.integers(0, 40_000, size=n_sub),
        ),
    )
    a_first = np.where(by_voter, first[hv], rng.integers(0, 4_000, size=n_sub))
    a_person = np.where(by_voter, person[hv], new_person)
    a_phone = np.where(
        by_voter | (landline[acc_addr] & ~stale[acc_addr]),
        np.where(landline[acc_addr], 10**10 + acc_addr, a_person),
        a_person,
    )
    n_accounts = accounts if accounts is not None else n_sub + int(0.3 * n_sub)
    n_extra = max(n_accounts - n_sub, 0)
    if n_accounts < n_sub:  # keep only as many subscribing addresses as asked
        keep = np.sort(rng.choice(n_sub, size=n_accounts, replace=False))
        acc_addr, a_surname, a_first, a_person, a_phone = (
            x[keep] for x in (acc_addr, a_surname, a_first, a_person, a_phone)
        )
        n_sub = n_accounts
        subscribes = np.zeros(n_addr, dtype=bool)
        subscribes[acc_addr] = True
    extra_key = (2**41 + np.arange(n_extra)).astype(np.uint64)  # addresses without voters
    extra_person = (2**42 + np.arange(n_extra)).astype(np.uint64)

    # --- campaign tokens --------------------------------------------------------------
    v_idx = np.arange(voters)
    v_key = addr_key[addr]
    last_seen = np.where(rng.random(voters) < s.name_typo, 2**43 + v_idx, surname)
    variant = rng.random(voters) < s.surname_variant
    v_var = np.flatnonzero(variant)
    v_var_surname = rng.integers(0, 40_000, size=v_var.size)
    c_parts: list[tuple[str, I64, U64]] = [
        ("email", v_idx[rng.random(voters) < s.voter_email], person),
        ("phone", v_idx[rng.random(voters) < s.voter_phone], v_phone.astype(np.uint64)),
    ]
    c_parts = [(r, idx, vals[idx]) for r, idx, vals in c_parts]
    c_parts += [
        ("name_address", v_idx, _key(first, last_seen, v_key)),
        ("name_address", v_var, _key(first[v_var], v_var_surname, v_key[v_var])),
        ("last_address", v_idx, _key(last_seen, v_key)),
        ("last_address", v_var, _key(v_var_surname, v_key[v_var])),
        ("phonetic", v_idx, _key(surname // 3, first % 26, v_key)),
        ("address", v_idx, v_key),
    ]

    # --- operator tokens --------------------------------------------------------------
    n_acc = n_sub + n_extra
    o_idx = np.arange(n_acc)
    o_key = np.concatenate([addr_key[acc_addr], extra_key])
    o_person = np.concatenate([a_person, extra_person])
    o_phone = np.concatenate([a_phone.astype(np.uint64), extra_person + np.uint64(2**44)])
    o_surname = np.concatenate([a_surname, rng.integers(0, 40_000, size=n_extra)])
    o_first = np.concatenate([a_first, rng.integers(0, 4_000, size=n_extra)])
    has_email = rng.random(n_acc) < s.account_email
    has_phone = rng.random(n_acc) < s.account_phone
    o_parts: list[tuple[str, I64, U64]] = [
        ("email", o_idx[has_email], o_person[has_email]),
        ("phone", o_idx[has_phone], o_phone[has_phone]),
        ("name_address", o_idx, _key(o_first, o_surname, o_key)),
        ("last_address", o_idx, _key(o_surname, o_key)),
        ("phonetic", o_idx, _key(o_surname // 3, o_first % 26, o_key)),
        ("address", o_idx, o_key),
    ]

    c_refs = _random_bytes(rng, voters, 16, "ref")
    o_refs = _random_bytes(rng, n_acc, 16, "ref")
    campaign_tokens = _token_frame(c_parts, c_refs, rng, s.typo, seed, salt=1)
    operator_tokens = _token_frame(o_parts, o_refs, rng, s.typo, seed, salt=2)

    # --- payloads, crosswalks and truth ---------------------------------------------
    no_group = pl.Series("no_group", rng.random(voters) < s.no_group)
    segments = _random_bytes(rng, voters, 48, "sealed_segments")
    campaign_payloads = pl.DataFrame([c_refs, segments, _tokens(v_key, _GROUP_SALT, seed)]).select(
        "ref",
        "sealed_segments",
        pl.when(no_group).then(None).otherwise(pl.col("token")).alias("group"),
    )
    operator_payloads = pl.DataFrame([o_refs, _random_bytes(rng, n_acc, 64, "sealed_boxes")])
    member = pl.Series("member", subscribes[addr] & ~stale[addr])
    voter_truth = pl.DataFrame({"record_id": v_idx, "addr": addr}).select(
        "record_id", pl.when(member).then(pl.col("addr")).alias("household_id")
    )
    account_truth = pl.DataFrame(
        {
            "record_id": o_idx,
            "household_id": np.concatenate([acc_addr, n_addr + np.arange(n_extra)]),
        }
    )
    return SyntheticWorld(
        campaign_tokens=campaign_tokens,
        operator_tokens=operator_tokens,
        campaign_payloads=campaign_payloads,
        operator_payloads=operator_payloads,
        campaign_crosswalk=pl.DataFrame([c_refs, pl.Series("record_id", v_idx)]),
        operator_crosswalk=pl.DataFrame([o_refs, pl.Series("record_id", o_idx)]),
        voter_truth=voter_truth,
        account_truth=account_truth,
    )


def _token_frame(
    parts: list[tuple[str, I64, U64]],
    refs: pl.Series,
    rng: np.random.Generator,
    typo: float,
    seed: int,
    salt: int,
) -> pl.DataFrame:
    """Long token frame of one side; a share ``typo`` of tokens agree with nothing."""
    frames = []
    recipe_salt = {r.name: i for i, r in enumerate(RECIPES)}
    for n, (recipe, idx, keys) in enumerate(parts):
        k = keys.astype(np.uint64, copy=True)
        bad = rng.random(k.size) < typo
        # a typo: a fresh key per token, apart from every real value (up to 2^-64)
        k[bad] = _key(np.flatnonzero(bad), np.full(bad.sum(), salt), np.full(bad.sum(), n + 1))
        recipes = pl.repeat(recipe, idx.size, dtype=pl.String, eager=True).alias("recipe")
        frames.append(
            pl.DataFrame([refs.gather(idx), recipes, _tokens(k, recipe_salt[recipe], seed)])
        )
    return pl.concat(frames)
