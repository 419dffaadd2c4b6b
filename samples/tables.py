"""Reference tables for the synthetic world: names, streets, cities, channels.

The CSV files under ``samples/data/`` are small frequency tables written for this project
(see ``docs/samples.md``). Each loader returns plain arrays so that the generator can draw
from them with vectorized numpy calls; every loader is cached, so building many small
worlds (tests) reads each file once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from nicknames import NickNamer

from hashing.errors import ConfigError

DATA_DIR = Path(__file__).parent / "data"

#: Household ethnicity codes used throughout the generator.
WHITE, BLACK, HISPANIC, ASIAN, OTHER = 0, 1, 2, 3, 4

#: USPS street suffix abbreviation, the spelled-out form, and how often it occurs.
STREET_SUFFIXES: tuple[tuple[str, str, float], ...] = (
    ("ST", "STREET", 0.27),
    ("AVE", "AVENUE", 0.19),
    ("RD", "ROAD", 0.13),
    ("DR", "DRIVE", 0.14),
    ("LN", "LANE", 0.06),
    ("CT", "COURT", 0.05),
    ("BLVD", "BOULEVARD", 0.02),
    ("WAY", "WAY", 0.03),
    ("PL", "PLACE", 0.03),
    ("CIR", "CIRCLE", 0.04),
    ("PKWY", "PARKWAY", 0.01),
    ("TER", "TERRACE", 0.01),
    ("TRL", "TRAIL", 0.02),
)

#: Pre-directionals: USPS abbreviation, spelled-out form, probability ("" = none).
DIRECTIONALS: tuple[tuple[str, str, float], ...] = (
    ("", "", 0.80),
    ("N", "NORTH", 0.045),
    ("S", "SOUTH", 0.045),
    ("E", "EAST", 0.045),
    ("W", "WEST", 0.035),
    ("NE", "NORTHEAST", 0.008),
    ("NW", "NORTHWEST", 0.008),
    ("SE", "SOUTHEAST", 0.007),
    ("SW", "SOUTHWEST", 0.007),
)

#: Unit designators used by the voter file (the building's own), with probabilities.
UNIT_DESIGNATORS: tuple[tuple[str, float], ...] = (
    ("APT", 0.70),
    ("UNIT", 0.20),
    ("#", 0.08),
    ("STE", 0.02),
)

#: Email domains and their shares.
EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 0.42),
    ("yahoo.com", 0.16),
    ("hotmail.com", 0.08),
    ("outlook.com", 0.07),
    ("aol.com", 0.06),
    ("icloud.com", 0.07),
    ("comcast.net", 0.04),
    ("att.net", 0.03),
    ("sbcglobal.net", 0.03),
    ("msn.com", 0.02),
    ("live.com", 0.02),
)

#: Accented spellings that subscriber records sometimes carry for Hispanic names.
ACCENTED: dict[str, str] = {
    "MUNOZ": "MUÑOZ",
    "PENA": "PEÑA",
    "NUNEZ": "NÚÑEZ",
    "IBANEZ": "IBÁÑEZ",
    "MONTANEZ": "MONTAÑEZ",
    "NARVAEZ": "NARVÁEZ",
    "RAMIREZ": "RAMÍREZ",
    "RODRIGUEZ": "RODRÍGUEZ",
    "HERNANDEZ": "HERNÁNDEZ",
    "MARTINEZ": "MARTÍNEZ",
    "GONZALEZ": "GONZÁLEZ",
    "PEREZ": "PÉREZ",
    "SANCHEZ": "SÁNCHEZ",
    "GOMEZ": "GÓMEZ",
    "DIAZ": "DÍAZ",
    "JOSE": "JOSÉ",
    "MARIA": "MARÍA",
    "JESUS": "JESÚS",
    "RAUL": "RAÚL",
    "RAMON": "RAMÓN",
    "HECTOR": "HÉCTOR",
    "OSCAR": "ÓSCAR",
    "ANDRES": "ANDRÉS",
    "LUCIA": "LUCÍA",
    "SOFIA": "SOFÍA",
    "ROCIO": "ROCÍO",
}


@dataclass(frozen=True)
class Weighted:
    """Values with sampling probabilities (summing to one)."""

    values: np.ndarray
    p: np.ndarray

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Indices of ``n`` values drawn with replacement by weight."""
        return rng.choice(len(self.values), size=n, p=self.p)


@dataclass(frozen=True)
class FirstNames:
    """First names: one global name list plus per-(sex, group) weighted index sets.

    ``groups[(sex, group)]`` holds indices into ``names`` and their probabilities;
    ``sex`` is ``"M"`` or ``"F"``, ``group`` one of older, middle, younger, hispanic, asian.
    """

    names: np.ndarray
    series: pl.Series
    groups: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Nicknames:
    """Nickname variants of each first name, as a compressed row table.

    The nicknames of ``names[i]`` are ``flat[start[i] : start[i] + count[i]]``.
    """

    flat: np.ndarray
    start: np.ndarray
    count: np.ndarray


