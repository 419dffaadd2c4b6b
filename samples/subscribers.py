"""The TV operator's records: subscriber accounts and the set-top boxes on each.

One account per subscribing household, held by one of its adults, typed in by a customer
service agent years ago: the holder's whole name in one field in one of several shapes,
the service address on one line, and whatever phone and email the customer gave.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from samples import tables
from samples.campaign import nickname_some
from samples.population import HEAD, Population, random_phone_numbers
from samples.textnoise import insert_dot, pick, with_typos

#: Column order of ``operator/subscribers.csv``.
SUBSCRIBER_COLUMNS: tuple[str, ...] = (
    "account_id",
    "holder_name",
    "service_address",
    "city",
    "state",
    "zip",
    "phone",
    "email",
)

#: Column order of ``operator/boxes.csv``.
BOX_COLUMNS: tuple[str, ...] = ("account_id", "box_id")

_STATE_NAMES = {"OH": "Ohio"}
_ORDINALS = {f"{d}{e}": f"{d}{e.lower()}" for d in range(10) for e in ("St", "Nd", "Rd", "Th")}
_LETTERS = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


@dataclass(frozen=True)
class Operator:
    """Subscriber rows (``SUBSCRIBER_COLUMNS`` plus ``hh``) and boxes (``BOX_COLUMNS``
    plus ``hh`` and ``box_no``, the number behind the box ID)."""

    subscribers: pl.DataFrame
    boxes: pl.DataFrame


def build_operator(rng: np.random.Generator, pop: Population, noise: float) -> Operator:
    """Choose subscribing households (~45%), write their accounts and give them boxes."""
    hh = pop.households
    n_hh = hh.height
    people = pop.people
    head_age = people.filter(pl.col("role") == HEAD)["age"].to_numpy()
    p_sub = 0.44 + 0.12 * hh["senior"].to_numpy() - 0.10 * (head_age < 30)
    subscribed = np.flatnonzero(rng.random(n_hh) < p_sub)
    n = len(subscribed)

    def chance(base: float) -> float:
        return min(1.0, base * noise)

    def uniform() -> pl.Series:
        return pl.Series(rng.random(n))

    size = hh["size"].to_numpy().astype(np.int64)
    adults = hh["adults"].to_numpy().astype(np.int64)[subscribed]
    offset = (np.cumsum(size) - size)[subscribed]
    holder = offset + np.floor(rng.random(n) * adults).astype(np.int64)
    # Someone else in the household whose phone or email the account may carry instead.
    other = offset + (holder - offset + 1) % adults
    site = hh["site"].to_numpy()[subscribed]
    sites = pop.sites[site]
    hispanic = pl.Series(hh["ethnicity"].to_numpy()[subscribed] == tables.HISPANIC)

    first = nickname_some(
        rng, people["first"].gather(holder), people["first_i"].to_numpy()[holder], chance(0.18)
    )
    last = people["last"].gather(holder)
    # Double Hispanic surnames are often cut to the first one.
    cut = hispanic & last.str.contains(" ", literal=True) & (uniform() < chance(0.4))
    last = pl.select(
        pl.when(cut).then(last.str.split(" ").list.first()).otherwise(last)
    ).to_series()
    first = with_typos(rng, first, chance(0.012))
    last = with_typos(rng, last, chance(0.012))
    accent = hispanic & (uniform() < chance(0.3))
    ids = rng.choice(9 * 10**8, size=n, replace=False) + 10**8
    frame = pl.DataFrame(
        {
            "hh": pl.Series(subscribed.astype(np.int32)),
            "account_id": pl.Series(ids).cast(pl.String),
            "first": pl.select(
                pl.when(accent).then(first.replace(tables.ACCENTED)).otherwise(first)
            ).to_series(),
            "last": pl.select(
                pl.when(accent).then(last.replace(tables.ACCENTED)).otherwise(last)
            ).to_series(),
            "middle": people["middle"].gather(holder),
            "suffix": people["suffix"].gather(holder),
            "cell": people["cell"].gather(holder),
            "email": people["email"].gather(holder),
            "other_cell": people["cell"].gather(other),
            "other_email": people["email"].gather(other),
            "landline": hh["landline"].gather(subscribed),
            "house_num": sites["house_num"],
            "predir": pl.select(
                pl.when(uniform() >= chance(0.04)).then(sites["predir"]).otherwise(0)
            ).to_series(),
            "street": with_typos(rng, sites["street"], chance(0.012)),
            "street_type": sites["street_type"],
            "designator": sites["designator"],
            "unit": pl.select(pl.when(uniform() >= chance(0.10)).then(sites["unit"])).to_series(),
            "city": sites["city"],
            "zip5": sites["zip5"],
            "plus4": sites["plus4"],
            "name_shape": pl.Series(rng.choice(5, size=n, p=[0.3, 0.2, 0.25, 0.15, 0.1])),
            "addr_shape": pl.Series(rng.choice(3, size=n, p=[0.25, 0.45, 0.3])),
            "phone_shape": pl.Series(rng.choice(5, size=n, p=[0.3, 0.15, 0.1, 0.25, 0.2])),
            "u_suffix": uniform(),
            "u_city": uniform(),
            "u_state": uniform(),
            "u_zip": uniform(),
            "u_phone": uniform(),
            "u_email": uniform(),
            "u_gmail": uniform(),
            "u_dot": uniform(),
            "u_case": uniform(),
            "new_phone": pl.Series(random_phone_numbers(rng, n, pop.state)),
            "new_digits": pl.Series(rng.integers(100, 10_000, n)).cast(pl.String),
            "tag": pl.Series(["+tv", "+cable", "+bills", "+home"]).gather(rng.integers(0, 4, n)),
        }
    )
    subscribers = frame.select(
        "hh",
        account_id=pl.concat_str(pl.lit("A"), pl.col("account_id")),
        holder_name=_holder_name(),
        service_address=_service_address(chance(0.03)),
        city=pl.when(pl.col("u_city") < 0.35)
        .then(pl.col("city").str.to_titlecase())
        .otherwise(pl.col("city")),
        state=pl.when(pl.col("u_state") < 0.03)
        .then(pl.lit(_STATE_NAMES.get(pop.state, pop.state)))
        .otherwise(pl.lit(pop.state)),
        zip=pl.when(pl.col("u_zip") < 0.35)
        .then(pl.concat_str(pl.col("zip5"), pl.lit("-"), pl.col("plus4")))
        .otherwise(pl.col("zip5")),
        phone=_phone(chance(0.05)),
        email=_email(frame, chance(0.04)),
    ).sort("account_id")
    boxes = _boxes(rng, subscribers.select("account_id", "hh"))
    return Operator(subscribers=subscribers, boxes=boxes)


def _holder_name() -> pl.Expr:
    """The holder's name in one of five shapes, e.g. "SMITH, JOHN A" or "John A. Smith"."""
    first, last = pl.col("first"), pl.col("last")
    middle, suffix = pl.col("middle"), pl.col("suffix")
    initial = middle.str.slice(0, 1)
    return pick(
        pl.col("name_shape"),
        [
            pl.concat_str(
                pl.concat_str(last, suffix, separator=" ", ignore_nulls=True),
                pl.lit(", "),
                pl.concat_str(first, initial, separator=" ", ignore_nulls=True),
            ),
            pl.concat_str(
                first.str.to_titlecase(),
                pl.concat_str(initial, pl.lit(".")),
                last.str.to_titlecase(),
                separator=" ",
                ignore_nulls=True,
            ),
            pl.concat_str(first, last, suffix, separator=" ", ignore_nulls=True),
            pl.concat_str(first, last, separator=" ").str.to_titlecase(),
            pl.concat_str(first, middle, last, separator=" ", ignore_nulls=True).str.to_titlecase(),
        ],
    )


