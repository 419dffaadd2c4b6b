"""Throughput of sealing and unsealing payloads (``python -m bench seal``).

Seals and unseals 1 M segment-label bitsets (64 labels) and 1 M box lists (1–4 IDs of
12 characters, ``max_boxes`` = 8) under one key, and prints rows per second of each
step, best of three runs, by wall-clock and by this process's CPU time (on a shared
machine the CPU figure is the steadier one).
The AEAD call per row (AES-256-GCM through ``cryptography``, about 0.85 µs for a short
payload) bounds the rate; everything around it is vectorized.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import polars as pl
import pyarrow as pa

from hashing.keys import SealKey
from hashing.seal import seal_box_lists, seal_labels, unseal_box_lists, unseal_labels

ROWS = 1_000_000
RUNS = 3
ENGAGEMENT = "bench-engagement"


def _best(label: str, step: Callable[[], pl.Series]) -> pl.Series:
    walls, cpus = [], []
    result = pl.Series()
    for _ in range(RUNS):
        w, c = time.perf_counter(), time.process_time()
        result = step()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    wall, cpu = min(walls), min(cpus)
    print(
        f"{label:<26} {ROWS:>9,} rows  wall {wall:5.2f} s {ROWS / wall:>9,.0f} rows/s"
        f"  cpu {cpu:5.2f} s {ROWS / cpu:>9,.0f} rows/s"
    )
    return result


def main() -> None:
    rng = np.random.default_rng(1)
    bitsets = pl.Series("segments", rng.integers(0, 2**63, ROWS, dtype=np.uint64))
    key = SealKey.generate("segments")
    sealed = _best("seal_labels (64 labels)", lambda: seal_labels(bitsets, key, ENGAGEMENT, 64))
    opened = _best("unseal_labels (64 labels)", lambda: unseal_labels(sealed, key, ENGAGEMENT, 64))
    assert opened.equals(bitsets.rename(opened.name))

    counts = rng.integers(1, 5, ROWS)
    ids = pa.array([f"BX{i:010d}" for i in range(int(counts.sum()))], pa.large_string())
    offsets = pa.array(np.concatenate(([0], np.cumsum(counts))), pa.int64())
    lists = pl.Series("box_ids", pa.LargeListArray.from_arrays(offsets, ids))
    box_key = SealKey.generate("boxes")
    sealed_boxes = _best(
        "seal_box_lists (max 8)", lambda: seal_box_lists(lists, box_key, ENGAGEMENT, 8)
    )
    opened_boxes = _best(
        "unseal_box_lists (max 8)",
        lambda: unseal_box_lists(sealed_boxes, box_key, ENGAGEMENT, 8),
    )
    assert opened_boxes.head(1000).to_list() == lists.head(1000).to_list()
    print(f"sealed sizes: labels {sealed.bin.size()[0]} B, boxes {sealed_boxes.bin.size()[0]} B")


if __name__ == "__main__":
    main()
