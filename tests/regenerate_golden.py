"""Rewrite ``tests/golden/`` from a fresh run of the sample world (``make golden``).

Run it only when a change is meant to move the end-to-end results, and review the diff of
the figures it prints before committing the new files.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.test_end_to_end import GOLDEN, golden_tables, run_golden


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in golden_tables(run_golden(Path(tmp))).items():
            frame.write_parquet(GOLDEN / f"{name}.parquet")
            print(f"{name}: {frame.height} rows -> {GOLDEN / (name + '.parquet')}")


if __name__ == "__main__":
    main()
