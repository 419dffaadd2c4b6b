"""The campaign's report: one self-contained HTML page, plus the same tables as CSV and
Parquet, from the aggregate results the campaign receives.

``render_report`` writes, under ``out_dir``:

* ``report.html``: match rates, matched households per segment, a heatmap of the target
  audience by channel × quarter-hour for each segment (averaged over the days), the best
  quarter-hours per channel for the target, and the media plan when one is given. It
  works offline: no script, no stylesheet, font or image to fetch; every chart is inline
  SVG drawn here.
* ``tables/NAME.csv`` and ``tables/NAME.parquet`` for every table the page shows
  (``report_tables`` returns them as frames).

The charts are hand-built SVG rather than matplotlib or Vega-Lite: a heatmap is a grid of
rectangles and a bar chart a few more, which needs no dependency, no font files and no
browser at build time, and gives small, deterministic markup that tests can read.

Everything here is aggregate already: the page shows what measurement and the matcher
published, and suppressed cells stay visibly suppressed.
"""

from __future__ import annotations

import math
import os
import tempfile
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

import polars as pl

from hashing.errors import InputError
from linkage.contracts import check_frame
from linkage.plan import PlanComparison, PlanResult, quarter_hour_label

DEFAULT_TARGET = ("persuadable", "light")
TABLES_DIR = "tables"
REPORT_NAME = "report.html"

# viridis, 8 steps: ordered, readable in grey, safe for colour-blind readers
PALETTE = (
    "#440154",
    "#46327e",
    "#365c8d",
    "#277f8e",
    "#1fa187",
    "#4ac16d",
    "#a0da39",
    "#fde725",
)
SUPPRESSED_FILL = "#d9d9d9"
SUPPRESSED_STROKE = "#8c8c8c"
NO_DATA_FILL = "#ffffff"
BAND_COLOURS = {"light": "#a0da39", "medium": "#1fa187", "heavy": "#365c8d"}
UNSPLIT_COLOUR = "#b0b0b0"

CELL_W = 8
CELL_H = 10
LABEL_W = 200
TOP = 30
RIGHT = 12
SUPPRESSED_LEGEND = "suppressed: fewer than k households"

SUMMARY_LABELS = {
    "campaign_records": "voter records sent by the campaign",
    "operator_records": "subscriber households sent by the operator",
    "matched_voters": "voters matched to a subscriber household",
    "matched_households": "subscriber households matched",
    "match_rate": "voter match rate",
    "household_match_rate": "household match rate (of the operator's households)",
    "voters_per_household": "matched voters per matched household",
}
RATES = {"match_rate", "household_match_rate"}


@dataclass(frozen=True)
class Heatmap:
    """One heatmap's cells (channel × quarter-hour) for a segment and band."""

    segment: str
    band: str
    cells: pl.DataFrame  # channel, quarter_hour, audience, rating, suppressed


# --- tables -------------------------------------------------------------------------------


