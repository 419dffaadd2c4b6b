"""The campaign report: a self-contained page with one inline SVG per heatmap, suppressed
cells marked, and CSV and Parquet tables that hold what the page shows."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hashing.errors import InputError
from linkage.plan import compare_plans, plan_buy, quarter_hour_label
from linkage.report import (
    SUPPRESSED_LEGEND,
    ColourScale,
    default_heatmaps,
    render_report,
    report_tables,
)

from .test_plan import (
    Cell,
    flat_rate_card,
    match_report_frame,
    segment_summary_frame,
    viewership_frame,
)

CHANNELS = pl.DataFrame(
    {
        "channel": ["CH01", "CH02", "CH03", "CH04"],
        "name": ["Buckeye 4 Local", "Stadium One", "Kitchen <Channel>", "Nature World"],
        "genre": ["local", "sports", "lifestyle", "documentary"],
    }
)
SEGMENTS = ("persuadable", "gotv")
PAIRS = [("all", "all"), ("persuadable", "all"), ("gotv", "all"), ("persuadable", "light")]


def sample_inputs() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(viewership, segment_summary, match_report) of four channels, all 96 quarter-hours;
    the overnight hours of smaller groups suppressed, as k would do."""
    cells: dict[Cell, float | None] = {}
    for (segment, band), scale in zip(PAIRS, (1.0, 0.5, 0.2, 0.1), strict=True):
        for i, ch in enumerate(CHANNELS["channel"]):
            for qh in range(96):
                peak = 3.0 if 76 <= qh < 92 else 1.0
                audience = round(scale * peak * (400 - 80 * i) * (1 + (qh % 7) / 10), 2)
                small = scale < 0.5 and (8 <= qh < 24 or (ch == "CH04" and qh % 3 == 0))
                cells[(segment, band, ch, qh)] = None if small else audience
    day_rows = {("all", "all", "CH01", 80): 99_999.0}  # never drawn: heatmaps use averages
    summary = segment_summary_frame(
        {
            ("all", "all"): 5000.0,
            ("all", "light"): 2000.0,
            ("persuadable", "all"): 2200.0,
            ("persuadable", "light"): 800.0,
            ("gotv", "all"): 900.0,
            ("gotv", "light"): None,
        }
    )
    report = match_report_frame(
        {
            ("summary", "campaign_records"): 20000.0,
            ("summary", "operator_records"): 7000.0,
            ("summary", "matched_voters"): 8100.0,
            ("summary", "matched_households"): 5000.0,
            ("summary", "match_rate"): 0.405,
            ("summary", "household_match_rate"): 0.714,
            ("unmatched", "no_candidate"): 11000.0,
            ("em", "prior"): 0.001,
        }
    )
    return viewership_frame(cells, day_rows=day_rows), summary, report


@pytest.fixture(scope="module")
def inputs() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return sample_inputs()


@pytest.fixture(scope="module")
def rendered(
    tmp_path_factory: pytest.TempPathFactory,
    inputs: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
) -> tuple[Path, str]:
    viewership, summary, report = inputs
    card = flat_rate_card({"CH01": 400.0, "CH02": 200.0, "CH03": 60.0, "CH04": 30.0})
    plan = compare_plans(viewership, card, segment="persuadable", band="light", budget=5_000)
    out = tmp_path_factory.mktemp("report")
    page = render_report(
        viewership, summary, report, channels=CHANNELS, plan=plan, out_dir=out, k_min=50
    )
    return page, page.read_text(encoding="utf-8")


def _svgs(html: str, cls: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(rf'<svg class="{cls}".*?</svg>', html, re.S)]


def test_the_report_is_written_next_to_its_tables(rendered: tuple[Path, str]) -> None:
    page, html = rendered
    assert page.name == "report.html" and page.is_file()
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Campaign viewership report</title>" in html
    assert (page.parent / "tables" / "heatmap_cells.parquet").is_file()


