"""Normalization throughput: rows per second of ``canonicalize`` for both list shapes.

* voter shape: split columns (first/middle/last name, suffix, MM/DD/YYYY birth date,
  gender, house number, street, unit, city, state, ZIP, phone, email);
* operator shape: one whole-name column in mixed orders and one one-line address in
  mixed spellings, plus city, state, ZIP or ZIP+4, phone in many formats, email.

Two data sources:

* the synthetic world of ``samples.generate`` (``generate_world(voters=ROWS, days=1)``,
  written to a temporary folder): its voter file and subscriber file, normalized with
  the fields of ``samples/engagement.toml``;
* a simple seeded generator in this module, for the operator shape at ``ROWS`` rows
  (the world has fewer subscribers than voters) and wherever ``samples`` is absent.

Each figure is the median of ``RUNS`` runs of ``canonicalize(...).collect()`` on a frame
already in memory (CSV read with every column as text), with wall and CPU seconds (CPU
time does not depend on other load on the machine), and one more run including the CSV
read.

    python -m bench normalize                      # 1,000,000 voters
    BENCH_ROWS=200000 BENCH_RUNS=5 python -m bench normalize
    BENCH_WORLD=0 python -m bench normalize        # the module's generator only
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from hashing.canonical import canonicalize

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
USE_WORLD = os.environ.get("BENCH_WORLD", "1") != "0"
SEED = 20260601
ENGAGEMENT = Path(__file__).resolve().parent.parent / "samples" / "engagement.toml"

VOTER_FIELDS: dict[str, str | dict[str, str]] = {
    "first_name": "FIRST_NAME",
    "middle_name": "MIDDLE_NAME",
    "last_name": "LAST_NAME",
    "name_suffix": "NAME_SUFFIX",
    "dob": {"column": "BIRTH_DATE", "format": "%m/%d/%Y"},
    "sex": "GENDER",
    "house_number": "RES_HOUSE_NUM",
    "street": "RES_STREET",
    "unit": "RES_UNIT",
    "city": "RES_CITY",
    "state": "RES_STATE",
    "zip": "RES_ZIP",
    "phone": "PHONE",
    "email": "EMAIL",
}
OPERATOR_FIELDS: dict[str, str | dict[str, str]] = {
    "full_name": {"column": "holder_name", "order": "auto"},
    "address_line": {"column": "service_address"},
    "city": "city",
    "state": "state",
    "zip": "zip",
    "phone": "phone",
    "email": "email",
}

_SYLLABLES = [
    "an", "ber", "car", "dal", "el", "fin", "gar", "hol", "is", "jen", "kal", "lor", "mar",
    "nel", "or", "par", "quin", "ros", "san", "tor", "ul", "ver", "wil", "yor", "zan",
]  # fmt: skip
_FIRST = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Charles", "Karen", "Bob", "Bill", "Liz", "Jim", "Kate", "José", "María",
    "Nguyen", "Wei", "Fatima", "Ahmed", "Aaliyah", "DeShawn", "Chloé", "Zoë", "Mike",
]  # fmt: skip
_STREET_TYPES = ["ST", "AVE", "RD", "DR", "LN", "CT", "BLVD", "PL", "WAY", "CIR", "TER"]
_SPELLED_TYPES = {
    "ST": "Street", "AVE": "Avenue", "RD": "Road", "DR": "Drive", "LN": "Lane",
    "CT": "Court", "BLVD": "Boulevard", "PL": "Place", "WAY": "Way", "CIR": "Circle",
    "TER": "Terrace",
}  # fmt: skip
_DIRS = {"N": "North", "S": "South", "E": "East", "W": "West"}
_STATES = ["IL", "MA", "NY", "CA", "TX", "FL", "OH", "PA", "GA", "NC", "MI", "VA", "WA"]


def _words(rng: np.random.Generator, count: int, parts: int) -> list[str]:
    picks = rng.integers(0, len(_SYLLABLES), size=(count, parts))
    return ["".join(_SYLLABLES[i] for i in row).capitalize() for row in picks]


def _pick(rng: np.random.Generator, pool: list[str], n: int) -> np.ndarray:
    return np.asarray(pool, dtype=object)[rng.integers(0, len(pool), n)]


def households(n: int, seed: int = SEED) -> pl.DataFrame:
    """One row per person: the ground-truth parts both shapes are written from."""
    rng = np.random.default_rng(seed)
    first_pool = _FIRST + _words(rng, 3000, 2)
    last_pool = [*_words(rng, 40000, 3), "Smith", "Garcia", "O'Brien", "De La Cruz", "Nguyen"]
    # About one distinct street per 25 people and a few hundred cities and ZIPs, as in a
    # real voter file; every street exists with one directional and one type only.
    streets = max(n // 25, 10)
    street_pool = [*_words(rng, streets, 2), "Main", "Oak", "First", "2nd", "Washington"]
    street_dir = _pick(rng, ["", "", "", "N", "S", "E", "W"], len(street_pool))
    street_type = _pick(rng, _STREET_TYPES, len(street_pool))
    street_index = rng.integers(0, len(street_pool), n)
    city_pool = _words(rng, 600, 2)
    zip_pool = rng.integers(1000, 99999, 900)
    hyphen = rng.random(n) < 0.03
    last = _pick(rng, last_pool, n)
    second = _pick(rng, last_pool, n)
    last = np.where(
        hyphen, np.char.add(np.char.add(last.astype(str), "-"), second.astype(str)), last
    )
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    year = rng.integers(1930, 2006, n)
    area = rng.integers(201, 990, n)
    exchange = rng.integers(200, 1000, n)
    line = rng.integers(0, 10000, n)
    return pl.DataFrame(
        {
            "first": _pick(rng, first_pool, n),
            "middle": _pick(rng, [*"ABCDEFGHJKLMNPRSTW", "", "", "", "Lee", "Ann"], n),
            "last": last,
            "suffix": _pick(rng, [""] * 40 + ["JR", "SR", "III"], n),
            "month": month,
            "day": day,
            "year": year,
            "sex": _pick(rng, ["M", "F", "M", "F", "U"], n),
            "house": rng.integers(1, 10000, n),
            "dir": street_dir[street_index],
            "street": np.asarray(street_pool, dtype=object)[street_index],
            "type": street_type[street_index],
            "unit": np.where(rng.random(n) < 0.2, rng.integers(1, 40, n).astype(str), ""),
            "unit_letter": _pick(rng, ["", "", "A", "B"], n),
            "city": _pick(rng, city_pool, n),
            "state": _pick(rng, _STATES, n),
            "zip": zip_pool[rng.integers(0, len(zip_pool), n)],
            "plus4": rng.integers(0, 10000, n),
            "area": area,
            "exchange": exchange,
            "line": line,
            "shape": rng.integers(0, 4, n),
            "has_phone": rng.random(n) < 0.6,
            "has_email": rng.random(n) < 0.35,
        }
    )


def voter_frame(truth: pl.DataFrame) -> pl.DataFrame:
    """The campaign's split-column shape."""
    c = pl.col
    unit = pl.when(c("unit") != "").then(pl.lit("APT ") + c("unit") + c("unit_letter"))
    street = pl.concat_str(c("dir"), c("street").str.to_uppercase(), c("type"), separator=" ")
    return truth.select(
        c("first").alias("FIRST_NAME"),
        c("middle").alias("MIDDLE_NAME"),
        c("last").str.to_uppercase().alias("LAST_NAME"),
        c("suffix").alias("NAME_SUFFIX"),
        pl.format("{}/{}/{}", c("month").cast(pl.String).str.zfill(2),
                  c("day").cast(pl.String).str.zfill(2), c("year")).alias("BIRTH_DATE"),
        c("sex").alias("GENDER"),
        c("house").cast(pl.String).alias("RES_HOUSE_NUM"),
        street.str.strip_chars().alias("RES_STREET"),
        unit.alias("RES_UNIT"),
        c("city").str.to_uppercase().alias("RES_CITY"),
        c("state").alias("RES_STATE"),
        c("zip").cast(pl.String).str.zfill(5).alias("RES_ZIP"),
        pl.when(c("has_phone")).then(pl.format("{}{}{}", c("area"), c("exchange"),
                  c("line").cast(pl.String).str.zfill(4))).alias("PHONE"),
        pl.when(c("has_email")).then(pl.format("{}.{}{}@example.com", c("first").str.to_lowercase(),
                  c("last").str.to_lowercase(), c("line"))).alias("EMAIL"),
    )  # fmt: skip