def _frame(data: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return data.collect() if isinstance(data, pl.LazyFrame) else data


def _channel_table(
    channels: pl.DataFrame | None, viewership: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """channel, name, genre: from ``channels`` when given, else the codes seen."""
    if channels is not None:
        missing = [c for c in ("channel", "name") if c not in channels.columns]
        if missing:
            raise InputError(
                f"channels table: missing column(s) {', '.join(missing)}"
                " (expected channel, name and optionally genre)"
            )
        genre = pl.col("genre").cast(pl.String) if "genre" in channels.columns else pl.lit("")
        return channels.select(
            pl.col("channel").cast(pl.String),
            pl.col("name").cast(pl.String),
            genre.alias("genre"),
        ).unique("channel", keep="first", maintain_order=True)
    seen = (
        viewership.lazy().select(pl.col("channel").unique()).collect().to_series().sort().to_list()
    )
    return pl.DataFrame(
        {"channel": seen, "name": seen, "genre": [""] * len(seen)},
        schema={"channel": pl.String, "name": pl.String, "genre": pl.String},
    )


def _declared_segments(segment_summary: pl.DataFrame) -> list[str]:
    segs = segment_summary["segment"].unique(maintain_order=True).to_list()
    return [s for s in segs if s != "all"]


def default_heatmaps(segment_summary: pl.DataFrame) -> list[tuple[str, str]]:
    """("all", "all"), each declared segment in band "all", and persuadable light viewers."""
    pairs = [("all", "all")] + [(s, "all") for s in _declared_segments(segment_summary)]
    if DEFAULT_TARGET[0] in _declared_segments(segment_summary):
        pairs.append(DEFAULT_TARGET)
    return pairs


def _averaged_cells(
    viewership: pl.DataFrame | pl.LazyFrame, pairs: Sequence[tuple[str, str]]
) -> pl.DataFrame:
    keys = pl.DataFrame(
        {"segment": [p[0] for p in pairs], "band": [p[1] for p in pairs]},
        schema={"segment": pl.String, "band": pl.String},
    )
    return (
        viewership.lazy()
        .filter(pl.col("day").is_null())
        .join(keys.lazy(), on=["segment", "band"], how="semi")
        .select("segment", "band", "channel", "quarter_hour", "audience", "rating", "suppressed")
        .sort("segment", "band", "channel", "quarter_hour")
        .collect()
    )


def _time_label(column: str) -> pl.Expr:
    """``quarter_hour_label`` as an expression: 81 → "20:15"."""
    qh = pl.col(column).cast(pl.Int32)
    return pl.format(
        "{}:{}",
        (qh // 4).cast(pl.String).str.zfill(2),
        (qh % 4 * 15).cast(pl.String).str.zfill(2),
    ).alias("time")


def _match_summary(match_report: pl.DataFrame) -> pl.DataFrame:
    return match_report.filter(pl.col("section").is_in(["summary", "unmatched"])).select(
        "section", "name", "value"
    )


def _segments(segment_summary: pl.DataFrame) -> pl.DataFrame:
    total = segment_summary.filter(
        (pl.col("segment") == "all") & (pl.col("band") == "all") & ~pl.col("suppressed")
    )["households"]
    matched = float(total[0]) if total.len() and total[0] is not None else None
    share = ((pl.col("households") / matched) if matched else pl.lit(None, dtype=pl.Float64)).alias(
        "share_of_matched"
    )
    return segment_summary.select("segment", "band", "households", share, "suppressed")


def _best_quarter_hours(
    cells: pl.DataFrame, channels: pl.DataFrame, target: tuple[str, str], per_channel: int
) -> pl.DataFrame:
    return (
        cells.filter(
            (pl.col("segment") == target[0])
            & (pl.col("band") == target[1])
            & ~pl.col("suppressed")
            & pl.col("audience").is_not_null()
        )
        .sort(["channel", "audience", "quarter_hour"], descending=[False, True, False])
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).over("channel").alias("rank"))
        .filter(pl.col("rank") <= per_channel)
        .join(channels, on="channel", how="left")
        .with_columns(
            _time_label("quarter_hour"),
            pl.col("audience").max().over("channel").alias("_peak"),
        )
        .sort(["_peak", "channel", "rank"], descending=[True, False, False])
        .select(
            "segment",
            "band",
            "channel",
            "name",
            "genre",
            "rank",
            "quarter_hour",
            "time",
            "audience",
            "rating",
        )
    )


def _plan_parts(
    plan: PlanResult | PlanComparison | None, channels: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    if plan is None:
        return {}
    chosen = plan.plan if isinstance(plan, PlanComparison) else plan
    slots = chosen.slots.join(channels, on="channel", how="left").select(
        "rank",
        "channel",
        "name",
        "genre",
        *[c for c in chosen.slots.columns if c not in {"rank", "channel"}],
    )
    parts = {"plan_slots": slots.sort("rank"), "plan_summary": chosen.summary()}
    if isinstance(plan, PlanComparison):
        naive = plan.naive.slots.join(channels, on="channel", how="left").sort("rank")
        parts["naive_slots"] = naive.select(
            "rank",
            "channel",
            "name",
            "genre",
            *[c for c in naive.columns if c not in {"rank", "channel", "name", "genre"}],
        )
        parts["plan_comparison"] = plan.table()
    return parts


def report_tables(
    viewership: pl.DataFrame | pl.LazyFrame,
    segment_summary: pl.DataFrame | pl.LazyFrame,
    match_report: pl.DataFrame | pl.LazyFrame,
    *,
    channels: pl.DataFrame | None = None,
    plan: PlanResult | PlanComparison | None = None,
    heatmaps: Sequence[tuple[str, str]] | None = None,
    target: tuple[str, str] = DEFAULT_TARGET,
    best_per_channel: int = 3,
) -> dict[str, pl.DataFrame]:
    """Every table of the report, by name: ``match_summary``, ``segments``,
    ``heatmap_cells`` (the averaged cells of each heatmap, and of the target, whose best
    quarter-hours come from them), ``best_quarter_hours`` and,
    with a plan, ``plan_slots``, ``plan_summary`` (and ``naive_slots``,
    ``plan_comparison`` for a ``PlanComparison``)."""
    check_frame(viewership, "viewership")
    check_frame(segment_summary, "segment_summary")
    check_frame(match_report, "match_report")
    summary = _frame(segment_summary)
    chans = _channel_table(channels, viewership)
    pairs = list(dict.fromkeys([*(heatmaps or default_heatmaps(summary)), target]))
    cells = _averaged_cells(viewership, pairs)
    tables = {
        "match_summary": _match_summary(_frame(match_report)),
        "segments": _segments(summary),
        "heatmap_cells": cells.with_columns(_time_label("quarter_hour")).select(
            "segment",
            "band",
            "channel",
            "quarter_hour",
            "time",
            "audience",
            "rating",
            "suppressed",
        ),
        "best_quarter_hours": _best_quarter_hours(cells, chans, target, best_per_channel),
    }
    tables.update(_plan_parts(plan, chans))
    return tables


# --- SVG ----------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


@dataclass(frozen=True)
class ColourScale:
    """Quantile classes of the published audiences: each colour holds about as many cells
    (audiences are skewed: on a linear scale nearly every cell would share one colour).
    ``lower`` are the classes' lower edges, ascending and distinct; ``top`` the maximum."""

    lower: tuple[float, ...]
    top: float

    @classmethod
    def of(cls, values: Sequence[float]) -> ColourScale:
        if not values:
            return cls((), 0.0)
        ordered = sorted(values)
        n = len(PALETTE)
        edges = [ordered[min(len(ordered) - 1, (i * len(ordered)) // n)] for i in range(n)]
        return cls(tuple(sorted(set(edges))), ordered[-1])

    def index(self, value: float) -> int:
        """The class of ``value`` (0 for the lowest)."""
        return max(0, bisect_right(self.lower, value) - 1)

    def colour(self, cls_index: int) -> str:
        m = len(self.lower)
        if m <= 1:
            return PALETTE[len(PALETTE) // 2]
        return PALETTE[round(cls_index * (len(PALETTE) - 1) / (m - 1))]

    def labels(self) -> list[str]:
        if not self.lower:  # every cell suppressed: nothing to scale
            return []
        uppers = [*self.lower[1:], self.top]
        return [
            _fmt(lo) if lo == hi else f"{_fmt(lo)}–{_fmt(hi)}"
            for lo, hi in zip(self.lower, uppers, strict=True)
        ]


def heatmap_svg(
    heatmap: Heatmap, channels: pl.DataFrame, *, ident: str, k_min: int | None = None
) -> str:
    """An inline SVG heatmap: channels down, quarter-hours across, audience as colour,
    suppressed cells hatched grey. Adjacent cells of one colour in a row are drawn as one
    rectangle (with a tooltip giving the time span and audience range)."""
    order = channels["channel"].to_list()
    names = dict(zip(order, channels["name"].to_list(), strict=True))
    cells = heatmap.cells
    present = set(cells["channel"].unique().to_list())
    order = [c for c in order if c in present] + sorted(present - set(order))
    published = cells.filter(~pl.col("suppressed") & pl.col("audience").is_not_null())
    scale = ColourScale.of(published["audience"].to_list())
    grid: dict[tuple[str, int], tuple[str, float | None]] = {}
    for ch, qh, aud, sup in cells.select(
        "channel", "quarter_hour", "audience", "suppressed"
    ).iter_rows():
        if sup or aud is None:
            grid[(ch, int(qh))] = ("s", None)
        else:
            grid[(ch, int(qh))] = (f"q{scale.index(aud)}", float(aud))
    hatch = f"hatch-{ident}"
    width = LABEL_W + 96 * CELL_W + RIGHT
    grid_h = len(order) * CELL_H
    legend_y = TOP + grid_h + 18
    height = legend_y + 44
    n_sup = sum(1 for kind, _ in grid.values() if kind == "s")
    n_missing = len(order) * 96 - len(grid)
    out: list[str] = [
        f'<svg class="heatmap" id="heatmap-{ident}"'
        f' width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' data-segment="{escape(heatmap.segment)}" data-band="{escape(heatmap.band)}"'
        f' data-cells="{len(grid)}" data-suppressed-cells="{n_sup}"'
        f' role="img" aria-label="{escape(_heatmap_title(heatmap))}">',
        f'<defs><pattern id="{hatch}" patternUnits="userSpaceOnUse" width="4" height="4"'
        f' patternTransform="rotate(45)"><rect width="4" height="4" fill="{SUPPRESSED_FILL}"/>'
        f'<line x1="0" y1="0" x2="0" y2="4" stroke="{SUPPRESSED_STROKE}" stroke-width="1.5"/>'
        "</pattern></defs>",
        f'<rect x="{LABEL_W}" y="{TOP}" width="{96 * CELL_W}" height="{grid_h}"'
        f' fill="{NO_DATA_FILL}" stroke="#bbb" stroke-width="0.5"/>',
    ]
    # hour ticks
    for hour in range(0, 25, 2):
        x = LABEL_W + hour * 4 * CELL_W
        out.append(
            f'<line x1="{x}" y1="{TOP - 4}" x2="{x}" y2="{TOP + grid_h}" stroke="#fff"'
            f' stroke-width="{0.6 if hour % 6 else 1.2}" stroke-opacity="0.7"/>'
        )
        if hour < 24:
            out.append(
                f'<text x="{x}" y="{TOP - 8}" class="tick" text-anchor="middle">'
                f"{hour:02d}:00</text>"
            )
    # rows
    for row, ch in enumerate(order):
        y = TOP + row * CELL_H
        label = f"{ch} {names.get(ch, '')}".strip()
        if len(label) > 30:
            label = label[:29] + "…"
        out.append(
            f'<text x="{LABEL_W - 6}" y="{y + CELL_H - 2}" class="row"'
            f' text-anchor="end">{escape(label)}</text>'
        )
        qh = 0
        while qh < 96:
            kind, _ = grid.get((ch, qh), ("n", None))
            start = qh
            values: list[float] = []
            while qh < 96 and grid.get((ch, qh), ("n", None))[0] == kind:
                v = grid.get((ch, qh), ("n", None))[1]
                if v is not None:
                    values.append(v)
                qh += 1
            if kind == "n":
                continue
            x = LABEL_W + start * CELL_W
            w = (qh - start) * CELL_W
            span = f"{quarter_hour_label(start)}–{quarter_hour_label(qh % 96)}"
            if kind == "s":
                fill, cls, tip = f"url(#{hatch})", "suppressed", f"{ch} {span}: suppressed"
            else:
                fill, cls = scale.colour(int(kind[1:])), "cell"
                lo, hi = min(values), max(values)
                rng = _fmt(lo) if lo == hi else f"{_fmt(lo)}–{_fmt(hi)}"
                tip = f"{ch} {span}: audience {rng} households"
            out.append(
                f'<rect x="{x}" y="{y}" width="{w}" height="{CELL_H}" fill="{fill}"'
                f' class="{cls}"><title>{escape(tip)}</title></rect>'
            )
    out.append(_legend_svg(scale, hatch, legend_y, k_min, n_sup, n_missing, len(grid)))
    out.append("</svg>")
    return "\n".join(out)


def _legend_svg(
    scale: ColourScale,
    hatch: str,
    y: int,
    k_min: int | None,
    n_sup: int,
    n_missing: int,
    n_cells: int,
) -> str:
    parts = [
        f'<text x="{LABEL_W}" y="{y}" class="legend-title">average quarter-hour audience'
        " (households, averaged over the days); colours in equal-count classes</text>"
    ]
    sw = 62
    for i, label in enumerate(scale.labels()):
        x = LABEL_W + i * sw
        parts.append(
            f'<rect x="{x}" y="{y + 6}" width="{sw - 4}" height="10" fill="{scale.colour(i)}"'
            f' class="key"/><text x="{x}" y="{y + 28}" class="tick">{escape(label)}</text>'
        )
    if not scale.lower:
        parts.append(f'<text x="{LABEL_W}" y="{y + 15}" class="tick">no published cell</text>')
    x = LABEL_W + len(PALETTE) * sw + 8
    k_text = SUPPRESSED_LEGEND + (f" (k = {k_min})" if k_min is not None else "")
    parts.append(
        f'<rect x="{x}" y="{y + 6}" width="22" height="10" fill="url(#{hatch})"'
        f' stroke="{SUPPRESSED_STROKE}" stroke-width="0.5" class="key suppressed-key"/>'
        f'<text x="{x + 28}" y="{y + 15}" class="tick">{escape(k_text)}</text>'
        f'<text x="{x + 28}" y="{y + 28}" class="tick">{n_sup:,} of {n_cells:,} cells'
        + (f"; {n_missing:,} without data (white)" if n_missing > 0 else "")
        + "</text>"
    )
    return "".join(parts)


def segment_bars_svg(segments: pl.DataFrame) -> str:
    """Matched households per segment, stacked by viewing band (light, medium, heavy)."""
    rows = segments.filter(pl.col("band") == "all")["segment"].unique(maintain_order=True)
    rows_l = rows.to_list()
    data: dict[tuple[str, str], float | None] = {
        (s, b): (None if sup else h)
        for s, b, h, sup in segments.select(
            "segment", "band", "households", "suppressed"
        ).iter_rows()
    }
    totals = [data.get((s, "all")) for s in rows_l]
    vmax = max([t for t in totals if t is not None] or [1.0])
    label_w, bar_w, bar_h, gap = 120, 560, 18, 6
    width = label_w + bar_w + 140
    height = 30 + len(rows_l) * (bar_h + gap) + 10
    out = [
        f'<svg class="bars" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        ' aria-label="matched households per segment and viewing band">'
    ]
    x = label_w
    for band, colour in [*BAND_COLOURS.items(), ("not broken down", UNSPLIT_COLOUR)]:
        out.append(
            f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="14" class="tick">{band}</text>'
        )
        x += 80
    for i, seg in enumerate(rows_l):
        y = 26 + i * (bar_h + gap)
        out.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 5}" class="row" text-anchor="end">'
            f"{escape(seg)}</text>"
        )
        x0 = float(label_w)
        split = 0.0
        for band, colour in BAND_COLOURS.items():
            h = data.get((seg, band))
            if h is None:
                continue
            w = bar_w * h / vmax
            out.append(
                f'<rect x="{x0:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                f"<title>{escape(seg)}, {band}: {h:,.0f} households</title></rect>"
            )
            x0 += w
            split += h
        total = data.get((seg, "all"))
        if total is not None and total > split:
            # bands suppressed (or not reported): the rest of the total, unsplit
            w = bar_w * (total - split) / vmax
            out.append(
                f'<rect x="{x0:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}"'
                f' fill="{UNSPLIT_COLOUR}"><title>{escape(seg)}: {total - split:,.0f}'
                " households in suppressed bands</title></rect>"
            )
            x0 += w
        text = f"{total:,.0f}" if total is not None else "suppressed"
        out.append(f'<text x="{x0 + 6:.1f}" y="{y + bar_h - 5}" class="tick">{text}</text>')
    out.append("</svg>")
    return "\n".join(out)


# --- HTML ---------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: #1d1d1f; background: #fff; margin: 0 auto; max-width: 1120px; padding: 24px 32px;
  line-height: 1.45; font-size: 15px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 6px; }
p.note, .note { color: #555; font-size: 13px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e5e5e5; text-align: left; }
th { background: #f4f4f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafafa; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 16px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.card .v { font-size: 22px; font-weight: 600; }
.card .k { font-size: 12px; color: #555; }
svg text { font-family: inherit; fill: #333; }
svg text.tick { font-size: 10px; }
svg text.row { font-size: 8.5px; }
svg text.legend-title { font-size: 11px; font-weight: 600; }
figure { margin: 6px 0 18px; overflow-x: auto; }
details summary { cursor: pointer; color: #245; margin: 6px 0; }
"""


def _table_html(
    frame: pl.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    percent: Iterable[str] = (),
    money: Iterable[str] = (),
    integers: Iterable[str] = (),
    headers: dict[str, str] | None = None,
) -> str:
    cols = list(columns or frame.columns)
    pct, usd, ints = set(percent), set(money), set(integers)
    numeric = {c for c in cols if frame.schema[c].is_numeric()}
    head = "".join(
        f'<th class="{"num" if c in numeric else ""}">{escape((headers or {}).get(c, c))}</th>'
        for c in cols
    )
    body = []
    for row in frame.select(cols).iter_rows(named=True):
        tds = []
        for c in cols:
            v = row[c]
            if v is None:
                text = "–"
            elif c in pct:
                text = f"{v:.1%}"
            elif c in usd:
                text = f"${v:,.2f}"
            elif c in ints:
                text = f"{v:,.0f}"
            elif isinstance(v, float):
                text = _fmt(v, 2)
            elif isinstance(v, bool):
                text = "yes" if v else ""
            else:
                text = str(v)
            tds.append(f'<td class="{"num" if c in numeric else ""}">{escape(text)}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return "<table><thead><tr>" + head + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>"


def _heatmap_title(h: Heatmap) -> str:
    seg = "all matched households" if h.segment == "all" else f"segment {h.segment}"
    band = "every viewing band" if h.band == "all" else f"{h.band} viewers"
    return f"{seg}, {band}"


def _match_section(match_summary: pl.DataFrame) -> str:
    values = {
        n: v
        for s, n, v in match_summary.select("section", "name", "value").iter_rows()
        if s == "summary"
    }
    cards = []
    for name, label in SUMMARY_LABELS.items():
        if name not in values or values[name] is None:
            continue
        v = values[name]
        text = (
            f"{v:.1%}"
            if name in RATES
            else (f"{v:,.2f}" if name.endswith("household") else f"{v:,.0f}")
        )
        cards.append(
            f'<div class="card"><div class="v">{escape(text)}</div>'
            f'<div class="k">{escape(label)}</div></div>'
        )
    unmatched = match_summary.filter(pl.col("section") == "unmatched").select(
        pl.col("name").alias("reason"), pl.col("value").alias("voters")
    )
    parts = [
        "<h2>Match</h2>",
        '<div class="cards">' + "".join(cards) + "</div>",
        '<p class="note">From the matcher\'s match report. The matcher sees keyed tokens'
        " only: it cannot read segment labels, so it publishes no match rate per segment."
        " How many matched households each segment holds comes from measurement, below.</p>",
    ]
    if unmatched.height:
        parts += [
            "<h3>Voters left unmatched, by reason</h3>",
            _table_html(unmatched, integers=["voters"]),
        ]
    return "\n".join(parts)


def _segments_section(segments: pl.DataFrame) -> str:
    wide = (
        segments.with_columns(
            pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("households")).alias("h")
        )
        .pivot(on="band", index="segment", values="h", aggregate_function="first")
        .join(
            segments.filter(pl.col("band") == "all").select("segment", "share_of_matched"),
            on="segment",
            how="left",
        )
    )
    cols = ["segment"] + [b for b in ("all", "light", "medium", "heavy") if b in wide.columns]
    cols.append("share_of_matched")
    return "\n".join(
        [
            "<h2>Matched households by segment</h2>",
            '<p class="note">Households, not voters: a household is in a segment when any of'
            " its matched voters carries the label, so segments overlap. Bands: light viewers"
            " watch under 2 hours a day, heavy 6 hours or more. The share is of all matched"
            " households.</p>",
            f"<figure>{segment_bars_svg(segments)}</figure>",
            _table_html(
                wide,
                columns=cols,
                percent=["share_of_matched"],
                integers=["all", "light", "medium", "heavy"],
                headers={"all": "households", "share_of_matched": "share of matched"},
            ),
        ]
    )


def _heatmaps_section(
    cells: pl.DataFrame,
    pairs: Sequence[tuple[str, str]],
    channels: pl.DataFrame,
    k_min: int | None,
) -> str:
    k_text = f"k = {k_min}" if k_min is not None else "k: the engagement's k-minimum"
    parts = [
        "<h2>Where the target households watch</h2>",
        '<p class="note">Average quarter-hour audience of each segment by channel (rows) and'
        " quarter-hour of the day (columns), averaged over the days of the period: the"
        " households of the segment watching that channel then on an average day. Hatched"
        f" grey cells are suppressed: fewer than k households ({escape(k_text)}) watched"
        " there, or the cell was hidden so that such a cell cannot be recomputed from the"
        " others. Each heatmap has its own colour scale. Hover over a cell for its"
        " figures.</p>",
    ]
    for i, (segment, band) in enumerate(pairs):
        sub = cells.filter((pl.col("segment") == segment) & (pl.col("band") == band))
        h = Heatmap(
            segment, band, sub.select("channel", "quarter_hour", "audience", "rating", "suppressed")
        )
        parts.append(f"<h3>{escape(_heatmap_title(h))}</h3>")
        if sub.is_empty():
            parts.append('<p class="note">No cells for this segment and band.</p>')
            continue
        parts.append(f"<figure>{heatmap_svg(h, channels, ident=str(i), k_min=k_min)}</figure>")
    return "\n".join(parts)


def _best_section(best: pl.DataFrame, target: tuple[str, str]) -> str:
    title = f"Best quarter-hours per channel: {target[0]} {target[1]} viewers"
    if best.is_empty():
        return (
            f"<h2>{escape(title)}</h2><p class='note'>Every cell of this target is"
            " suppressed (or absent): a larger panel or a lower k is needed.</p>"
        )
    wide = best.group_by("channel", maintain_order=True).agg(
        pl.col("name").first(),
        pl.col("genre").first(),
        pl.col("audience").max().alias("peak_audience"),
        pl.col("rating").first().alias("peak_rating"),
        pl.concat_str(
            pl.col("time"),
            pl.lit(" ("),
            pl.col("audience").round(1).cast(pl.String),
            pl.lit(")"),
        )
        .str.join(", ")
        .alias("best"),
    )
    return "\n".join(
        [
            f"<h2>{escape(title)}</h2>",
            '<p class="note">For each channel with published cells, its quarter-hours with the'
            " largest average audience of the target (households in brackets), channels with"
            " the largest peak first. Rating: the share of the target's matched households.</p>",
            _table_html(
                wide,
                columns=["channel", "name", "genre", "best", "peak_audience", "peak_rating"],
                percent=["peak_rating"],
                headers={
                    "best": "best quarter-hours (audience)",
                    "peak_audience": "peak audience",
                    "peak_rating": "peak rating",
                },
            ),
        ]
    )


def _plan_section(plan: PlanResult | PlanComparison, tables: dict[str, pl.DataFrame]) -> str:
    chosen = plan.plan if isinstance(plan, PlanComparison) else plan
    slots = tables["plan_slots"]
    cpt = chosen.cost_per_target
    cards = [
        ("budget", f"${chosen.budget:,.0f}"),
        ("spent", f"${chosen.spent:,.0f}"),
        ("spots bought", f"{slots.height:,}"),
        ("target impressions", f"{chosen.target_impressions:,.0f}"),
        ("cost per target impression", "–" if cpt is None else f"${cpt:,.2f}"),
    ]
    parts = [
        f"<h2>Media plan: {escape(chosen.segment)} {escape(chosen.band)} viewers</h2>",
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="v">{escape(v)}</div>'
            f'<div class="k">{escape(k)}</div></div>'
            for k, v in cards
        )
        + "</div>",
        '<p class="note">One 30-second spot per bought slot (channel × quarter-hour), priced'
        " by the rate card's daypart; its audience is the target's average quarter-hour"
        f" audience. Method: {escape(chosen.method)}. The plan maximizes target impressions"
        " (the sum of the slots' audiences): aggregate cells cannot tell how many distinct"
        " households several slots reach, so reach is not deduplicated across slots."
        " Suppressed cells are never bought.</p>",
    ]
    check = chosen.check
    if check is not None:
        proven = "proven optimum" if check.exact_optimal else "prices rounded up, not proven"
        parts.append(
            '<p class="note">Optimality check (target impressions): greedy by CPM'
            f" {check.greedy:,.1f}; dynamic programming {check.exact:,.1f}"
            f" ({proven},"
            f" ${check.dp_unit:,.2f} steps); LP bound {check.lp_bound:,.1f}. Greedy is"
            f" {check.gap_to_exact:.2%} short of the DP buy and at most"
            f" {check.gap_to_bound:.2%} short of any buy.</p>"
        )
    if isinstance(plan, PlanComparison):
        ratio = plan.ratio
        best = plan.ratio_best_case
        parts += [
            "<h3>Against a naive buy of the most-watched slots</h3>",
            _table_html(
                tables["plan_comparison"],
                columns=[
                    "plan",
                    "method",
                    "spent",
                    "slots",
                    "target_impressions",
                    "target_impressions_upper",
                    "cost_per_target",
                    "cost_per_target_best_case",
                ],
                money=["spent", "cost_per_target", "cost_per_target_best_case"],
                headers={
                    "target_impressions": "target impressions",
                    "target_impressions_upper": "at most",
                    "cost_per_target": "cost per target",
                    "cost_per_target_best_case": "best case",
                },
            ),
            '<p class="note">The naive buy takes the slots with the largest audience of all'
            " households, within the same budget. Where a slot it bought has a suppressed"
            " target cell, its target audience is unknown: counted as zero in the first"
            " figures, and at most the smallest published audience of a larger group"
            ' containing the target in the "at most" and "best case" columns.'
            + (
                f" The naive buy costs {ratio:.2f}× as much per target impression"
                f" ({best:.2f}× in its best case)."
                if ratio is not None and best is not None
                else ""
            )
            + "</p>",
        ]
    by_daypart = (
        slots.group_by("channel", "name", "daypart")
        .agg(
            pl.len().alias("spots"),
            pl.col("cost").sum().alias("cost"),
            pl.col("audience").sum().alias("target_impressions"),
        )
        .sort(["cost", "channel"], descending=[True, False])
    )
    parts += [
        "<h3>Spots by channel and daypart</h3>",
        _table_html(
            by_daypart, money=["cost"], headers={"target_impressions": "target impressions"}
        ),
        "<details><summary>Every spot of the plan</summary>",
        _table_html(
            slots,
            columns=["rank", "channel", "name", "time", "daypart", "cost", "audience", "cpm"],
            money=["cost", "cpm"],
        ),
        "</details>",
    ]
    return "\n".join(parts)


def render_html(
    tables: dict[str, pl.DataFrame],
    *,
    channels: pl.DataFrame,
    heatmaps: Sequence[tuple[str, str]],
    target: tuple[str, str],
    plan: PlanResult | PlanComparison | None,
    k_min: int | None,
) -> str:
    """The report page from ``report_tables``' frames."""
    body = [
        "<h1>Campaign viewership report</h1>",
        '<p class="note">Aggregate results of a blindlink engagement: the matcher\'s match'
        " report and measurement's viewership, as the campaign received and verified them."
        " No row of this report stands for a voter, a household or a set-top box.</p>",
        _match_section(tables["match_summary"]),
        _segments_section(tables["segments"]),
        _heatmaps_section(tables["heatmap_cells"], heatmaps, channels, k_min),
        _best_section(tables["best_quarter_hours"], target),
    ]
    if plan is not None:
        body.append(_plan_section(plan, tables))
    body.append(
        f'<p class="note">Tables as CSV and Parquet: {escape(TABLES_DIR)}/ next to this file.</p>'
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Campaign viewership report</title>"
        '<link rel="icon" href="data:,">'
        f"<style>{CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_table(frame: pl.DataFrame, folder: Path, name: str) -> None:
    _write_atomic(folder / f"{name}.csv", frame.write_csv().encode("utf-8"))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".parquet.tmp")
    os.close(fd)
    try:
        frame.write_parquet(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / f"{name}.parquet")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_report(
    viewership: pl.DataFrame | pl.LazyFrame,
    segment_summary: pl.DataFrame | pl.LazyFrame,
    match_report: pl.DataFrame | pl.LazyFrame,
    *,
    channels: pl.DataFrame | None,
    plan: PlanResult | PlanComparison | None,
    out_dir: Path,
    k_min: int | None = None,
    heatmaps: Sequence[tuple[str, str]] | None = None,
    target: tuple[str, str] = DEFAULT_TARGET,
) -> Path:
    """Write ``out_dir/report.html`` and ``out_dir/tables/*.csv|parquet``; return the page.

    ``channels`` (channel, name, genre) names the rows; ``plan`` adds the media plan (a
    ``PlanComparison`` adds the naive buy beside it); ``k_min`` is quoted in the legend;
    ``heatmaps`` lists the (segment, band) pairs to draw (default: all households, each
    declared segment, persuadable light viewers); ``target`` is the (segment, band) whose
    best quarter-hours per channel are listed.
    """
    out_dir = Path(out_dir)
    summary = _frame(segment_summary)
    check_frame(summary, "segment_summary")
    pairs = list(heatmaps) if heatmaps is not None else default_heatmaps(summary)
    chans = _channel_table(channels, viewership)
    tables = report_tables(
        viewership,
        summary,
        match_report,
        channels=channels,
        plan=plan,
        heatmaps=pairs,
        target=target,
    )
    page = render_html(
        tables, channels=chans, heatmaps=pairs, target=target, plan=plan, k_min=k_min
    )
    folder = out_dir / TABLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        _write_table(frame, folder, name)
    path = out_dir / REPORT_NAME
    _write_atomic(path, page.encode("utf-8"))
    return path
