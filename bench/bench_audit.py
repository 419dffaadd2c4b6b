"""Auditing a large tokens artifact (``python -m bench audit``).

Writes a signed tokens artifact of 10 M rows — random 32-byte tokens, 16-byte refs of
about 1.7 M records, six recipe names, household-level address tokens shared by two to
three records — and audits it end to end as the auditor would: manifest, digest,
signature (the real Ed25519 verifier), contract, token shape (length, byte entropy on a
sample, frequency ceiling, recipes sharing a value), hashes of blanks, text hidden in the
bytes, PII detectors on the recipe names. Prints the time of each phase and the rows per
second of the whole audit. Target: under 60 s on 2 cores. ``BLINDLINK_BENCH_ROWS``
overrides the row count.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from hashing.artifacts import write_artifact
from hashing.keys import PartyIdentity
from linkage.audit import AuditContext, audit_paths

ROWS = int(os.environ.get("BLINDLINK_BENCH_ROWS", 10_000_000))
RECIPES = ("email", "phone", "name_address", "last_address", "phonetic", "address")
ENGAGEMENT = "bench-audit"


def _random_binary(rng: np.random.Generator, n: int, size: int) -> pl.Series:
    """``n`` random values of ``size`` bytes, built without a Python object per value."""
    buf = pa.py_buffer(rng.bytes(n * size))
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(size), n, [None, buf])
    return pl.Series(fixed.cast(pa.large_binary()))


def tokens_frame(rows: int, seed: int = 1) -> pl.DataFrame:
    """A tokens frame of ``rows`` rows shaped like a real one (see the module docstring)."""
    rng = np.random.default_rng(seed)
    records = rows // len(RECIPES) + 1
    refs = _random_binary(rng, records, 16)
    record = np.arange(rows) % records
    recipe_idx = np.arange(rows) // records
    tokens = _random_binary(rng, rows, 32)
    # the household-level recipe: records of one home (2-3) share the address token
    address = recipe_idx == RECIPES.index("address")
    home = (record // 3).astype(np.int64)
    shared = _random_binary(rng, records // 3 + 1, 32).gather(home[address])
    tokens = tokens.scatter(np.flatnonzero(address), shared)
    return pl.DataFrame(
        {
            "ref": refs.gather(record),
            "recipe": pl.Series(np.array(RECIPES)[recipe_idx]),
            "token": tokens,
        }
    )


def main() -> None:
    identity = PartyIdentity.generate("campaign")
    context = AuditContext(
        engagement_id=ENGAGEMENT,
        recipe_names=RECIPES,
        public_keys={"campaign": identity.public},
    )
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        frame = tokens_frame(ROWS)
        write_artifact(
            frame,
            Path(tmp),
            "campaign.tokens",
            kind="tokens",
            engagement_id=ENGAGEMENT,
            producer=identity,
            recipients=["matcher"],
        )
        size = (Path(tmp) / "campaign.tokens.parquet").stat().st_size
        del frame
        mib = size / 2**20
        print(f"prepare {ROWS:,} token rows ({mib:,.0f} MiB): {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        report = audit_paths([Path(tmp) / "campaign.tokens.parquet"], context=context)
        seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"audit {ROWS:,} token rows: {seconds:.1f} s ({ROWS / seconds:,.0f} rows/s)")
    found = len(report.findings)
    print(f"verdict: {report.verdict.value}, findings: {found}, peak RSS {peak:.1f} GiB")
    if report.findings or report.problems:
        print(report.to_text())


if __name__ == "__main__":
    main()
