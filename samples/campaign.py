"""The campaign's voter file: registered adults with scores, segments and communities.

The voter file is a view of the population as the state's registration records show it:
legal names (sometimes stale or mistyped), the address the voter registered at (for
movers, a former one), and the few contact details campaigns collect. About one voter
in a hundred appears twice, under a second VOTER_ID with small differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from samples import tables
from samples.population import CHILD, Population
from samples.textnoise import digits, with_typos

#: Column order of ``campaign/voters.csv`` (the engagement file names these exactly).
VOTER_COLUMNS: tuple[str, ...] = (
    "VOTER_ID",
    "FIRST_NAME",
    "MIDDLE_NAME",
    "LAST_NAME",
    "NAME_SUFFIX",
    "BIRTH_DATE",
    "GENDER",
    "RES_HOUSE_NUM",
    "RES_STREET",
    "RES_UNIT",
    "RES_CITY",
    "RES_STATE",
    "RES_ZIP",
    "PHONE",
    "EMAIL",
    "SUPPORT_SCORE",
    "TURNOUT_SCORE",
    "PERSUASION_SCORE",
    "SEG_PERSUADABLE",
    "SEG_GOTV",
    "SEG_BASE",
    "COMM_HISPANIC",
    "COMM_BLACK",
    "COMM_AAPI",
    "COMM_SENIOR",
)

#: Mean support score by household ethnicity (white, black, hispanic, asian, other).
_SUPPORT_MEAN = np.array([46.0, 82.0, 64.0, 60.0, 55.0])


@dataclass(frozen=True)
class VoterFile:
    """The voter file rows (``VOTER_COLUMNS`` plus ``person`` and ``hh``) and per-person flags.

    ``registered`` has one row per registered person: ``person``, ``hh`` and the segment
    and community flags of their first voter row, for household viewing profiles.
    """

    rows: pl.DataFrame
    registered: pl.DataFrame


def build_voter_file(
    rng: np.random.Generator, pop: Population, voters: int, noise: float
) -> VoterFile:
    """Register exactly ``voters`` adults and write their voter-file records."""
    people = pop.people
    age_all = people["age"].to_numpy().astype(np.float64)
    adult = people["role"].to_numpy() != CHILD
    # Older adults are likelier to be registered (exponential keys: weighted sampling).
    weight = np.clip(0.45 + 0.012 * (age_all - 18), 0.45, 1.2)
    keys = np.where(adult, rng.exponential(1.0, people.height) / weight, np.inf)
    chosen = np.sort(np.argpartition(keys, voters - 1)[:voters])
    age = age_all[chosen]

    def chance(base: float) -> float:
        return min(1.0, base * noise)

    def draw(p: float) -> np.ndarray:
        return rng.random(voters) < p

    hh = people["hh"].to_numpy()[chosen]
    n_hh = pop.households.height
    hh_site = pop.households["site"].to_numpy()
    # A mover's registration points to a former home: often another household's address
    # today (a new occupant), otherwise an address where nobody in the world lives now.
    mover = draw(chance(0.05))
    occupied = np.zeros(pop.sites.height, dtype=bool)
    occupied[hh_site] = True
    vacant = np.flatnonzero(~occupied)
    other_hh = (hh + 1 + rng.integers(0, max(1, n_hh - 1), voters)) % n_hh
    old_site = np.where(draw(0.6), hh_site[other_hh], vacant[rng.integers(0, len(vacant), voters)])
    reg_site = np.where(mover, old_site, hh_site[hh])

    eth = pop.households["ethnicity"].to_numpy()[hh]
    support = np.clip(
        np.round(
            _SUPPORT_MEAN[eth]
            + rng.normal(0, 10, n_hh)[hh]
            + rng.normal(0, 16, voters)
            + np.where(age < 30, 5, 0)
        ),
        1,
        100,
    )
    turnout = np.clip(np.round(22 + 0.8 * (age - 18) + rng.normal(0, 15, voters)), 1, 100)
    persuasion = np.clip(
        np.round(78 - 0.9 * np.abs(support - 50) + rng.normal(0, 12, voters)), 1, 100
    )

    def flag(truth: np.ndarray, recall: float, false_rate: float) -> pl.Series:
        return pl.Series((truth & draw(recall)) | draw(false_rate)).cast(pl.Int8)

    first_i = people["first_i"].to_numpy()[chosen]
    first = nickname_some(rng, people["first"].gather(chosen), first_i, chance(0.03))
    last = people["last"].gather(chosen)
    birth_last = people["birth_last"].gather(chosen)
    stale = pl.Series(draw(chance(0.15)))
    middle = people["middle"].gather(chosen)
    middle_form = rng.choice(3, size=voters, p=[0.65, 0.25, 0.10])
    all_lines = _street_lines(pop.sites)
    lines = all_lines[reg_site]
    phone_pick = rng.random(voters)
    email_pick = rng.random(voters)

    rows = pl.DataFrame(
        {
            "person": people["person"].gather(chosen),
            "hh": pl.Series(hh.astype(np.int32)),
            "FIRST_NAME": with_typos(rng, first, chance(0.012)),
            "MIDDLE_NAME": pl.select(
                pl.when(pl.Series(middle_form == 0))
                .then(middle)
                .when(pl.Series(middle_form == 1))
                .then(middle.str.slice(0, 1))
            ).to_series(),
            "LAST_NAME": with_typos(
                rng,
                pl.select(
                    pl.when(stale & (birth_last != last)).then(birth_last).otherwise(last)
                ).to_series(),
                chance(0.012),
            ),
            "NAME_SUFFIX": pl.select(
                pl.when(pl.Series(draw(1 - chance(0.1)))).then(people["suffix"].gather(chosen))
            ).to_series(),
            "BIRTH_DATE": people["dob"].gather(chosen).dt.strftime("%m/%d/%Y"),
            "GENDER": pl.select(
                pl.when(pl.Series(draw(0.015)))
                .then(pl.lit("U"))
                .otherwise(people["sex"].gather(chosen))
            ).to_series(),
            "RES_HOUSE_NUM": lines["house_num"].cast(pl.String),
            "RES_STREET": with_typos(rng, lines["street_line"], chance(0.008)),
            "RES_UNIT": pl.select(
                pl.when(pl.Series(draw(1 - chance(0.05)))).then(lines["unit_line"])
            ).to_series(),
            "RES_CITY": lines["city"],
            "RES_STATE": pl.repeat(pop.state, voters, eager=True),
            "RES_ZIP": lines["zip5"],
            "PHONE": pl.select(
                pl.when(pl.Series(phone_pick < 0.5))
                .then(people["cell"].gather(chosen))
                .when(pl.Series(phone_pick < 0.75))
                .then(pop.households["landline"].gather(hh))
                .cast(pl.String)
            ).to_series(),
            "EMAIL": pl.select(
                pl.when(pl.Series(email_pick < 0.1))
                .then(people["email"].gather(chosen).str.to_uppercase())
                .when(pl.Series(email_pick < 0.4))
                .then(people["email"].gather(chosen))
            ).to_series(),
            "SUPPORT_SCORE": pl.Series(support.astype(np.int16)),
            "TURNOUT_SCORE": pl.Series(turnout.astype(np.int16)),
            "PERSUASION_SCORE": pl.Series(persuasion.astype(np.int16)),
        }
    ).with_columns(
        SEG_PERSUADABLE=(
            (pl.col("PERSUASION_SCORE") >= 65) & pl.col("SUPPORT_SCORE").is_between(35, 65)
        ).cast(pl.Int8),
        SEG_GOTV=((pl.col("SUPPORT_SCORE") >= 65) & (pl.col("TURNOUT_SCORE") < 50)).cast(pl.Int8),
        SEG_BASE=((pl.col("SUPPORT_SCORE") >= 65) & (pl.col("TURNOUT_SCORE") >= 50)).cast(pl.Int8),
        COMM_HISPANIC=flag(eth == tables.HISPANIC, 0.93, 0.004),
        COMM_BLACK=flag(eth == tables.BLACK, 0.88, 0.004),
        COMM_AAPI=flag(eth == tables.ASIAN, 0.90, 0.002),
        COMM_SENIOR=pl.Series(age >= 65).cast(pl.Int8),
    )
    registered = rows.select(
        "person",
        "hh",
        persuadable="SEG_PERSUADABLE",
        gotv="SEG_GOTV",
        base="SEG_BASE",
    )
    rows = _with_duplicates(rng, rows, lines_of=all_lines, noise=noise)
    return VoterFile(rows=rows, registered=registered)


def nickname_some(
    rng: np.random.Generator, first: pl.Series, first_i: np.ndarray, rate: float
) -> pl.Series:
    """``first`` with a share ``rate`` of names (those that have one) replaced by a nickname."""
    nick = tables.nicknames()
    rows = np.flatnonzero((rng.random(len(first)) < rate) & (nick.count[first_i] > 0))
    if len(rows) == 0:
        return first
    at = nick.start[first_i[rows]] + np.floor(
        rng.random(len(rows)) * nick.count[first_i[rows]]
    ).astype(np.int64)
    return first.clone().scatter(rows, tables.strings(nick.flat[at]))


def _street_lines(sites: pl.DataFrame) -> pl.DataFrame:
    """Each site's voter-file address parts: "N MAIN ST", "APT 4B", city and ZIP5."""
    dirs = {i: d[0] for i, d in enumerate(tables.DIRECTIONALS)}
    sufs = {i: s[0] for i, s in enumerate(tables.STREET_SUFFIXES)}
    return sites.select(
        "site",
        "house_num",
        "city",
        "zip5",
        street_line=pl.concat_str(
            pl.col("predir").replace_strict(dirs, return_dtype=pl.String),
            pl.col("street"),
            pl.col("street_type").replace_strict(sufs, return_dtype=pl.String),
            separator=" ",
        ).str.strip_chars(),
        unit_line=pl.when(pl.col("designator") == "#")
        .then(pl.concat_str(pl.lit("# "), pl.col("unit")))
        .otherwise(pl.concat_str(pl.col("designator"), pl.lit(" "), pl.col("unit"))),
    )


