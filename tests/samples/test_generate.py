"""The synthetic world generator: determinism, file contracts, reconciliation, signal."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import phonenumbers
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import samples.viewing
from hashing.errors import ConfigError
from samples.generate import (
    BOXES_FILE,
    CHANNELS_FILE,
    SUBSCRIBERS_FILE,
    SUMMARY_FILE,
    VIEWING_FILE,
    VOTERS_FILE,
    WorldSummary,
    generate_voter_file,
    generate_world,
    load_truth,
)

SAMPLE_WORLD = Path(__file__).resolve().parents[2] / "samples" / "world"

VOTER_HEADER = [
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
]
SUBSCRIBER_HEADER = [
    "account_id",
    "holder_name",
    "service_address",
    "city",
    "state",
    "zip",
    "phone",
    "email",
]


def read_text_csv(path: Path) -> pl.DataFrame:
    """A CSV with every column as text, empty fields as null."""
    return pl.read_csv(path, infer_schema=False)


def files_of(world: Path) -> dict[str, str]:
    """SHA-256 of every file by relative path (a failure shows digests, never contents)."""
    return {
        str(p.relative_to(world)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(world.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WorldSummary]:
    out = tmp_path_factory.mktemp("world")
    return out, generate_world(out, voters=3000, seed=11, days=2)


def check_reconciles(out: Path, summary: WorldSummary) -> None:
    """Every record maps to exactly one household and the files agree with each other."""
    truth = load_truth(out)
    voters = read_text_csv(out / VOTERS_FILE)
    subs = read_text_csv(out / SUBSCRIBERS_FILE)
    boxes = read_text_csv(out / BOXES_FILE)
    events = pl.read_parquet(out / VIEWING_FILE)

    assert voters.height == summary.voter_rows == truth["voters"].height
    assert voters["VOTER_ID"].n_unique() == voters.height
    assert truth["voters"]["VOTER_ID"].n_unique() == truth["voters"].height
    assert voters["VOTER_ID"].sort().equals(truth["voters"]["VOTER_ID"].sort())
    assert truth["voters"]["person_id"].n_unique() == summary.voters
    assert truth["voters"]["household_id"].null_count() == 0
    # A person belongs to one household, even across duplicate rows.
    per_person = truth["voters"].group_by("person_id").agg(pl.col("household_id").n_unique())
    assert per_person["household_id"].max() in (None, 1)

    assert subs.height == summary.accounts == truth["accounts"].height
    assert subs["account_id"].n_unique() == subs.height
    assert subs["account_id"].sort().equals(truth["accounts"]["account_id"].sort())
    assert truth["accounts"]["household_id"].n_unique() == truth["accounts"].height

    assert boxes.height == summary.boxes == truth["boxes"].height
    assert boxes["box_id"].n_unique() == boxes.height
    assert boxes["box_id"].sort().equals(truth["boxes"]["box_id"].sort())
    assert set(boxes["account_id"].to_list()) == set(subs["account_id"].to_list())
    per_account = boxes.group_by("account_id").len()["len"].to_list()
    assert all(1 <= count <= 4 for count in per_account)
    # A box is in the household of its account.
    joined = boxes.join(truth["accounts"], on="account_id").join(
        truth["boxes"], on="box_id", suffix="_of_box"
    )
    assert joined.height == boxes.height
    assert (joined["household_id"] == joined["household_id_of_box"]).all()

    hh = truth["households"]
    assert hh.height == summary.households and hh["people"].sum() == summary.people
    known = set(hh["household_id"].to_list())
    for table in ("voters", "accounts", "boxes"):
        assert set(truth[table]["household_id"].to_list()) <= known

    assert events.height == summary.tune_events
    assert set(events["box_id"].unique().to_list()) <= set(boxes["box_id"].to_list())
    check_events(events, days=summary.days)


def check_events(events: pl.DataFrame, *, days: int) -> None:
    """Times are sane and a box never shows two events at once."""
    assert (events["end"] > events["start"]).all()
    window_start = samples.viewing.WINDOW_START
    assert (events["start"] >= window_start).all()
    assert (events["start"] < window_start + timedelta(days=days)).all()
    ordered = events.sort("box_id", "start")
    overlap = ordered.select(
        (
            (pl.col("box_id") == pl.col("box_id").shift(1))
            & (pl.col("start") < pl.col("end").shift(1))
        ).sum()
    ).item()
    assert overlap == 0


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = generate_world(tmp_path / "a", voters=800, seed=3, days=2)
    b = generate_world(tmp_path / "b", voters=800, seed=3, days=2)
    assert a == b
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")


def test_the_voter_file_alone_is_the_worlds_voter_file(tmp_path: Path) -> None:
    generate_world(tmp_path / "world", voters=800, seed=3, noise=1.5)
    rows = generate_voter_file(tmp_path / "voters.csv", voters=800, seed=3, noise=1.5)
    whole = (tmp_path / "world" / VOTERS_FILE).read_bytes()
    assert (tmp_path / "voters.csv").read_bytes() == whole
    assert rows == whole.count(b"\n") - 1  # header line
    with pytest.raises(ConfigError):
        generate_voter_file(tmp_path / "bad.csv", voters=0, seed=3)


def test_different_seeds_give_different_worlds(tmp_path: Path) -> None:
    generate_world(tmp_path / "a", voters=800, seed=3)
    generate_world(tmp_path / "b", voters=800, seed=4)
    a, b = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    for path in (VOTERS_FILE, SUBSCRIBERS_FILE, BOXES_FILE, VIEWING_FILE):
        assert a[str(path)] != b[str(path)]


def test_columns_are_exactly_the_contract(world: tuple[Path, WorldSummary]) -> None:
    out, _ = world
    assert read_text_csv(out / VOTERS_FILE).columns == VOTER_HEADER
    assert read_text_csv(out / SUBSCRIBERS_FILE).columns == SUBSCRIBER_HEADER
    assert read_text_csv(out / BOXES_FILE).columns == ["account_id", "box_id"]
    assert read_text_csv(out / CHANNELS_FILE).columns == ["channel", "name", "genre"]
    assert pl.read_parquet_schema(out / VIEWING_FILE) == {
        "box_id": pl.String,
        "channel": pl.String,
        "start": pl.Datetime("us"),
        "end": pl.Datetime("us"),
    }
    truth = load_truth(out)
    assert truth["voters"].columns == ["VOTER_ID", "household_id", "person_id"]
    assert truth["accounts"].columns == ["account_id", "household_id"]
    assert truth["boxes"].columns == ["box_id", "household_id"]


def test_world_reconciles(world: tuple[Path, WorldSummary]) -> None:
    out, summary = world
    check_reconciles(out, summary)
    assert json.loads((out / SUMMARY_FILE).read_text()) == summary.to_dict()
    assert summary.voters == 3000 and summary.days == 2 and summary.seed == 11


def test_voter_file_values(world: tuple[Path, WorldSummary]) -> None:
    out, _ = world
    v = read_text_csv(out / VOTERS_FILE)
    assert v["VOTER_ID"].str.contains(r"^OH\d{10}$").all()
    assert v["BIRTH_DATE"].str.contains(r"^\d{2}/\d{2}/\d{4}$").all()
    born = v["BIRTH_DATE"].str.to_date("%m/%d/%Y")
    age_days = (pl.lit(samples.viewing.WINDOW_START.date()) - born).dt.total_days()
    ages = v.select(age_days / 365.25).to_series()
    assert ages.min() >= 17.9 and ages.max() < 100  # type: ignore[operator]
    assert set(v["GENDER"].unique().to_list()) <= {"M", "F", "U"}
    assert (v["RES_STATE"] == "OH").all()
    assert v["RES_ZIP"].str.contains(r"^\d{5}$").all()
    assert v["FIRST_NAME"].null_count() == 0 and v["LAST_NAME"].null_count() == 0
    scores = v.select(pl.col("SUPPORT_SCORE", "TURNOUT_SCORE", "PERSUASION_SCORE").cast(pl.Int64))
    assert scores.min().row(0) >= (1, 1, 1) and scores.max().row(0) <= (100, 100, 100)
    flags = [c for c in VOTER_HEADER if c.startswith(("SEG_", "COMM_"))]
    for c in flags:
        assert set(v[c].unique().to_list()) <= {"0", "1"}
    # Segments follow from the scores.
    s = v.select(
        pl.col("SUPPORT_SCORE", "TURNOUT_SCORE", "PERSUASION_SCORE").cast(pl.Int64),
        pl.col("SEG_PERSUADABLE", "SEG_GOTV", "SEG_BASE", "COMM_SENIOR").cast(pl.Int64),
        age=ages,
    )
    assert s.filter(pl.col("SEG_GOTV") + pl.col("SEG_BASE") > 1).height == 0
    assert s.filter((pl.col("SEG_BASE") == 1) & (pl.col("SUPPORT_SCORE") < 65)).height == 0
    assert s.filter((pl.col("SEG_GOTV") == 1) & (pl.col("TURNOUT_SCORE") >= 50)).height == 0
    persuadable = s.filter(pl.col("SEG_PERSUADABLE") == 1)
    assert (persuadable["PERSUASION_SCORE"] >= 65).all()
    assert persuadable["SUPPORT_SCORE"].is_between(35, 65).all()
    for c in ("SEG_PERSUADABLE", "SEG_GOTV", "SEG_BASE", "COMM_SENIOR"):
        assert 0.03 < s[c].mean() < 0.6  # type: ignore[operator]
    # Many voters lack a phone or an email.
    assert 0.3 < v["PHONE"].null_count() / v.height < 0.8
    assert 0.5 < v["EMAIL"].null_count() / v.height < 0.9


def test_subscriber_file_shapes(world: tuple[Path, WorldSummary]) -> None:
    out, _ = world
    s = read_text_csv(out / SUBSCRIBERS_FILE)
    assert s["zip"].str.contains(r"^\d{5}(-\d{4})?$").all()
    assert s["zip"].str.contains("-").any() and (~s["zip"].str.contains("-")).any()
    names = s["holder_name"]
    assert names.str.contains(r"^[A-Z' -]+, ").any()  # SMITH, JOHN A
    assert names.str.contains(r"^[A-Z][a-z]+ [A-Z]\. [A-Z]").any()  # John A. Smith
    address = s["service_address"]
    assert address.str.contains(r", (Apt|Unit|Suite) ").any()
    assert address.str.contains(r" (Street|Avenue|Road|Drive)\b").any()
    assert address.str.contains(r" #\w+$").any()
    assert address.str.contains(r"^\d+ [A-Z0-9 ]+ (ST|AVE|RD|DR)\b").any()
    phone = s["phone"].drop_nulls()
    for pattern in (
        r"^\(\d{3}\) \d{3}-\d{4}$",
        r"^\d{3}\.\d{3}\.\d{4}$",
        r"^\+1 \d{3} \d{3} \d{4}$",
    ):
        assert phone.str.contains(pattern).any(), pattern
    boxes = read_text_csv(out / BOXES_FILE)
    assert boxes["box_id"].str.contains(r"^STB-[0-9A-F]{12}$").all()


def test_every_phone_is_a_valid_number(world: tuple[Path, WorldSummary]) -> None:
    out, _ = world
    phones = pl.concat(
        [
            read_text_csv(out / VOTERS_FILE)["PHONE"],
            read_text_csv(out / SUBSCRIBERS_FILE)["phone"].alias("PHONE"),
        ]
    )
    distinct = phones.drop_nulls().unique().to_list()
    assert len(distinct) > 500
    invalid = [p for p in distinct if not phonenumbers.is_valid_number(phonenumbers.parse(p, "US"))]
    assert not invalid, f"{len(invalid)} of {len(distinct)} phone numbers are not valid"


def test_viewing_carries_signal(world: tuple[Path, WorldSummary]) -> None:
    """Intensity bands, the daypart curve and channel preferences by community."""
    out, summary = world
    truth = load_truth(out)
    subs = truth["households"].filter(pl.col("subscriber") == 1)
    minutes = subs["viewing_minutes_per_day"]
    assert 0.2 < (minutes < 120).mean() < 0.45  # type: ignore[operator]
    assert 0.1 < (minutes >= 360).mean() < 0.4  # type: ignore[operator]

    events = pl.read_parquet(out / VIEWING_FILE)
    per_box_day = events.height / summary.boxes / summary.days
    assert 20 <= per_box_day <= 45
    seconds = (pl.col("end") - pl.col("start")).dt.total_seconds()
    by_hour = events.group_by(pl.col("start").dt.hour().alias("hour")).agg(
        seconds.sum().alias("seconds")
    )
    hours = dict(zip(by_hour["hour"].to_list(), by_hour["seconds"].to_list(), strict=True))
    assert hours[21] > 2 * hours[14] > 4 * hours[4]
    crosses = events.select(
        quarter=(pl.col("start").dt.truncate("15m") != pl.col("end").dt.truncate("15m")).sum(),
        midnight=(pl.col("start").dt.date() != pl.col("end").dt.date()).sum(),
    )
    assert crosses["quarter"].item() > 0 and crosses["midnight"].item() > 0

    voters = read_text_csv(out / VOTERS_FILE).join(truth["voters"], on="VOTER_ID")
    traits = voters.group_by("household_id").agg(
        pl.col("COMM_HISPANIC", "COMM_SENIOR").cast(pl.Int64).max()
    )
    genre = read_text_csv(out / CHANNELS_FILE).select("channel", "genre")
    viewing = (
        events.join(truth["boxes"], on="box_id")
        .join(genre, on="channel")
        .join(traits, on="household_id")
        .select("genre", "COMM_HISPANIC", "COMM_SENIOR", seconds=seconds)
    )

    def share(flag: str, value: int, of: str) -> float:
        part = viewing.filter(pl.col(flag) == value)
        return float(part.filter(pl.col("genre") == of)["seconds"].sum() / part["seconds"].sum())

    assert share("COMM_HISPANIC", 1, "spanish") > 5 * share("COMM_HISPANIC", 0, "spanish")
    assert share("COMM_SENIOR", 1, "news") > 1.4 * share("COMM_SENIOR", 0, "news")
    assert share("COMM_SENIOR", 1, "kids") < share("COMM_SENIOR", 0, "kids")


def test_noise_zero_keeps_parties_in_agreement(tmp_path: Path) -> None:
    """Without noise there are no duplicate rows and no movers; with it there are."""

    def zip_disagreements(out: Path) -> int:
        truth = load_truth(out)
        voters = read_text_csv(out / VOTERS_FILE).join(truth["voters"], on="VOTER_ID")
        subs = read_text_csv(out / SUBSCRIBERS_FILE).join(truth["accounts"], on="account_id")
        both = voters.join(subs, on="household_id")
        return both.filter(pl.col("RES_ZIP") != pl.col("zip").str.slice(0, 5)).height

    quiet = generate_world(tmp_path / "quiet", voters=3000, seed=5, noise=0.0)
    loud = generate_world(tmp_path / "loud", voters=3000, seed=5, noise=1.0)
    assert quiet.voter_rows == quiet.voters
    assert loud.voter_rows > loud.voters
    assert zip_disagreements(tmp_path / "quiet") == 0
    assert zip_disagreements(tmp_path / "loud") > 0


def test_invalid_arguments_are_all_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        generate_world(tmp_path, voters=0, seed=-1, days=0, state="ZZ", noise=-1.0)
    paths = {path for path, _ in caught.value.problems}
    assert paths == {"voters", "seed", "days", "state", "noise"}
    assert not any(tmp_path.iterdir())


def test_an_interrupted_write_leaves_no_half_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object, path: Path, *args: object) -> None:
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(samples.viewing.Viewing, "write_parquet", broken)
    with pytest.raises(OSError, match="disk full"):
        generate_world(tmp_path, voters=200, seed=1)
    assert not (tmp_path / VIEWING_FILE).exists()
    assert not (tmp_path / SUMMARY_FILE).exists()
    assert [p for p in tmp_path.rglob("*") if p.name.startswith(".")] == []


def test_no_temporary_files_are_left(world: tuple[Path, WorldSummary]) -> None:
    out, _ = world
    assert [p for p in out.rglob("*") if p.name.startswith(".")] == []


def test_committed_sample_world_is_current(tmp_path: Path) -> None:
    """samples/world is exactly what the generator makes for voters=2000, seed=7, days=4."""
    summary = json.loads((SAMPLE_WORLD / SUMMARY_FILE).read_text())
    generate_world(tmp_path, voters=summary["voters"], seed=summary["seed"], days=summary["days"])
    assert (summary["voters"], summary["seed"], summary["days"]) == (2000, 7, 4)
    assert files_of(tmp_path) == files_of(SAMPLE_WORLD)
    assert sum(p.stat().st_size for p in SAMPLE_WORLD.rglob("*") if p.is_file()) < 3_000_000


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    voters=st.integers(min_value=1, max_value=400),
    seed=st.integers(min_value=0, max_value=2**32),
    days=st.integers(min_value=1, max_value=3),
    noise=st.sampled_from([0.0, 0.5, 1.0, 2.5]),
)
def test_any_small_world_reconciles(
    tmp_path_factory: pytest.TempPathFactory, voters: int, seed: int, days: int, noise: float
) -> None:
    out = tmp_path_factory.mktemp("small")
    summary = generate_world(out, voters=voters, seed=seed, days=days, noise=noise)
    assert summary.voters == voters and summary.voter_rows >= voters
    assert summary.households <= summary.people
    check_reconciles(out, summary)


def test_load_truth_reads_ids_as_text(world: tuple[Path, WorldSummary]) -> None:
    out, _ = world
    truth = load_truth(out)
    assert set(truth) == {"voters", "accounts", "boxes", "households"}
    assert truth["voters"].schema["VOTER_ID"] == pl.String
    assert truth["households"].schema["viewing_minutes_per_day"] == pl.Int64
    assert re.fullmatch(r"HH\d{8}", truth["boxes"]["household_id"][0])
    assert np.all(truth["households"]["people"].to_numpy() >= 1)
