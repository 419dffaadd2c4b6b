"""Generate a seeded synthetic multi-party world for one US state.

The world is one population seen by three parties, each holding only its own files::

    campaign/voters.csv           the voter file (registered adults, scores, segments)
    operator/subscribers.csv      subscriber accounts (holder name, one-line address...)
    operator/boxes.csv            the set-top boxes of each account
    measurement/viewing.parquet   anonymous tune events per box
    measurement/channels.csv      the channel lineup
    truth/*.csv                   which records belong to which household (evaluation)
    world.json                    the counts of this world (``WorldSummary``)

Example::

    from pathlib import Path
    from samples.generate import generate_world, load_truth

    summary = generate_world(Path("world"), voters=100_000, seed=1)
    truth = load_truth(Path("world"))

The same arguments always give byte-identical files. Every file is written to a
temporary name in its folder and renamed into place, so an interrupted run never leaves a
half-written file behind. See ``docs/samples.md`` for the noise model and the columns.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl

from hashing.errors import ConfigError
from samples import tables
from samples.campaign import VOTER_COLUMNS, build_voter_file
from samples.population import build_population
from samples.subscribers import BOX_COLUMNS, SUBSCRIBER_COLUMNS, build_operator
from samples.textnoise import digits
from samples.viewing import household_hours, profiles, realized_minutes, tune_events

#: Share of adults who are registered to vote.
REGISTRATION_RATE = 0.70

#: The files of a world, relative to its folder.
VOTERS_FILE = Path("campaign/voters.csv")
SUBSCRIBERS_FILE = Path("operator/subscribers.csv")
BOXES_FILE = Path("operator/boxes.csv")
VIEWING_FILE = Path("measurement/viewing.parquet")
CHANNELS_FILE = Path("measurement/channels.csv")
TRUTH_DIR = Path("truth")
SUMMARY_FILE = Path("world.json")

_HOUSEHOLD_ID = pl.concat_str(pl.lit("HH"), digits(pl.col("hh"), 8)).alias("household_id")

#: Truth tables and their columns (all text except the household counts).
TRUTH_COLUMNS: dict[str, tuple[str, ...]] = {
    "voters": ("VOTER_ID", "household_id", "person_id"),
    "accounts": ("account_id", "household_id"),
    "boxes": ("box_id", "household_id"),
    "households": (
        "household_id",
        "people",
        "adults",
        "voters",
        "subscriber",
        "viewing_minutes_per_day",
    ),
}


@dataclasses.dataclass(frozen=True)
class WorldSummary:
    """How big a generated world is. ``voter_rows`` counts duplicate voter rows too."""

    households: int
    people: int
    voters: int
    voter_rows: int
    accounts: int
    boxes: int
    tune_events: int
    days: int
    seed: int

    def to_dict(self) -> dict[str, int]:
        """The counts as a plain dict (what ``world.json`` holds)."""
        return dataclasses.asdict(self)


def generate_world(
    out_dir: Path,
    *,
    voters: int,
    seed: int,
    days: int = 1,
    state: str = "OH",
    noise: float = 1.0,
) -> WorldSummary:
    """Write a world with exactly ``voters`` registered voters into ``out_dir``.

    ``days`` is the length of the viewing window (from Monday 2026-10-05); ``noise``
    scales every disagreement between the parties' records (0 = none beyond the
    formatting each party uses, 1 = realistic, 2 = twice as many typos, movers...).
    Raises ``ConfigError`` listing every invalid argument.
    """
    _check_arguments(voters=voters, seed=seed, days=days, state=state, noise=noise)
    streams = _streams(seed)
    out = Path(out_dir)
    # Files are written by a background thread while the next party's data is built.
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending: list[Future[None]] = []

        def save(path: Path, write: Callable[[Path], object]) -> None:
            pending.append(writer.submit(_atomic, out / path, write))

        def save_csv(path: Path, frame: pl.DataFrame) -> None:
            save(path, lambda tmp: frame.write_csv(tmp))

        pop = build_population(streams[0], math.ceil(voters / REGISTRATION_RATE), state)
        households = pop.households.height
        voter_file = build_voter_file(streams[1], pop, voters, noise)
        save_csv(VOTERS_FILE, voter_file.rows.select(VOTER_COLUMNS))
        save_csv(
            TRUTH_DIR / "voters.csv",
            voter_file.rows.select(
                "VOTER_ID",
                _HOUSEHOLD_ID,
                person_id=pl.concat_str(pl.lit("P"), digits(pl.col("person"), 9)),
            ),
        )

        operator = build_operator(streams[2], pop, noise)
        save_csv(SUBSCRIBERS_FILE, operator.subscribers.select(SUBSCRIBER_COLUMNS))
        save_csv(BOXES_FILE, operator.boxes.select(BOX_COLUMNS))
        save_csv(
            TRUTH_DIR / "accounts.csv", operator.subscribers.select("account_id", _HOUSEHOLD_ID)
        )
        boxes = operator.boxes.sort("box_no")
        save_csv(TRUTH_DIR / "boxes.csv", boxes.select("box_id", _HOUSEHOLD_ID))

        box_hh = boxes["hh"].to_numpy()
        profile = profiles(pop.households, voter_file.registered)
        hours = household_hours(streams[3], profile)
        viewing = tune_events(streams[3], box_hh, profile, hours, days)
        channels = tables.channels()
        box_ids = boxes["box_id"].to_arrow()
        channel_ids = channels["channel"].to_arrow()
        save(VIEWING_FILE, lambda tmp: viewing.write_parquet(tmp, box_ids, channel_ids))
        save_csv(CHANNELS_FILE, channels)

        registered = np.bincount(voter_file.registered["hh"].to_numpy(), minlength=households)
        subscriber = np.zeros(households, dtype=np.int8)
        subscriber[operator.subscribers["hh"].to_numpy()] = 1
        save_csv(
            TRUTH_DIR / "households.csv",
            pop.households.select(
                _HOUSEHOLD_ID,
                people="size",
                adults="adults",
                voters=pl.Series(registered),
                subscriber=pl.Series(subscriber),
                viewing_minutes_per_day=pl.Series(
                    realized_minutes(viewing, box_hh, households, days)
                ),
            ),
        )
        for done in pending:
            done.result()

    summary = WorldSummary(
        households=households,
        people=pop.people.height,
        voters=voters,
        voter_rows=voter_file.rows.height,
        accounts=operator.subscribers.height,
        boxes=boxes.height,
        tune_events=len(viewing.start),
        days=days,
        seed=seed,
    )
    # Written last: a world.json says every other file of the world is complete.
    text = json.dumps(summary.to_dict(), indent=2) + "\n"
    _atomic(out / SUMMARY_FILE, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return summary


def generate_voter_file(
    path: Path, *, voters: int, seed: int, state: str = "OH", noise: float = 1.0
) -> int:
    """Write only the campaign's voter file — the very bytes ``generate_world`` writes to
    ``campaign/voters.csv`` with the same arguments — and return its row count.

    For the party-side benchmark at state size: the subscribers, boxes and viewing of a
    whole world are not built, so 8 M voters need about half the memory.
    """
    _check_arguments(voters=voters, seed=seed, days=1, state=state, noise=noise)
    streams = _streams(seed)
    pop = build_population(streams[0], math.ceil(voters / REGISTRATION_RATE), state)
    voter_file = build_voter_file(streams[1], pop, voters, noise)
    rows = voter_file.rows.select(VOTER_COLUMNS)
    _atomic(Path(path), lambda tmp: rows.write_csv(tmp))
    return rows.height


def _streams(seed: int) -> list[np.random.Generator]:
    """The world's independent random streams: population, voters, operator, viewing."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]