def _service_address(drop_suffix: float) -> pl.Expr:
    """One-line service address in one of three shapes.

    "123 North Main Street, Unit 4", "123 N MAIN ST APT 4" or "123 N Main St #4".
    """
    short_dir = {i: d[0] or None for i, d in enumerate(tables.DIRECTIONALS)}
    long_dir = {i: d[1] or None for i, d in enumerate(tables.DIRECTIONALS)}
    short_suf = {i: s[0] for i, s in enumerate(tables.STREET_SUFFIXES)}
    long_suf = {i: s[1] for i, s in enumerate(tables.STREET_SUFFIXES)}
    suffix_kept = pl.col("u_suffix") >= drop_suffix
    house = pl.col("house_num").cast(pl.String)
    street = pl.col("street")
    sdir = pl.col("predir").replace_strict(short_dir, return_dtype=pl.String)
    ldir = pl.col("predir").replace_strict(long_dir, return_dtype=pl.String)
    ssuf = pl.when(suffix_kept).then(
        pl.col("street_type").replace_strict(short_suf, return_dtype=pl.String)
    )
    lsuf = pl.when(suffix_kept).then(
        pl.col("street_type").replace_strict(long_suf, return_dtype=pl.String)
    )
    unit = pl.col("unit")
    designator = pl.col("designator")
    long_unit = pl.concat_str(
        pl.when(designator == "APT")
        .then(pl.lit("Apt"))
        .when(designator == "STE")
        .then(pl.lit("Suite"))
        .otherwise(pl.lit("Unit")),
        unit,
        separator=" ",
    )
    usps_unit = (
        pl.when(designator == "#")
        .then(pl.concat_str(pl.lit("#"), unit))
        .otherwise(pl.concat_str(designator, unit, separator=" "))
    )
    return pick(
        pl.col("addr_shape"),
        [
            pl.concat_str(
                _title(pl.concat_str(house, ldir, street, lsuf, separator=" ", ignore_nulls=True)),
                long_unit,
                separator=", ",
                ignore_nulls=True,
            ),
            pl.concat_str(house, sdir, street, ssuf, usps_unit, separator=" ", ignore_nulls=True),
            pl.concat_str(
                house,
                sdir,
                _title(pl.concat_str(street, ssuf, separator=" ", ignore_nulls=True)),
                pl.concat_str(pl.lit("#"), unit),
                separator=" ",
                ignore_nulls=True,
            ),
        ],
    )


