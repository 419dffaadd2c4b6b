"""The frames measurement publishes. ``VIEWERSHIP`` extends ``linkage.contracts.VIEWERSHIP``
with ``audience``; both are aggregate-only: no row names a household or a box."""

from __future__ import annotations

import polars as pl

VIEWERSHIP: dict[str, pl.DataType] = {
    "segment": pl.String(),  # a declared segment label, or "all"
    "band": pl.String(),  # viewing intensity: "all", "light", "medium", "heavy"
    "day": pl.Date(),  # null: the row averaged over the days of the period
    "channel": pl.String(),
    "quarter_hour": pl.Int16(),  # 0..95, quarter-hour of the day
    # distinct households tuned: on that day, or (averaged row) on any day of the period
    "reach": pl.Float64(),
    # average quarter-hour audience: households tuned per day (the day's reach on day rows)
    "audience": pl.Float64(),
    "rating": pl.Float64(),  # audience / matched households of the segment and band
    "share": pl.Float64(),  # audience / the segment and band's households tuned to any channel
    "suppressed": pl.Boolean(),  # true: every figure of the row is null
}

SEGMENT_SUMMARY: dict[str, pl.DataType] = {
    "segment": pl.String(),
    "band": pl.String(),
    "households": pl.Float64(),  # matched households (null when suppressed)
    "suppressed": pl.Boolean(),
}
