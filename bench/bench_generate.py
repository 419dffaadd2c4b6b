"""Speed of the synthetic world generator (``python -m bench generate``).

Builds a 1 M-voter world (seed 1, one day of viewing) into a temporary folder three
times and prints each run and the median: wall-clock seconds, this process's CPU
seconds (all its threads; on a shared machine the steadier figure), the world's counts
and tune events per second. Everything is written, the ~300 MB viewing file included.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from samples.generate import WorldSummary, generate_world

VOTERS = 1_000_000
SEED = 1
DAYS = 1
RUNS = 3


def _run(out: Path) -> tuple[float, float, WorldSummary]:
    wall, cpu = time.perf_counter(), time.process_time()
    summary = generate_world(out, voters=VOTERS, seed=SEED, days=DAYS)
    return time.perf_counter() - wall, time.process_time() - cpu, summary


def main() -> None:
    walls: list[float] = []
    cpus: list[float] = []
    summary: WorldSummary | None = None
    for run in range(RUNS):
        with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
            wall, cpu, summary = _run(Path(tmp) / "world")
            size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
        walls.append(wall)
        cpus.append(cpu)
        print(
            f"run {run + 1}: wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
            f"{summary.tune_events / wall:>12,.0f} events/s  {size / 1e6:,.0f} MB written"
        )
    assert summary is not None
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(
        f"median of {RUNS}: wall {wall:.2f} s, cpu {cpu:.2f} s, "
        f"{summary.tune_events / wall:,.0f} tune events/s (wall)"
    )
    for key, value in summary.to_dict().items():
        print(f"  {key:>12}: {value:,}")


if __name__ == "__main__":
    main()
