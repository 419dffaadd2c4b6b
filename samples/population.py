"""The synthetic population: households at addresses, and the people who live in them.

Everything is drawn with vectorized numpy calls from one ``numpy.random.Generator``;
string columns are assembled with polars expressions. Households come in a random order
and their numbering carries no meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from samples import tables
from samples.textnoise import digits, pick

#: Ages are measured on the first day of the viewing window.
REFERENCE_DAY = date(2026, 10, 5)
_REFERENCE_DAYS = (REFERENCE_DAY - date(1970, 1, 1)).days

#: Share of households of 1..6 people (US households, capped at six).
HOUSEHOLD_SIZE_P = np.array([0.28, 0.34, 0.15, 0.13, 0.06, 0.04])

#: Household ethnicity mix (white, black, hispanic, asian, other), roughly Ohio's.
ETHNICITY_P = np.array([0.78, 0.125, 0.045, 0.025, 0.025])

#: Age bands (lower bound inclusive, upper exclusive) and weights of childless heads.
_HEAD_AGE_BANDS = np.array(
    [[18, 25], [25, 35], [35, 45], [45, 55], [55, 65], [65, 75], [75, 85], [85, 96]]
)
_HEAD_AGE_P = np.array([6.0, 14, 11, 14, 18, 18, 11, 5]) / 97.0

#: Name suffixes by code (0 = none).
_SUFFIXES: tuple[str | None, ...] = (None, "JR", "SR", "II", "III")

#: Role of a person within the household.
HEAD, PARTNER, OTHER_ADULT, CHILD = 0, 1, 2, 3

# Exchanges (the three digits after the area code): 200-999, no N11 service codes and no
# 555 (reserved for fiction), so every number is a plausible, valid NANP number.
_EXCHANGES = np.array([e for e in range(200, 1000) if e % 100 != 11 and e != 555], dtype=np.int64)


@dataclass(frozen=True)
class Population:
    """The world's people and where they live.

    ``sites`` are addresses (one per single-family home or apartment unit, plus a pool
    of addresses where nobody in the world lives now, used for movers' old
    registrations). ``households`` point at a site; ``people`` point at a household.
    """

    state: str
    sites: pl.DataFrame
    households: pl.DataFrame
    people: pl.DataFrame


def build_population(rng: np.random.Generator, adults: int, state: str) -> Population:
    """Households holding at least ``adults`` adults in ``state``, with their members."""
    cities = tables.cities(state)
    size, n_adults = _household_shapes(rng, adults)
    n_hh = len(size)
    ethnicity = rng.choice(len(ETHNICITY_P), size=n_hh, p=ETHNICITY_P).astype(np.int8)
    couple = (n_adults >= 2) & (rng.random(n_hh) < 0.85)

    apartment = rng.random(n_hh) < np.where(size <= 2, 0.30, 0.14)
    vacant = max(8, n_hh // 25)
    sites, hh_site = _sites(rng, apartment, vacant, cities)

    people = _people(rng, size, n_adults, couple, ethnicity)
    # People are stored household by household, so each household is one run of rows.
    oldest = np.maximum.reduceat(people["age"].to_numpy(), np.cumsum(size) - size)
    senior = oldest >= 65
    landline = rng.random(n_hh) < np.where(senior, 0.42, 0.12)
    city_row = sites["city_row"].to_numpy()[hh_site]

    people_cell = people["cell_wanted"].to_numpy()
    numbers = _phone_numbers(
        rng,
        cities,
        np.concatenate([city_row[people["hh"].to_numpy()][people_cell], city_row[landline]]),
    )
    n_cells = int(people_cell.sum())
    cell = np.zeros(people.height, dtype=np.int64)
    cell[people_cell] = numbers[:n_cells]
    land = np.zeros(n_hh, dtype=np.int64)
    land[landline] = numbers[n_cells:]

    people = people.drop("cell_wanted").with_columns(
        cell=pl.Series(cell).replace(0, None),
        email=_emails(rng, people),
    )
    households = pl.DataFrame(
        {
            "hh": np.arange(n_hh, dtype=np.int32),
            "size": size.astype(np.int8),
            "adults": n_adults.astype(np.int8),
            "ethnicity": ethnicity,
            "site": hh_site.astype(np.int32),
            "senior": senior,
            "kids": n_adults < size,
            "landline": pl.Series(land).replace(0, None),
        }
    )
    return Population(state=state, sites=sites, households=households, people=people)


def _household_shapes(rng: np.random.Generator, adults: int) -> tuple[np.ndarray, np.ndarray]:
    """Household sizes and adult counts, just enough households to hold ``adults``."""
    guess = int(adults / 1.7) + 16
    while True:
        size = rng.choice(np.arange(1, 7), size=guess, p=HOUSEHOLD_SIZE_P)
        big = rng.choice(np.array([1, 2, 3]), size=guess, p=[0.13, 0.72, 0.15])
        n_adults = np.where(
            size == 1, 1, np.where(size == 2, np.where(rng.random(guess) < 0.84, 2, 1), big)
        )
        n_adults = np.minimum(n_adults, size)
        total = np.cumsum(n_adults)
        if total[-1] >= adults:
            n_hh = int(np.searchsorted(total, adults)) + 1
            return size[:n_hh], n_adults[:n_hh]
        guess *= 2


def _sites(
    rng: np.random.Generator, apartment: np.ndarray, vacant: int, cities: tables.Cities
) -> tuple[pl.DataFrame, np.ndarray]:
    """Addresses: one per house, one per apartment unit, and ``vacant`` spare addresses.

    Apartment households are packed into buildings of 2-36 units that share a house
    number and street; house numbers are unique per (ZIP, street) and increase along
    the street with realistic gaps.
    """
    n_hh = len(apartment)
    apt_hh = np.flatnonzero(apartment)
    house_hh = np.flatnonzero(~apartment)
    sizes = rng.choice(
        np.array([2, 3, 4, 6, 8, 12, 16, 24, 36]),
        size=len(apt_hh) // 2 + 1,
        p=[0.12, 0.1, 0.2, 0.14, 0.14, 0.12, 0.08, 0.06, 0.04],
    )
    ends = np.cumsum(sizes)
    n_buildings = int(np.searchsorted(ends, len(apt_hh), side="left")) + 1 if len(apt_hh) else 0
    building_of = np.searchsorted(ends, np.arange(len(apt_hh)), side="right")
    unit_index = np.arange(len(apt_hh)) - np.concatenate([[0], ends])[building_of]

    # Buildings (plots shared by apartments), then houses, then vacant addresses.
    n_plots = n_buildings + len(house_hh) + vacant
    city_row = rng.choice(len(cities.p), size=n_plots, p=cities.p)
    street_tab = tables.streets()
    street = street_tab.draw(rng, n_plots)
    dir_p = np.array([d[2] for d in tables.DIRECTIONALS])
    predir = rng.choice(len(dir_p), size=n_plots, p=dir_p / dir_p.sum())
    suf_p = np.array([s[2] for s in tables.STREET_SUFFIXES])
    suffix = rng.choice(len(suf_p), size=n_plots, p=suf_p / suf_p.sum())
    # House numbers are unique per ZIP and street (two cities may share a ZIP).
    zip_code = cities.zip5.astype(np.int64)[city_row]
    order = np.lexsort((rng.random(n_plots), suffix, predir, street, zip_code))
    key = (zip_code * 1_000 + street) * 10_000 + predir * 100 + suffix
    sorted_key = key[order]
    first = np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]])
    group = np.cumsum(first) - 1
    steps = rng.integers(1, 9, n_plots) * 2
    run = np.cumsum(steps)  # along the sorted order
    run_at_start = run[first][group] - steps[first][group]
    base = rng.integers(0, 40, int(group[-1]) + 1) * 100 + rng.integers(1, 20, int(group[-1]) + 1)
    house_num = np.empty(n_plots, dtype=np.int64)
    house_num[order] = base[group] + run - run_at_start - steps[first][group]

    designator_p = np.array([d[1] for d in tables.UNIT_DESIGNATORS])
    designator = rng.choice(len(designator_p), size=n_buildings, p=designator_p)
    style = rng.integers(0, 4, n_buildings)

    # Map every household to its site row: apartments to a unit of their building.
    plot_of_site = np.concatenate(
        [
            building_of,
            n_buildings + np.arange(len(house_hh)),
            n_buildings + len(house_hh) + np.arange(vacant),
        ]
    )
    n_sites = len(plot_of_site)
    hh_site = np.empty(n_hh, dtype=np.int64)
    hh_site[apt_hh] = np.arange(len(apt_hh))
    hh_site[house_hh] = len(apt_hh) + np.arange(len(house_hh))

    plot_df = pl.DataFrame(
        {
            "plot": np.arange(n_plots, dtype=np.int32),
            "city_row": city_row.astype(np.int32),
            "city": tables.strings(cities.city).gather(city_row),
            "zip5": tables.strings(cities.zip5).gather(city_row),
            "house_num": house_num,
            "predir": predir.astype(np.int8),
            "street": tables.strings(street_tab.values).gather(street),
            "street_type": suffix.astype(np.int8),
            "plus4": rng.integers(1, 10_000, n_plots),
        }
    )
    n_apt = len(apt_hh)
    letters = pl.Series(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), dtype=pl.String)
    designators = pl.Series([d[0] for d in tables.UNIT_DESIGNATORS], dtype=pl.String)
    per_floor = 4
    units = pl.DataFrame(
        {
            "unit_i": unit_index,
            "style": style[building_of],
            "floor": unit_index // per_floor + 1,
            "floor_letter": letters.gather(unit_index % per_floor),
            "letter": letters.gather(np.minimum(unit_index, 25)),
        }
    ).select(
        pick(
            pl.col("style"),
            [
                (pl.col("floor") * 100 + pl.col("unit_i") % per_floor + 1).cast(pl.String),
                pl.concat_str(pl.col("floor").cast(pl.String), pl.col("floor_letter")),
                (pl.col("unit_i") + 1).cast(pl.String),
                pl.when(pl.col("unit_i") < 26)
                .then(pl.col("letter"))
                .otherwise((pl.col("unit_i") + 1).cast(pl.String)),
            ],
        ).alias("unit")
    )
    no_unit = pl.Series([None] * (n_sites - n_apt), dtype=pl.String)
    sites = (
        pl.DataFrame(
            {
                "site": np.arange(n_sites, dtype=np.int32),
                "plot": plot_of_site.astype(np.int32),
                "designator": pl.concat([designators.gather(designator[building_of]), no_unit]),
                "unit": pl.concat([units["unit"], no_unit]),
            }
        )
        .join(plot_df, on="plot", how="left", maintain_order="left")
        .select(
            "site",
            "plot",
            "city_row",
            "city",
            "zip5",
            "house_num",
            "predir",
            "street",
            "street_type",
            "designator",
            "unit",
            plus4=digits(pl.col("plus4"), 4),
        )
    )
    return sites, hh_site


def _people(
    rng: np.random.Generator,
    size: np.ndarray,
    n_adults: np.ndarray,
    couple: np.ndarray,
    ethnicity: np.ndarray,
) -> pl.DataFrame:
    """Members of every household: role, age, birth date, sex and names."""
    n_hh = len(size)
    hh = np.repeat(np.arange(n_hh), size)
    n = len(hh)
    offset = np.cumsum(size) - size
    k = np.arange(n) - offset[hh]
    adult = k < n_adults[hh]
    role = np.where(
        k == 0, HEAD, np.where((k == 1) & couple[hh], PARTNER, np.where(adult, OTHER_ADULT, CHILD))
    ).astype(np.int8)
    has_kids = n_adults < size

    # Ages.
    band = rng.choice(len(_HEAD_AGE_P), size=n_hh, p=_HEAD_AGE_P)
    lo, hi = _HEAD_AGE_BANDS[band, 0], _HEAD_AGE_BANDS[band, 1]
    childless_age = lo + np.floor(rng.random(n_hh) * (hi - lo)).astype(np.int64)
    parent_age = np.clip(np.round(rng.normal(38, 8, n_hh)), 20, 62).astype(np.int64)
    head_age = np.where(has_kids, parent_age, childless_age)
    h_age = head_age[hh]
    partner_age = np.clip(h_age + np.round(rng.normal(-1.5, 4, n)).astype(np.int64), 18, 98)
    older_child = 18 + np.floor(
        rng.random(n) * np.maximum(1, np.minimum(34, h_age - 18) - 17)
    ).astype(np.int64)
    roommate = np.clip(h_age + rng.integers(-4, 5, n), 18, 98)
    elder = np.minimum(h_age + rng.integers(22, 36, n), 98)
    other_age = np.where(h_age >= 42, older_child, np.where(h_age < 30, roommate, elder))
    kid_age = np.floor(rng.random(n) * np.minimum(18, h_age - 18)).astype(np.int64)
    age = np.select(
        [role == HEAD, role == PARTNER, role == OTHER_ADULT],
        [h_age, partner_age, other_age],
        kid_age,
    )
    dob_days = _REFERENCE_DAYS - np.floor((age + rng.random(n)) * 365.2425).astype(np.int64)

    # Sex: most couples are a man and a woman, and the household carries his surname.
    head_male = rng.random(n_hh) < np.where(couple, 0.92, 0.45)
    opposite = rng.random(n_hh) < 0.96
    male = np.select(
        [role == HEAD, role == PARTNER],
        [head_male[hh], head_male[hh] != opposite[hh]],
        rng.random(n) < 0.51,
    )

    eth = ethnicity[hh]

    # Surnames: a household name, a birth name for partners and some other adults.
    names = tables.surnames().names
    compound = (ethnicity == tables.HISPANIC) & (rng.random(n_hh) < 0.15)
    base = names.gather(_draw_surnames(rng, ethnicity))
    second = names.gather(_draw_surnames(rng, ethnicity))
    hh_last = pl.select(
        pl.when(pl.Series(compound)).then(pl.concat_str(base, pl.lit(" "), second)).otherwise(base)
    ).to_series()
    own = names.gather(_draw_surnames(rng, ethnicity)[hh])
    other_keeps_base = (role == OTHER_ADULT) & ((h_age >= 42) | (rng.random(n) < 0.4))
    keeps_base = (role == HEAD) | (role == CHILD) | other_keeps_base
    # Partners: women mostly take the household name, some keep theirs or hyphenate.
    u = rng.random(n)
    is_partner = role == PARTNER
    takes = is_partner & np.where(~male, u < 0.75, u < 0.10)
    hyphen = is_partner & ~male & (u >= 0.75) & (u < 0.83)
    hh_hyphen = np.zeros(n_hh, dtype=bool)
    hh_hyphen[hh[hyphen]] = True
    kid_hyphen = (role == CHILD) & hh_hyphen[hh] & (rng.random(n) < 0.35)

    first_tab = tables.first_names()
    cohort = np.where(age >= 62, 0, np.where(age >= 32, 1, 2))
    group_names = np.array(["older", "middle", "younger", "hispanic", "asian"])
    heritage = np.where(
        (eth == tables.HISPANIC) & (rng.random(n) < 0.6),
        3,
        np.where((eth == tables.ASIAN) & (rng.random(n) < 0.45), 4, cohort),
    )
    first_i = np.zeros(n, dtype=np.int32)
    middle_i = np.zeros(n, dtype=np.int32)
    for sex_code, sex in ((True, "M"), (False, "F")):
        for g, group in enumerate(group_names):
            rows = np.flatnonzero((male == sex_code) & (heritage == g))
            idx, p = first_tab.groups[(sex, str(group))]
            first_i[rows] = idx[rng.choice(len(idx), size=len(rows), p=p)]
            mid_group = str(group_names[min(g, 2) if g < 3 else 1])
            midx, mp = first_tab.groups[(sex, mid_group)]
            middle_i[rows] = midx[rng.choice(len(midx), size=len(rows), p=mp)]

    # Juniors: some sons carry their father's first name.
    head_first = first_i[offset][hh]
    son = male & ((role == CHILD) | ((role == OTHER_ADULT) & (age < h_age))) & head_male[hh]
    junior = son & (rng.random(n) < 0.10)
    first_i = np.where(junior, head_first, first_i)
    kind = rng.random(n)
    suffix_code = np.zeros(n, dtype=np.int8)
    suffix_code[junior] = np.where(kind[junior] < 0.7, 1, np.where(kind[junior] < 0.9, 4, 3))
    hh_junior = np.zeros(n_hh, dtype=bool)
    hh_junior[hh[junior & (kind < 0.7)]] = True
    senior_mark = (role == HEAD) & hh_junior[hh] & (rng.random(n) < 0.45)
    suffix_code[senior_mark] = 2
    extra = male & (role != CHILD) & (suffix_code == 0) & (rng.random(n) < 0.006)
    suffix_code[extra] = np.array([1, 3, 4], dtype=np.int8)[rng.integers(0, 3, int(extra.sum()))]

    has_middle = (rng.random(n) < 0.88) & (middle_i != first_i)
    cell_p = np.where(age >= 65, 0.80, 0.94)

    first_names = first_tab.series
    df = pl.DataFrame(
        {
            "person": np.arange(n, dtype=np.int32),
            "hh": hh.astype(np.int32),
            "role": role,
            "age": age.astype(np.int16),
            "dob": pl.Series(dob_days.astype(np.int32)).cast(pl.Date),
            "sex": pl.Series(np.where(male, 1, 0)).replace_strict(
                {1: "M", 0: "F"}, return_dtype=pl.String
            ),
            "first_i": first_i,
            "first": first_names.gather(first_i),
            "middle": first_names.gather(middle_i),
            "has_middle": has_middle,
            "hh_last": hh_last.gather(hh),
            "own_last": own,
            "keeps_base": keeps_base,
            "suffix": pl.Series(suffix_code).replace_strict(
                dict(enumerate(_SUFFIXES)), return_dtype=pl.String
            ),
            "takes": takes,
            "hyphen": hyphen | kid_hyphen,
            "cell_wanted": (role != CHILD) & (rng.random(n) < cell_p),
        }
    )
    hyphenated = pl.concat_str(pl.col("own_last"), pl.lit("-"), pl.col("hh_last"))
    return (
        df.with_columns(
            middle=pl.when(pl.col("has_middle")).then(pl.col("middle")),
            birth_last=pl.when(pl.col("keeps_base"))
            .then(pl.col("hh_last"))
            .otherwise(pl.col("own_last")),
        )
        .with_columns(
            last=pl.when(pl.col("takes"))
            .then(pl.col("hh_last"))
            .when(pl.col("hyphen") & (pl.col("role") == PARTNER))
            .then(hyphenated)
            .otherwise(pl.col("birth_last"))
        )
        .pipe(_share_hyphenated)
        .drop("takes", "hyphen", "own_last", "hh_last", "keeps_base", "has_middle")
    )


def _share_hyphenated(df: pl.DataFrame) -> pl.DataFrame:
    """Give children flagged ``hyphen`` their hyphenated mother's surname."""
    mothers = df.filter((pl.col("role") == PARTNER) & pl.col("hyphen")).select(
        "hh", mother_last="last"
    )
    return (
        df.join(mothers, on="hh", how="left", maintain_order="left")
        .with_columns(
            last=pl.when((pl.col("role") == CHILD) & pl.col("hyphen"))
            .then(pl.col("mother_last"))
            .otherwise(pl.col("last"))
        )
        .drop("mother_last")
    )