def _with_duplicates(
    rng: np.random.Generator, rows: pl.DataFrame, *, lines_of: pl.DataFrame, noise: float
) -> pl.DataFrame:
    """Add second rows for ~1% of voters (scaled by ``noise``), assign VOTER_IDs, sort.

    A duplicate carries a new VOTER_ID and one small change: a typo in a name, a
    different middle-name form, a mistyped birth date, or a former address; it also
    tends to lack the phone or the email.
    """
    n = rows.height
    n_dup = min(n, round(n * min(1.0, 0.01 * noise)))
    number = rng.choice(10**10, size=n + n_dup, replace=False)
    dup_of = np.sort(rng.choice(n, size=n_dup, replace=False))
    change = rng.integers(0, 5, n_dup)
    shift = rng.choice(np.array([-1, 1]), size=n_dup)
    keep_contact = rng.random(n_dup)
    moved = lines_of[rng.integers(0, lines_of.height, n_dup)]
    dups = rows[dup_of]
    c = pl.Series(change)

    def when(cond: pl.Series, then: pl.Series, otherwise: pl.Series) -> pl.Series:
        return pl.select(pl.when(cond).then(then).otherwise(otherwise)).to_series()

    typo_first = with_typos(rng, dups["FIRST_NAME"], 1.0)
    typo_last = with_typos(rng, dups["LAST_NAME"], 1.0)
    dob = dups["BIRTH_DATE"].str.to_date("%m/%d/%Y")
    dups = dups.with_columns(
        FIRST_NAME=when(c == 0, typo_first, dups["FIRST_NAME"]),
        LAST_NAME=when(c == 1, typo_last, dups["LAST_NAME"]),
        MIDDLE_NAME=when(
            c == 2, dups["MIDDLE_NAME"].str.slice(0, 1).replace("", None), dups["MIDDLE_NAME"]
        ),
        BIRTH_DATE=when(
            c == 3,
            (dob.cast(pl.Int32) + pl.Series(shift, dtype=pl.Int32))
            .cast(pl.Date)
            .dt.strftime("%m/%d/%Y"),
            dups["BIRTH_DATE"],
        ),
        RES_HOUSE_NUM=when(c == 4, moved["house_num"].cast(pl.String), dups["RES_HOUSE_NUM"]),
        RES_STREET=when(c == 4, moved["street_line"], dups["RES_STREET"]),
        RES_UNIT=when(c == 4, moved["unit_line"], dups["RES_UNIT"]),
        RES_CITY=when(c == 4, moved["city"], dups["RES_CITY"]),
        RES_ZIP=when(c == 4, moved["zip5"], dups["RES_ZIP"]),
        PHONE=pl.when(pl.Series(keep_contact < 0.5)).then(dups["PHONE"]),
        EMAIL=pl.when(pl.Series(keep_contact >= 0.5)).then(dups["EMAIL"]),
    )
    # Sorting by the number sorts by VOTER_ID: the ID is the state and the zero-padded number.
    return (
        pl.concat([rows, dups])
        .with_columns(voter_no=pl.Series(number))
        .sort("voter_no")
        .with_columns(VOTER_ID=pl.concat_str(pl.col("RES_STATE"), digits(pl.col("voter_no"), 10)))
        .select("person", "hh", *VOTER_COLUMNS)
    )
