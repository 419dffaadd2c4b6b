"""Evaluate a finished run against ground truth: the glue that reads the private files.

Only for test settings (the synthetic world, Febrl): it reads the matcher's private pairs
and both list owners' private crosswalks together with the truth — a combination no party
holds in production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from hashing.errors import InputError
from linkage.evaluate import Evaluation, evaluate


def _read(path: Path, what: str) -> pl.DataFrame:
    if not path.exists():
        raise InputError(f"{path}: {what} not found")
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)


def _truth(path: Path, id_column: str) -> pl.DataFrame:
    frame = _read(path, "ground truth")
    if id_column not in frame.columns or "household_id" not in frame.columns:
        raise InputError(f"{path}: needs columns '{id_column}' and 'household_id'")
    return frame.select(
        pl.col(id_column).cast(pl.String).alias("record_id"),
        pl.col("household_id").cast(pl.String),
    )


def evaluate_run(
    matcher_ws: Path,
    campaign_ws: Path,
    operator_ws: Path,
    truth_dir: Path,
    *,
    link_type: Literal["many_to_one", "one_to_one"] = "many_to_one",
    voter_id: str = "VOTER_ID",
    account_id: str = "account_id",
) -> Evaluation:
    """Precision, recall and F1 of the matcher's run in ``matcher_ws`` against ``truth_dir``
    (``voters.csv`` and ``accounts.csv`` mapping record IDs to household IDs)."""
    pairs = _read(Path(matcher_ws) / "private" / "pairs.parquet", "the matcher's pairs")
    crosswalks = [
        _read(Path(ws) / "private" / "crosswalk.parquet", "crosswalk").select(
            "ref", pl.col("id").alias("record_id")
        )
        for ws in (campaign_ws, operator_ws)
    ]
    return evaluate(
        pairs,
        crosswalks[0],
        crosswalks[1],
        _truth(Path(truth_dir) / "voters.csv", voter_id),
        _truth(Path(truth_dir) / "accounts.csv", account_id),
        link_type=link_type,
    )
