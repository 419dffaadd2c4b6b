"""Throughput of sealing and unsealing payloads (``python -m bench seal``).

Seals and unseals 1 M segment-label bitsets (64 labels) and 1 M box lists (1–4 IDs of
12 characters, ``max_boxes`` = 8) under one key, and prints rows per second of each
step. The AEAD call per row (AES-256-GCM through ``cryptography``) bounds the rate.
"""

from __future__ import annotations

import time

import numpy as np
import polars as pl
import pyarrow as pa

from hashing.keys import SealKey
from hashing.seal import seal_box_lists, seal_labels, unseal_box_lists, unseal_labels

ROWS = 1_000_000
ENGAGEMENT = "bench-engagement"


def _rate(label: str, rows: int, seconds: float) -> None:
    print(f"{label:<28} {rows:>9,} rows  {seconds:6.2f} s  {rows / seconds:>11,.0f} rows/s")


def main() -> None:
    rng = np.random.default_rng(1)
    bitsets = pl.Series("segments", rng.integers(0, 2**63, ROWS, dtype=np.uint64))
    key = SealKey.generate("segments")

    t = time.perf_counter()
    sealed = seal_labels(bitsets, key, ENGAGEMENT, 64)
    _rate("seal_labels", ROWS, time.perf_counter() - t)
    t = time.perf_counter()
    opened = unseal_labels(sealed, key, ENGAGEMENT, 64)
    _rate("unseal_labels", ROWS, time.perf_counter() - t)
    assert opened.equals(bitsets.rename(opened.name))

    counts = rng.integers(1, 5, ROWS)
    ids = pa.array([f"BX{i:010d}" for i in range(int(counts.sum()))], pa.large_string())
    offsets = pa.array(np.concatenate(([0], np.cumsum(counts))), pa.int64())
    lists = pl.Series("box_ids", pa.LargeListArray.from_arrays(offsets, ids))
    box_key = SealKey.generate("boxes")
    t = time.perf_counter()
    sealed_boxes = seal_box_lists(lists, box_key, ENGAGEMENT, 8)
    _rate("seal_box_lists (max 8)", ROWS, time.perf_counter() - t)
    t = time.perf_counter()
    opened_boxes = unseal_box_lists(sealed_boxes, box_key, ENGAGEMENT, 8)
    _rate("unseal_box_lists (max 8)", ROWS, time.perf_counter() - t)
    assert opened_boxes.to_list()[:3] == lists.to_list()[:3]
    print(f"sealed sizes: labels {sealed.bin.size()[0]} B, boxes {sealed_boxes.bin.size()[0]} B")


if __name__ == "__main__":
    main()