def operator_frame(truth: pl.DataFrame) -> pl.DataFrame:
    """The operator's shape: whole names and one-line addresses in mixed spellings."""
    c = pl.col
    shape = c("shape")
    upper_last = c("last").str.to_uppercase()
    name = (
        pl.when(shape == 0)
        .then(pl.format("{}, {} {}", upper_last, c("first").str.to_uppercase(), c("middle")))
        .when(shape == 1)
        .then(pl.format("{} {}. {}", c("first"), c("middle"), c("last")))
        .when(shape == 2)
        .then(pl.format("{} {} {}", c("first").str.to_uppercase(), upper_last, c("suffix")))
        .otherwise(pl.format("{} {}", c("first"), c("last")))
    )
    spelled_dir = c("dir").replace(_DIRS)
    spelled_type = c("type").replace(_SPELLED_TYPES)
    unit_id = c("unit") + c("unit_letter")
    has_unit = c("unit") != ""
    address = (
        pl.when(shape == 0)
        .then(
            pl.concat_str(
                c("house").cast(pl.String), spelled_dir, c("street"), spelled_type, separator=" "
            )
            + pl.when(has_unit).then(pl.lit(", Unit ") + unit_id).otherwise(pl.lit(""))
        )
        .when(shape == 1)
        .then(
            pl.concat_str(
                c("house").cast(pl.String),
                c("dir"),
                c("street").str.to_uppercase(),
                c("type"),
                separator=" ",
            )
            + pl.when(has_unit).then(pl.lit(" APT ") + unit_id).otherwise(pl.lit(""))
        )
        .otherwise(
            pl.concat_str(
                c("house").cast(pl.String),
                c("dir"),
                c("street"),
                c("type").str.to_titlecase(),
                separator=" ",
            )
            + pl.when(has_unit).then(pl.lit(" #") + unit_id).otherwise(pl.lit(""))
        )
    )
    line = c("line").cast(pl.String).str.zfill(4)
    phone = (
        pl.when(shape == 0)
        .then(pl.format("({}) {}-{}", c("area"), c("exchange"), line))
        .when(shape == 1)
        .then(pl.format("{}.{}.{}", c("area"), c("exchange"), line))
        .when(shape == 2)
        .then(pl.format("+1 {} {} {}", c("area"), c("exchange"), line))
        .otherwise(pl.format("1-{}-{}-{} x12", c("area"), c("exchange"), line))
    )
    zip5 = c("zip").cast(pl.String).str.zfill(5)
    return truth.select(
        name.str.replace_all(" +", " ").str.strip_chars().alias("holder_name"),
        address.str.replace_all(" +", " ").str.strip_chars().alias("service_address"),
        c("city").alias("city"),
        c("state").alias("state"),
        pl.when(shape == 1)
        .then(zip5 + "-" + c("plus4").cast(pl.String).str.zfill(4))
        .otherwise(zip5)
        .alias("zip"),
        pl.when(c("has_phone") | (shape == 0)).then(phone).alias("phone"),
        pl.when(c("has_email") | (shape == 1))
        .then(pl.format("{}{}@gmail.com", c("first").str.to_uppercase(), c("line")))
        .alias("email"),
    )