def test_the_page_fetches_nothing(rendered: tuple[Path, str]) -> None:
    _, html = rendered
    lowered = html.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "<script" not in lowered
    assert not re.search(r"\bsrc\s*=", lowered)
    assert "@import" not in lowered and "@font-face" not in lowered
    assert '<link rel="stylesheet"' not in lowered
    # the only url() references point inside the page (the hatch patterns)
    assert set(re.findall(r"url\(([^)]*)\)", html)) <= {f"#hatch-{i}" for i in range(10)}
    # the one <link> is the empty favicon, so the browser asks for no favicon.ico
    assert re.findall(r"<link [^>]*>", html) == ['<link rel="icon" href="data:,">']


def test_one_svg_per_heatmap_in_order(rendered: tuple[Path, str]) -> None:
    _, html = rendered
    heatmaps = _svgs(html, "heatmap")
    assert [(h.get("data-segment"), h.get("data-band")) for h in heatmaps] == PAIRS
    assert all(h.get("data-cells") == str(4 * 96) for h in heatmaps)
    assert len(_svgs(html, "bars")) == 1
    assert html.count("<svg") == len(PAIRS) + 1


def test_default_heatmaps_are_all_each_segment_and_persuadable_light(
    inputs: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
) -> None:
    assert default_heatmaps(inputs[1]) == PAIRS