def _title(text: pl.Expr) -> pl.Expr:
    """Title case that keeps ordinals lower case ("2nd", not "2Nd")."""
    return text.str.to_titlecase().str.replace_many(_ORDINALS)


def _phone(different: float) -> pl.Expr:
    """The account phone in one of five formats, sometimes missing or someone else's."""
    number = (
        pl.when(pl.col("u_phone") < different)
        .then(pl.col("new_phone"))
        .otherwise(pl.coalesce("cell", "landline", "other_cell"))
    )
    text = number.cast(pl.String)
    area, exchange, line = text.str.slice(0, 3), text.str.slice(3, 3), text.str.slice(6, 4)
    formatted = pick(
        pl.col("phone_shape"),
        [
            pl.concat_str(pl.lit("("), area, pl.lit(") "), exchange, pl.lit("-"), line),
            pl.concat_str(area, exchange, line, separator="."),
            pl.concat_str(pl.lit("+1"), area, exchange, line, separator=" "),
            text,
            pl.concat_str(area, exchange, line, separator="-"),
        ],
    )
    return pl.when(pl.col("u_phone") < 1 - 0.08).then(formatted)


def _email(frame: pl.DataFrame, different: float) -> pl.Series:
    """The account email: the holder's (Gmail dots and +tags added sometimes), a
    housemate's, a new one, or none."""
    own = pl.col("email")
    parts = frame.select(
        mail=pl.when(pl.col("u_email") < different)
        .then(
            pl.concat_str(
                pl.col("first").str.to_lowercase().str.replace_all("[^a-z]", ""),
                pl.col("new_digits"),
                pl.lit("@yahoo.com"),
            )
        )
        .when(own.is_not_null() & (pl.col("u_email") < 0.88))
        .then(own)
        .when(own.is_null() & (pl.col("u_email") < 0.5))
        .then(pl.col("other_email")),
        u_gmail="u_gmail",
        u_dot="u_dot",
        u_case="u_case",
        tag="tag",
    ).with_columns(pl.col("mail").str.split_exact("@", 1).struct.rename_fields(["local", "domain"]))
    parts = parts.unnest("mail")
    local, gmail = pl.col("local"), pl.col("domain") == "gmail.com"
    local = (
        pl.when(gmail & (pl.col("u_gmail") < 0.15))
        .then(pl.concat_str(local, pl.col("tag")))
        .when(gmail & (pl.col("u_gmail") < 0.35))
        .then(insert_dot(local, pl.lit(True), pl.col("u_dot")))
        .otherwise(local)
    )
    address = pl.concat_str(local, pl.col("domain"), separator="@")
    return parts.select(
        pl.when(pl.col("u_case") < 0.06)
        .then(address.str.to_uppercase())
        .when(pl.col("u_case") < 0.10)
        .then(address.str.to_titlecase())
        .otherwise(address)
    ).to_series()


def _boxes(rng: np.random.Generator, accounts: pl.DataFrame) -> pl.DataFrame:
    """1-4 boxes per account with opaque unique IDs ("STB-" + 12 hex digits).

    ``accounts`` must be sorted by ``account_id``; the result is sorted by account and
    box and keeps the box number (``box_no``, whose order is the box ID's order).
    """
    count = rng.choice(np.arange(1, 5), size=accounts.height, p=[0.32, 0.36, 0.2, 0.12])
    account_row = np.repeat(np.arange(accounts.height), count)
    raw = rng.choice(2**48, size=len(account_row), replace=False).astype(np.uint64)
    order = np.lexsort((raw, account_row))
    account_row, raw = account_row[order], raw[order]
    shifts = np.arange(44, -1, -4, dtype=np.uint64)
    nibbles = ((raw[:, None] >> shifts) & np.uint64(15)).astype(np.intp)
    text = pl.Series(_LETTERS[nibbles].view("S12").ravel()).cast(pl.String)
    return accounts[account_row].select(
        "hh",
        "account_id",
        box_id=pl.concat_str(pl.lit("STB-"), text),
        box_no=pl.Series(raw),
    )