@dataclass(frozen=True)
class Cities:
    """The cities and ZIP codes of one state, with their area codes and weights."""

    state: str
    city: np.ndarray
    zip5: np.ndarray
    area_codes: list[np.ndarray]
    p: np.ndarray
    all_area_codes: np.ndarray


def strings(values: np.ndarray) -> pl.Series:
    """A numpy array of ``str``/``None`` objects as a polars String series."""
    return pl.Series(values.tolist(), dtype=pl.String)


def _read(name: str) -> pl.DataFrame:
    return pl.read_csv(DATA_DIR / name, infer_schema=False)


def _weighted(values: pl.Series, weights: pl.Series) -> Weighted:
    w = weights.cast(pl.Float64).to_numpy()
    return Weighted(values.to_numpy(), w / w.sum())


@dataclass(frozen=True)
class Surnames:
    """All surnames in one String series, with weighted index sets per origin.

    ``origins[name]`` holds indices into ``names`` and their probabilities; origins are
    ``general``, ``hispanic`` and ``asian``.
    """

    names: pl.Series
    origins: dict[str, tuple[np.ndarray, np.ndarray]]

    def draw(self, rng: np.random.Generator, origin: str, n: int) -> np.ndarray:
        """Indices into ``names`` of ``n`` surnames of ``origin`` drawn by frequency."""
        idx, p = self.origins[origin]
        return idx[rng.choice(len(idx), size=n, p=p)]


@functools.cache
def surnames() -> Surnames:
    """Surname tables by origin: ``general``, ``hispanic`` and ``asian``."""
    df = _read("surnames.csv").with_row_index("i")
    origins = {}
    for (origin,), part in df.group_by("origin", maintain_order=True):
        w = part["weight"].cast(pl.Float64).to_numpy()
        origins[str(origin)] = (part["i"].cast(pl.Int64).to_numpy(), w / w.sum())
    return Surnames(df["name"], origins)


@functools.cache
def first_names() -> FirstNames:
    """First names by sex and group (birth cohort or heritage)."""
    df = _read("first_names.csv")
    names = np.array(sorted(set(df["name"].to_list())), dtype=object)
    position = {n: i for i, n in enumerate(names)}
    groups: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for (sex, group), part in df.group_by("sex", "group", maintain_order=True):
        idx = np.array([position[n] for n in part["name"].to_list()], dtype=np.int32)
        w = part["weight"].cast(pl.Float64).to_numpy()
        groups[(str(sex), str(group))] = (idx, w / w.sum())
    return FirstNames(names, pl.Series(names.tolist(), dtype=pl.String), groups)


@functools.cache
def nicknames() -> Nicknames:
    """Nickname variants (from the ``nicknames`` package) of every first name we use.

    Only alphabetic variants of at least two letters that differ from the formal name are
    kept, sorted so that the table (and every world built from it) is deterministic.
    """
    namer = NickNamer()
    names = first_names().names
    flat: list[str] = []
    start = np.zeros(len(names), dtype=np.int64)
    count = np.zeros(len(names), dtype=np.int64)
    for i, formal in enumerate(names):
        variants = sorted(
            v.upper()
            for v in namer.nicknames_of(str(formal).lower())
            if v.isalpha() and len(v) >= 2 and v.upper() != formal
        )
        start[i] = len(flat)
        count[i] = len(variants)
        flat.extend(variants)
    return Nicknames(np.array(flat, dtype=object), start, count)


@functools.cache
def streets() -> Weighted:
    """Street base names (MAIN, OAK, 2ND, MARTIN LUTHER KING JR...) by frequency."""
    df = _read("streets.csv")
    return _weighted(df["name"], df["weight"])


@functools.cache
def supported_states() -> tuple[str, ...]:
    """States that ``cities.csv`` covers."""
    return tuple(sorted(set(_read("cities.csv")["state"].to_list())))


@functools.cache
def cities(state: str) -> Cities:
    """Cities, ZIP5s and area codes of ``state``; ConfigError if the state is not covered."""
    df = _read("cities.csv").filter(pl.col("state") == state)
    if df.height == 0:
        raise ConfigError(
            "generate_world",
            [("state", f"not covered by samples/data/cities.csv (have: {supported_states()})")],
        )
    codes = [np.array(s.split(), dtype=np.int64) for s in df["area_codes"].to_list()]
    w = df["weight"].cast(pl.Float64).to_numpy()
    return Cities(
        state=state,
        city=df["city"].to_numpy(),
        zip5=df["zip"].to_numpy(),
        area_codes=codes,
        p=w / w.sum(),
        all_area_codes=np.unique(np.concatenate(codes)),
    )


@functools.cache
def channels() -> pl.DataFrame:
    """The 60-channel lineup: ``channel`` (CH01..CH60), ``name`` and ``genre``."""
    return _read("channels.csv")