def test_suppressed_cells_are_hatched_counted_and_explained(
    rendered: tuple[Path, str], inputs: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    _, html = rendered
    averaged = inputs[0].filter(pl.col("day").is_null())
    for svg in _svgs(html, "heatmap"):
        seg, band = svg.get("data-segment"), svg.get("data-band")
        expected = averaged.filter(
            (pl.col("segment") == seg) & (pl.col("band") == band) & pl.col("suppressed")
        ).height
        assert svg.get("data-suppressed-cells") == str(expected)
        rects = svg.iter("rect")
        drawn = [r for r in rects if r.get("class") == "suppressed"]
        width = sum(float(r.get("width", 0)) for r in drawn)
        assert width == 8 * expected  # one 8-px column per suppressed quarter-hour
        if expected:
            assert all(r.get("fill", "").startswith("url(#hatch-") for r in drawn)
        texts = "".join(t.text or "" for t in svg.iter("text"))
        assert f"{SUPPRESSED_LEGEND} (k = 50)" in texts
    # suppressed cells exist in the sample, so the check above bit somewhere
    assert averaged["suppressed"].any()


def test_published_cells_are_coloured_by_audience(rendered: tuple[Path, str]) -> None:
    _, html = rendered
    svg = _svgs(html, "heatmap")[0]  # all households: nothing suppressed
    cells = [r for r in svg.iter("rect") if r.get("class") == "cell"]
    assert sum(float(r.get("width", 0)) for r in cells) == 8 * 4 * 96
    assert len({r.get("fill") for r in cells}) >= 6
    tips = [r.find("title") for r in cells]
    assert all(t is not None and "households" in (t.text or "") for t in tips)
    # the day row's 99,999 is not in the heatmap
    assert "99,999" not in html and "99999" not in html


def test_colour_classes_hold_about_equal_counts() -> None:
    scale = ColourScale.of([float(v) for v in range(1, 801)])
    counts = [0] * len(scale.lower)
    for v in range(1, 801):
        counts[scale.index(float(v))] += 1
    assert counts == [100] * 8
    assert scale.colour(0) != scale.colour(7)
    assert ColourScale.of([5.0] * 10).lower == (5.0,)


def test_match_segments_best_hours_and_plan_are_shown(rendered: tuple[Path, str]) -> None:
    _, html = rendered
    assert "40.5%" in html and "71.4%" in html  # match rates
    assert "no match rate per segment" in html
    assert "Matched households by segment" in html
    assert "44.0%" in html  # persuadable: 2,200 of 5,000 matched households
    assert "Best quarter-hours per channel: persuadable light viewers" in html
    assert "Kitchen &lt;Channel&gt;" in html and "Kitchen <Channel>" not in html
    assert "Media plan: persuadable light viewers" in html
    assert "Against a naive buy" in html
    assert "not deduplicated" in html


def test_tables_on_disk_are_the_tables_of_the_page(
    rendered: tuple[Path, str], inputs: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    page, _ = rendered
    folder = page.parent / "tables"
    names = {p.stem for p in folder.glob("*.parquet")}
    assert names == {
        "match_summary",
        "segments",
        "heatmap_cells",
        "best_quarter_hours",
        "plan_slots",
        "plan_summary",
        "naive_slots",
        "plan_comparison",
    }
    assert {p.stem for p in folder.glob("*.csv")} == names
    for name in names:
        parquet = pl.read_parquet(folder / f"{name}.parquet")
        csv = pl.read_csv(folder / f"{name}.csv", schema=parquet.schema)
        assert_frame_equal(csv, parquet)
    cells = pl.read_parquet(folder / "heatmap_cells.parquet")
    averaged = inputs[0].filter(pl.col("day").is_null())
    assert cells.height == averaged.height
    assert cells["suppressed"].sum() == averaged["suppressed"].sum()
    labels = dict(zip(cells["quarter_hour"], cells["time"], strict=True))
    assert labels == {q: quarter_hour_label(q) for q in range(96)}
    best = pl.read_parquet(folder / "best_quarter_hours.parquet")
    assert best["rank"].max() == 3
    top = best.filter(pl.col("rank") == 1).row(0, named=True)
    assert (
        top["channel"] == "CH01"
        and top["audience"]
        == averaged.filter((pl.col("segment") == "persuadable") & (pl.col("band") == "light"))[
            "audience"
        ].max()
    )


def test_report_tables_match_what_render_wrote(
    rendered: tuple[Path, str], inputs: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    page, _ = rendered
    viewership, summary, report = inputs
    tables = report_tables(viewership, summary, report, channels=CHANNELS)
    for name in ("match_summary", "segments", "heatmap_cells", "best_quarter_hours"):
        assert_frame_equal(
            tables[name], pl.read_parquet(page.parent / "tables" / f"{name}.parquet")
        )
    assert "plan_slots" not in tables


def test_without_a_plan_there_is_no_plan_section(
    tmp_path: Path, inputs: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    viewership, summary, report = inputs
    page = render_report(
        viewership.lazy(), summary, report, channels=None, plan=None, out_dir=tmp_path
    )
    html = page.read_text(encoding="utf-8")
    assert "Media plan" not in html
    assert not (tmp_path / "tables" / "plan_slots.csv").exists()
    assert SUPPRESSED_LEGEND in html and "(k = " not in html
    assert html.count('<svg class="heatmap"') == len(PAIRS)


def test_a_plan_result_alone_shows_the_plan_without_a_comparison(
    tmp_path: Path, inputs: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    viewership, summary, report = inputs
    card = flat_rate_card({"CH01": 400.0, "CH02": 200.0, "CH03": 60.0, "CH04": 30.0})
    plan = plan_buy(viewership, card, segment="persuadable", band="all", budget=2_000)
    page = render_report(
        viewership,
        summary,
        report,
        channels=CHANNELS,
        plan=plan,
        out_dir=tmp_path,
        heatmaps=[("persuadable", "all")],
        target=("persuadable", "all"),
    )
    html = page.read_text(encoding="utf-8")
    assert "Media plan: persuadable all viewers" in html
    assert "Against a naive buy" not in html
    assert html.count('<svg class="heatmap"') == 1
    slots = pl.read_parquet(tmp_path / "tables" / "plan_slots.parquet")
    assert slots["channel"].to_list() == plan.slots["channel"].to_list()
    assert slots["name"].null_count() == 0


def test_inputs_that_break_their_contract_are_refused(
    tmp_path: Path, inputs: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    viewership, summary, report = inputs
    with pytest.raises(InputError, match="viewership"):
        render_report(
            viewership.drop("share"), summary, report, channels=None, plan=None, out_dir=tmp_path
        )
    with pytest.raises(InputError, match="channels"):
        render_report(
            viewership,
            summary,
            report,
            channels=CHANNELS.drop("name"),
            plan=None,
            out_dir=tmp_path,
        )
    assert not (tmp_path / "report.html").exists()


def test_colour_scale_of_no_published_value_has_no_labels() -> None:
    from linkage.report import ColourScale

    assert ColourScale.of([]).labels() == []