def load_truth(world_dir: Path) -> dict[str, pl.DataFrame]:
    """The truth tables of a world: ``voters``, ``accounts``, ``boxes``, ``households``.

    IDs are read as text; the household counts as integers.
    """
    out: dict[str, pl.DataFrame] = {}
    for name, columns in TRUTH_COLUMNS.items():
        schema = {
            c: pl.String if c.endswith("_id") or c == "VOTER_ID" else pl.Int64 for c in columns
        }
        out[name] = pl.read_csv(Path(world_dir) / TRUTH_DIR / f"{name}.csv", schema=schema)
    return out


def _check_arguments(*, voters: int, seed: int, days: int, state: str, noise: float) -> None:
    problems: list[tuple[str, str]] = []

    def is_int(value: object) -> bool:
        return isinstance(value, int | np.integer) and not isinstance(value, bool)

    if not is_int(voters) or voters < 1:
        problems.append(("voters", "must be a whole number of at least 1"))
    if not is_int(seed) or seed < 0:
        problems.append(("seed", "must be a whole number of at least 0"))
    if not is_int(days) or days < 1 or days > 366:
        problems.append(("days", "must be a whole number from 1 to 366"))
    if not isinstance(noise, int | float) or not math.isfinite(noise) or noise < 0:
        problems.append(("noise", "must be a finite number of at least 0"))
    if state not in tables.supported_states():
        problems.append(
            ("state", f"not covered by samples/data/cities.csv (have: {tables.supported_states()})")
        )
    if problems:
        raise ConfigError("generate_world", problems)


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through a temporary file in the same folder, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
