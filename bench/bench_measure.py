"""Measurement at scale: quarter-hour crediting and audiences over a synthetic viewing log,
timed against the same computation written as one DuckDB query over the same Parquet.

``python -m bench measure`` runs 10 M events (``BENCH_MEASURE_EVENTS=1e8`` to change it);
``python -m bench.bench_measure 1e8 [--no-duckdb] [--repeat N] [--shuffle]`` runs the
state-scale day (100 M events, 7 M boxes). Figures go to docs/measurement.md.

The log: each box watches a run of back-to-back-with-gaps tune events (exponential
durations, mean 15 minutes; exponential gaps, mean 80 minutes) on 60 channels, about 14
events a box; two boxes per household on average; four segment labels. It is written one
box after the other, as operators export logs; ``--shuffle`` shuffles the rows of each
file, so that measurement has to sort the events itself.

Each engine runs in a fresh process, so that its time and peak memory are its own (not the
generator's); with ``--repeat N`` each runs N times and the median time is printed, with
the load average of the machine before and after (the development machine is shared).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from linkage.measure import MeasureConfig, measure

EVENTS_PER_BOX = 14
BOXES_PER_HOUSEHOLD = 2
CHUNK = 5_000_000
LABELS = ["persuadable", "supporter", "hispanic", "young"]
CHANNELS = tuple(f"CH{i:02d}" for i in range(1, 61))
DAY0 = np.datetime64("2026-03-02T00:00:00", "us")
DUCKDB_MEMORY = "16GB"


def generate(
    n_events: int, folder: Path, seed: int = 7, shuffle: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Write the viewing log as Parquet files under ``folder``; return (households, members).

    ``shuffle`` shuffles the rows of each file (each box's events are then scattered)."""
    rng = np.random.default_rng(seed)
    n_boxes = max(1, n_events // EVENTS_PER_BOX)
    n_households = max(1, n_boxes // BOXES_PER_HOUSEHOLD)
    box_household = rng.integers(0, n_households, n_boxes)
    box_ids = pl.Series("box_id", [f"B{i:08d}" for i in range(n_boxes)])
    household_refs = pl.Series(
        "household", [i.to_bytes(16, "big") for i in range(n_households)], dtype=pl.Binary
    )
    grouped = pl.DataFrame({"hh": box_household, "box_id": box_ids}).group_by("hh").agg("box_id")
    households = pl.DataFrame(
        {"household": household_refs.gather(grouped["hh"]), "boxes": grouped["box_id"]}
    )
    members = pl.DataFrame(
        {
            "household": household_refs,
            "segments": rng.integers(0, 1 << len(LABELS), n_households).astype(np.uint64),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    events_of_box = np.full(n_boxes, n_events // n_boxes)
    events_of_box[: n_events % n_boxes] += 1
    per_chunk_boxes = max(1, CHUNK // EVENTS_PER_BOX)
    for part, first_box in enumerate(range(0, n_boxes, per_chunk_boxes)):
        boxes = np.arange(first_box, min(n_boxes, first_box + per_chunk_boxes))
        per_box = events_of_box[boxes]
        box_of = np.repeat(boxes, per_box)
        n = box_of.size
        duration = (rng.exponential(15 * 60, n) + 10).astype(np.int64) * 1_000_000
        gap = (rng.exponential(80 * 60, n)).astype(np.int64) * 1_000_000
        step = duration + gap
        offsets = np.cumsum(step) - step  # start of each event since the chunk's origin
        first_of_box = np.repeat(np.cumsum(per_box) - per_box, per_box)
        since_box_start = offsets - offsets[first_of_box]
        box_start = rng.integers(0, 6 * 3600, boxes.size).astype(np.int64) * 1_000_000
        start = DAY0 + (np.repeat(box_start, per_box) + since_box_start).astype("timedelta64[us]")
        end = start + duration.astype("timedelta64[us]")
        frame = pl.DataFrame(
            {
                "box_id": box_ids.gather(box_of),
                "channel": pl.Series(CHANNELS).gather(rng.integers(0, 60, n)),
                "start": start,
                "end": end,
            }
        )
        if shuffle:
            frame = frame.sample(fraction=1.0, shuffle=True, seed=seed + part)
        frame.write_parquet(folder / f"part-{part:04d}.parquet", row_group_size=1_000_000)
    return households, members


DUCKDB_SQL = """
WITH boxes AS (
    SELECT box_id, min(hh) AS hh FROM hb GROUP BY box_id HAVING count(*) = 1
),
ev AS (
    SELECT b.box, b.hh, ch.ch,
           epoch_us(v.start) - {lo} AS s, epoch_us(v."end") - {lo} AS e
    FROM read_parquet('{glob}') v
    JOIN (SELECT box_id, hh, row_number() OVER () AS box FROM boxes) b USING (box_id)
    JOIN chans ch ON ch.channel = v.channel
    WHERE v."end" > v.start
),
cut AS (
    SELECT hh, box, ch, s,
           least(e, coalesce(lead(s) OVER (PARTITION BY box ORDER BY s, e, ch), e)) AS e
    FROM ev
),
clipped AS (
    SELECT hh, box, ch, greatest(s, 0) AS s, least(e, {span}) AS e FROM cut WHERE e > s
),
pieces AS (
    SELECT hh, box, ch, q,
           least(e, (q + 1) * {qh}) - greatest(s, q * {qh}) AS us
    FROM clipped, LATERAL (SELECT unnest(range(s // {qh}, (e - 1) // {qh} + 1)) AS q)
    WHERE e > s
),
per_channel AS (SELECT hh, box, q, ch, sum(us) AS us FROM pieces GROUP BY ALL),
best AS (
    SELECT hh, box, q, max((us::BIGINT << 16) | (65535 - ch)) AS key
    FROM per_channel GROUP BY ALL
),
tuned AS (
    SELECT DISTINCT hh, q, 65535 - (key & 65535) AS ch FROM best
    WHERE (key >> 16) >= {credit}
),
hours AS (
    SELECT hh, count(DISTINCT q) * 0.25 / {days} AS h FROM tuned GROUP BY hh
),
prof AS (
    SELECT m.hh, m.bits,
           CASE WHEN coalesce(h.h, 0) < 2 THEN 1 WHEN h.h >= 6 THEN 3 ELSE 2 END AS band
    FROM mem m LEFT JOIN hours h USING (hh)
),
seg AS (
    SELECT hh, band, s.seg FROM prof,
    LATERAL (SELECT unnest(range(0, {nlab} + 1)) AS seg) s
    WHERE s.seg = {nlab} OR (bits >> s.seg) & 1 = 1
)
SELECT seg.seg, seg.band, t.q // 96 AS day, t.q % 96 AS qod, t.ch, count(*) AS reach
FROM tuned t JOIN seg USING (hh)
GROUP BY ALL
"""


def run_duckdb(
    folder: Path, households: pl.DataFrame, members: pl.DataFrame, config: MeasureConfig
) -> tuple[float, int]:
    """The crediting and per-day reach counts as one DuckDB query; (seconds, cells)."""
    import duckdb

    index = households.select("household").with_row_index("hh")
    tables = {
        "hb": households.with_row_index("hh").explode("boxes").select("hh", box_id="boxes"),
        "mem": members.join(index, on="household")
        .group_by("hh")
        .agg(pl.col("segments").bitwise_or().cast(pl.Int64).alias("bits")),
        "chans": pl.DataFrame({"channel": list(CHANNELS), "ch": list(range(len(CHANNELS)))}),
    }
    assert config.period is not None
    first, last = config.period
    lo = (first - date(1970, 1, 1)).days * 86_400_000_000
    days = (last - first).days + 1
    sql = DUCKDB_SQL.format(
        glob=f"{folder}/*.parquet",
        lo=lo,
        span=days * 86_400_000_000,
        qh=900_000_000,
        credit=round(config.credit_minutes * 60_000_000),
        days=days,
        nlab=len(LABELS),
    )
    con = duckdb.connect()
    for name, frame in tables.items():
        con.register(name, frame.to_arrow())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    con.execute(f"SET threads = {cores or 2}")
    # the same memory budget as measurement's target; DuckDB spills to disk beyond it
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    cells = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()
    seconds = time.perf_counter() - started
    con.close()
    return seconds, int(cells[0]) if cells else 0


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _config() -> MeasureConfig:
    return MeasureConfig(channels=CHANNELS, period=(date(2026, 3, 2), date(2026, 3, 3)))


def _run_engine(engine: str, folder: Path, results: multiprocessing.Queue) -> None:
    """In a fresh process: run one engine over the files in ``folder``, put its figures."""
    households = pl.read_parquet(folder / "households.parquet")
    members = pl.read_parquet(folder / "members.parquet")
    started, cpu = time.perf_counter(), time.process_time()
    if engine == "blindlink":
        result = measure(
            households=households,
            members=members,
            labels=LABELS,
            viewing=pl.scan_parquet(folder / "viewing" / "*.parquet"),
            config=_config(),
        )
        seconds = time.perf_counter() - started
        detail = (
            f"{result.viewership.height:,} cells, credited events "
            f"{result.quality['events_credited']:,}"
        )
    else:
        seconds, cells = run_duckdb(folder / "viewing", households, members, _config())
        detail = f"{cells:,} non-empty per-day cells"
    results.put((seconds, time.process_time() - cpu, _peak_rss_gib(), detail))


def _timed(engine: str, folder: Path, repeat: int) -> tuple[float, list[float], str]:
    """Median seconds, every run's seconds, and a line of detail (CPU, memory, output)."""
    context = multiprocessing.get_context("spawn")
    runs = []
    for _ in range(repeat):
        results = context.Queue()
        child = context.Process(target=_run_engine, args=(engine, folder, results))
        child.start()
        runs.append(results.get())
        child.join()
    median = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    peak = max(r[2] for r in runs)
    detail = f"CPU {cpu:.1f} s, peak RSS {peak:.1f} GiB, {runs[-1][3]}"
    return median, [r[0] for r in runs], detail


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f}"


def main(argv: list[str] | None = None) -> None:
    """Generate, measure with polars, measure with DuckDB, print both and the ratio."""
    args = [os.environ.get("BENCH_MEASURE_EVENTS", "1e7")] if argv is None else argv
    numbers = [a for a in args if not a.startswith("--")]
    n_events = int(float(numbers[0])) if numbers else 10_000_000
    skip_duckdb = "--no-duckdb" in args
    repeat = int(args[args.index("--repeat") + 1]) if "--repeat" in args else 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with tempfile.TemporaryDirectory(prefix="bench-measure-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        households, members = generate(n_events, folder / "viewing", shuffle="--shuffle" in args)
        households.write_parquet(folder / "households.parquet")
        members.write_parquet(folder / "members.parquet")
        generated = time.perf_counter() - started
        size = sum(p.stat().st_size for p in (folder / "viewing").iterdir()) / 1024**2
        print(
            f"events={n_events:,} boxes={households['boxes'].list.len().sum():,} "
            f"households={households.height:,} parquet={size:,.0f} MiB "
            f"(generated in {generated:.1f} s); {cores} cores, {_load()}"
        )
        del households, members
        ours, times, detail = _timed("blindlink", folder, repeat)
        print(f"blindlink measure: {ours:.1f} s (runs {_seconds(times)}), {detail}; {_load()}")
        if skip_duckdb:
            return
        try:
            import duckdb  # noqa: F401
        except ImportError:
            print("duckdb not installed (pip install duckdb): comparison skipped")
            return
        theirs, times, detail = _timed("duckdb", folder, repeat)
        print(f"duckdb one query:  {theirs:.1f} s (runs {_seconds(times)}), {detail}; {_load()}")
        print(f"ratio blindlink/duckdb: {ours / theirs:.2f}")


def _seconds(times: list[float]) -> str:
    return " ".join(f"{t:.1f}" for t in times)


if __name__ == "__main__":
    main(sys.argv[1:])