Fields = dict[str, str | dict[str, str]]


def _time(frame: pl.DataFrame, fields: Fields) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    canonicalize(frame.head(1000).lazy(), fields).collect()  # build tables, compile regexes
    for _ in range(RUNS):
        wall, cpu = time.perf_counter(), time.process_time()
        canonicalize(frame.lazy(), fields).collect()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def _time_csv(path: Path, fields: Fields) -> tuple[list[float], list[float]]:
    wall, cpu = time.perf_counter(), time.process_time()
    canonicalize(pl.scan_csv(path, infer_schema=False), fields).collect()
    return [time.perf_counter() - wall], [time.process_time() - cpu]


def _report(label: str, rows: int, times: tuple[list[float], list[float]]) -> None:
    walls, cpus = times
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(
        f"{label:<34} {rows:>9,} rows  wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
        f"{rows / wall:>10,.0f} rows/s  (wall runs: {', '.join(f'{t:.2f}' for t in walls)})"
    )


def _measure(label: str, frame: pl.DataFrame, fields: Fields, tmp: Path) -> None:
    _report(label, frame.height, _time(frame, fields))
    path = tmp / "input.csv"
    frame.write_csv(path)
    _report(label + " + CSV read", frame.height, _time_csv(path, fields))


def _world_frames(tmp: Path) -> dict[str, tuple[pl.DataFrame, Fields]] | None:
    try:
        import tomllib

        from samples.generate import generate_world
    except ImportError:
        return None
    start = time.perf_counter()
    generate_world(tmp / "world", voters=ROWS, seed=SEED % 1000, days=1)
    print(f"(generated the sample world in {time.perf_counter() - start:.0f} s)")
    inputs = tomllib.loads(ENGAGEMENT.read_text(encoding="utf-8"))["inputs"]
    voters = pl.read_csv(tmp / "world/campaign/voters.csv", infer_schema=False)
    accounts = pl.read_csv(tmp / "world/operator/subscribers.csv", infer_schema=False)
    return {
        "world voters": (voters, inputs["campaign"]["fields"]),
        "world subscribers": (accounts, inputs["operator"]["fields"]),
    }


def main() -> None:
    print(f"polars {pl.__version__}, threads {pl.thread_pool_size()}, rows {ROWS:,}, runs {RUNS}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        frames = _world_frames(tmp) if USE_WORLD else None
        for label, (frame, fields) in (frames or {}).items():
            _measure(label, frame, fields, tmp)
        truth = households(ROWS)
        if frames is None:
            _measure("voter (split columns)", voter_frame(truth), VOTER_FIELDS, tmp)
        _measure("operator (one-line)", operator_frame(truth), OPERATOR_FIELDS, tmp)


if __name__ == "__main__":
    main()