def _draw_surnames(rng: np.random.Generator, ethnicity: np.ndarray) -> np.ndarray:
    """Indices of one surname per entry of ``ethnicity``, from the table of its origin."""
    table = tables.surnames()
    out = np.empty(len(ethnicity), dtype=np.int64)
    origin = np.where(ethnicity == tables.HISPANIC, 1, np.where(ethnicity == tables.ASIAN, 2, 0))
    for code, name in enumerate(("general", "hispanic", "asian")):
        rows = np.flatnonzero(origin == code)
        out[rows] = table.draw(rng, name, len(rows))
    return out


def random_phone_numbers(rng: np.random.Generator, n: int, state: str) -> np.ndarray:
    """``n`` valid ten-digit numbers with area codes of ``state`` (not checked distinct)."""
    codes = tables.cities(state).all_area_codes
    return (
        rng.choice(codes, size=n) * 10_000_000
        + rng.choice(_EXCHANGES, size=n) * 10_000
        + rng.integers(0, 10_000, n)
    )


def _phone_numbers(
    rng: np.random.Generator, cities: tables.Cities, city_row: np.ndarray
) -> np.ndarray:
    """Distinct ten-digit NANP numbers, mostly with an area code of the given city."""
    n = len(city_row)
    primary = np.array([c[0] for c in cities.area_codes])
    overlay = np.array([c[-1] for c in cities.area_codes])
    code = np.where(rng.random(n) < 0.8, primary[city_row], overlay[city_row])
    elsewhere = rng.random(n) < 0.07
    code[elsewhere] = rng.choice(cities.all_area_codes, size=int(elsewhere.sum()))
    number = (
        code * 10_000_000 + rng.choice(_EXCHANGES, size=n) * 10_000 + rng.integers(0, 10_000, n)
    )
    order = np.argsort(number, kind="stable")
    ordered = number[order]
    repeat = np.zeros(n, dtype=bool)
    repeat[order[1:]] = ordered[1:] == ordered[:-1]
    taken = ordered[~repeat[order]]
    # Redraw the last four digits of later copies until every number is distinct.
    todo = np.flatnonzero(repeat)
    for _ in range(100):
        if len(todo) == 0:
            return number
        candidate = (number[todo] // 10_000) * 10_000 + rng.integers(0, 10_000, len(todo))
        at = np.minimum(np.searchsorted(taken, candidate), len(taken) - 1)
        fresh = taken[at] != candidate
        _, first = np.unique(candidate, return_index=True)
        alone = np.zeros(len(todo), dtype=bool)
        alone[first] = True
        ok = fresh & alone
        number[todo[ok]] = candidate[ok]
        taken = np.insert(taken, np.searchsorted(taken, candidate[ok]), candidate[ok])
        todo = todo[~ok]
    raise RuntimeError("could not draw distinct phone numbers")  # pragma: no cover


def _emails(rng: np.random.Generator, people: pl.DataFrame) -> pl.Series:
    """A personal email address for most adults, unique even after Gmail dot-folding.

    The local part follows one of eight habits (``first.last``, ``flast``,
    ``first.last84``...); a later person whose address is already taken gets digits.
    """
    n = people.height
    domain_p = np.array([d[1] for d in tables.EMAIL_DOMAINS])
    domains = pl.Series([d[0] for d in tables.EMAIL_DOMAINS], dtype=pl.String)
    age = people["age"].to_numpy()
    wants = (people["role"].to_numpy() != CHILD) & (rng.random(n) < np.where(age >= 65, 0.55, 0.82))
    rows = np.flatnonzero(wants)
    m = len(rows)
    pattern = pl.Series(rng.integers(0, 8, m))
    number = pl.Series(rng.integers(1, 1000, m)).cast(pl.String)
    domain = domains.gather(rng.choice(len(domain_p), size=m, p=domain_p / domain_p.sum()))
    frame = people[rows].select(
        first=pl.col("first").str.to_lowercase().str.replace_all("[^a-z]", ""),
        last=pl.col("last").str.to_lowercase().str.replace_all("[^a-z]", ""),
        year=(pl.col("dob").dt.year() % 100).cast(pl.String).str.zfill(2),
        pattern=pattern,
        number=number,
        domain=domain,
    )
    f, last, p = pl.col("first"), pl.col("last"), pl.col("pattern")
    empty = pl.lit("")
    # pattern: 0 first.last  1 firstlast  2 flast  3 first_last  4 firstl123
    #          5 first.last84  6 first84  7 lastfirst123
    lead = pl.when(p == 2).then(f.str.slice(0, 1)).when(p == 7).then(last).otherwise(f)
    sep = pl.when((p == 0) | (p == 5)).then(pl.lit(".")).when(p == 3).then(pl.lit("_"))
    follow = (
        pl.when(p == 4)
        .then(last.str.slice(0, 1))
        .when(p == 6)
        .then(empty)
        .when(p == 7)
        .then(f)
        .otherwise(last)
    )
    tail = (
        pl.when((p == 4) | (p == 7))
        .then(pl.col("number"))
        .when((p == 5) | (p == 6))
        .then(pl.col("year"))
    )
    frame = frame.select(
        "domain",
        local=pl.concat_str(lead, sep, follow, tail, ignore_nulls=True),
    )
    canon = pl.concat_str(
        pl.when(pl.col("domain") == "gmail.com")
        .then(pl.col("local").str.replace_all(".", "", literal=True))
        .otherwise(pl.col("local")),
        pl.col("domain"),
        separator="@",
    )
    for _ in range(20):
        repeat = frame.select(~canon.is_first_distinct()).to_series()
        if not repeat.any():
            break
        suffix = pl.Series(rng.integers(10, 1000, m)).cast(pl.String)
        frame = frame.with_columns(
            local=pl.when(repeat)
            .then(pl.concat_str(pl.col("local"), suffix))
            .otherwise(pl.col("local"))
        )
    email = frame.select(pl.concat_str("local", "domain", separator="@")).to_series()
    out = pl.Series([None] * n, dtype=pl.String)
    return out.scatter(rows, email)
