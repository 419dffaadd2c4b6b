"""The report in a real browser: headless Chromium (Debian's ``chromium``, installed by
``.ci/install-chromium``) loads the page from disk and must show its charts, log no console
error and make no request beyond the page itself.

Chromium is driven over the DevTools protocol on ``--remote-debugging-pipe`` (JSON messages
separated by NUL bytes on file descriptors 3 and 4), so the test needs nothing beyond the
standard library and numpy: no Selenium, no Playwright, no browser download. The
screenshot is decoded by a small PNG reader below.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from linkage.plan import compare_plans
from linkage.report import PALETTE, SUPPRESSED_FILL, render_report

from .test_plan import flat_rate_card
from .test_report import CHANNELS, sample_inputs

CHROMIUM = Path(os.environ.get("BLINDLINK_CHROMIUM", "/usr/bin/chromium"))
WIDTH, HEIGHT = 1200, 2000
TIMEOUT_S = 60.0

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"{CHROMIUM} is missing: run .ci/install-chromium (Debian's chromium package)",
)


# --- a minimal DevTools-protocol client over the pipe -----------------------------------


@dataclass
class PageLoad:
    """What the browser saw while loading one page."""

    screenshot: bytes = b""
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    evaluated: Any = None


def _above_9(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Chromium:
    """Headless Chromium with the DevTools protocol on fds 3 (commands) and 4 (replies)."""

    def __init__(self, user_data_dir: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # the child's ends go above 9, so that putting them on 3 and 4 cannot clobber one
        # with the other (as dup2(4, 3) then dup2(3, 4) would)
        to_browser_r, from_browser_w = _above_9(to_browser_r), _above_9(from_browser_w)
        args = [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            f"--user-data-dir={user_data_dir}",
            f"--window-size={WIDTH},{HEIGHT}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # a small launcher puts our pipe ends on the fixed descriptors 3 and 4 (inheritable),
        # then becomes Chromium
        launcher = (
            "import os, sys; "
            f"os.dup2({to_browser_r}, 3); os.dup2({from_browser_w}, 4); "
            "os.execv(sys.argv[1], sys.argv[1:])"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", launcher, *args],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium over the DevTools pipe")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the DevTools pipe: {self._stderr()}")
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        decoded: dict[str, Any] = json.loads(message)
        return decoded

    def _stderr(self) -> str:
        """The end of Chromium's own log, once it has exited (for the failure message)."""
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")[-2000:]

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        seen = lambda: any(  # noqa: E731
            e.get("method") == method and e.get("sessionId") == session for e in self.events
        )
        while not seen():
            self.events.append(self._read_message(deadline))

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def load_page(url: str, user_data_dir: Path, expression: str = "null") -> PageLoad:
    """Open ``url`` in a fresh tab, wait for the load event, record requests and console
    errors, evaluate ``expression`` and take a screenshot of the viewport."""
    browser = Chromium(user_data_dir)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable", session=session)
        # the viewport of `chromium --screenshot --window-size=1200,2000`: the window's own
        # frame would otherwise take some height from the page
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        browser.call("Page.navigate", {"url": url}, session)
        browser.wait_for("Page.loadEventFired", session)
        evaluated = browser.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
        )["result"].get("value")
        shot = browser.call("Page.captureScreenshot", {"format": "png"}, session)["data"]
        load = PageLoad(screenshot=base64.b64decode(shot), evaluated=evaluated)
        for event in browser.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                load.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "assert",
            ):
                load.console_errors.append(f"console.{params['type']}")
            elif method == "Runtime.exceptionThrown":
                load.console_errors.append("uncaught exception")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                load.console_errors.append(f"log: {params['entry'].get('text', '')[:200]}")
        return load
    finally:
        browser.close()


# --- a small PNG reader -------------------------------------------------------------------


def decode_png(data: bytes) -> np.ndarray:
    """8-bit RGB or RGBA, non-interlaced PNG → array of shape (height, width, channels)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, []
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        start = y * (stride + 1)
        filt = raw[start]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1).copy()
        if filt == 1:  # Sub: a running sum per channel, modulo 256
            line = np.cumsum(line.reshape(width, channels), axis=0, dtype=np.uint8).reshape(-1)
        elif filt == 2:  # Up
            line = line + prev
        elif filt in (3, 4):  # Average, Paeth: each byte depends on the one before
            cur, up = bytearray(line.tobytes()), prev.tobytes()
            for x in range(stride):
                a = cur[x - channels] if x >= channels else 0
                b = up[x]
                if filt == 3:
                    cur[x] = (cur[x] + ((a + b) >> 1)) & 255
                    continue
                c = up[x - channels] if x >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (cur[x] + pred) & 255
            line = np.frombuffer(bytes(cur), dtype=np.uint8)
        elif filt != 0:
            raise ValueError(f"bad PNG filter {filt} on row {y}")
        rows[y] = line
        prev = line
    return rows.reshape(height, width, channels)


def _rgb(hex_colour: str) -> int:
    return int(hex_colour.lstrip("#"), 16)


def colour_counts(pixels: np.ndarray, colours: list[str]) -> dict[str, int]:
    packed = (
        pixels[..., 0].astype(np.int32) << 16
        | pixels[..., 1].astype(np.int32) << 8
        | pixels[..., 2].astype(np.int32)
    )
    return {c: int((packed == _rgb(c)).sum()) for c in colours}


def test_png_reader_reads_every_filter() -> None:
    # a 3×2 RGB image, one row with each of None and Sub, then Up, Average and Paeth
    pixels = np.array([[[10, 20, 30], [40, 50, 60], [70, 80, 90]]] * 2, dtype=np.uint8)
    pixels[1] += 5
    for kind in range(5):
        rows = []
        prev = np.zeros(9, dtype=np.int32)
        for y in range(2):
            cur = pixels[y].reshape(-1).astype(np.int32)
            left = np.concatenate([np.zeros(3, dtype=np.int32), cur[:-3]])
            upleft = np.concatenate([np.zeros(3, dtype=np.int32), prev[:-3]])
            if kind == 0:
                f = cur
            elif kind == 1:
                f = cur - left
            elif kind == 2:
                f = cur - prev
            elif kind == 3:
                f = cur - (left + prev) // 2
            else:
                p = left + prev - upleft
                pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
                f = cur - np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            rows.append(bytes([kind]) + (f % 256).astype(np.uint8).tobytes())
            prev = cur
        ihdr = struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)
        body = zlib.compress(b"".join(rows))
        png = b"\x89PNG\r\n\x1a\n" + b"".join(
            struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
            for k, d in ((b"IHDR", ihdr), (b"IDAT", body), (b"IEND", b""))
        )
        assert (decode_png(png) == pixels).all(), f"filter {kind}"


# --- the checks -------------------------------------------------------------------------

HEATMAP_BOXES = (
    "JSON.stringify([...document.querySelectorAll('svg.heatmap')].map(e => {"
    " const r = e.getBoundingClientRect(); return [r.width, r.height]; }))"
)


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    viewership, summary, report = sample_inputs()
    card = flat_rate_card({"CH01": 400.0, "CH02": 200.0, "CH03": 60.0, "CH04": 30.0})
    plan = compare_plans(viewership, card, segment="persuadable", band="light", budget=5_000)
    out = tmp_path_factory.mktemp("browser-report")
    return render_report(
        viewership, summary, report, channels=CHANNELS, plan=plan, out_dir=out, k_min=50
    )


def test_the_report_shows_its_charts_in_headless_chromium(
    report_page: Path, tmp_path: Path
) -> None:
    url = report_page.resolve().as_uri()
    load = load_page(url, tmp_path / "profile", HEATMAP_BOXES)
    shot = tmp_path / "report.png"
    shot.write_bytes(load.screenshot)
    if os.environ.get("BLINDLINK_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["BLINDLINK_SCREENSHOT_DIR"]) / "report.png")

    assert load.console_errors == []
    assert [u for u in load.requests if u != url and not u.startswith("data:")] == []
    assert url in load.requests  # the listener worked: it saw the page itself

    boxes = json.loads(load.evaluated)
    assert len(boxes) == 4 and all(w > 900 and h > 80 for w, h in boxes)

    pixels = decode_png(load.screenshot)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    grey = pixels[..., :3].astype(np.float64).mean(axis=2)
    assert grey.std() > 20  # not blank
    assert (grey < 250).mean() > 0.05  # a page with content, not a white sheet
    counts = colour_counts(pixels, [*PALETTE, SUPPRESSED_FILL])
    assert sum(counts[c] for c in PALETTE) > 20_000  # heatmap cells are painted
    assert sum(1 for c in PALETTE if counts[c] > 100) >= 6  # in several colours
    assert counts[SUPPRESSED_FILL] > 200  # and the hatched suppressed cells show


def test_the_checks_catch_requests_console_errors_and_a_blank_page(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><link rel='icon' href='data:,'></head><body>"
        "<img src='http://127.0.0.1:9/pixel.png'>"
        "<script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    load = load_page(page.as_uri(), tmp_path / "profile")
    assert "http://127.0.0.1:9/pixel.png" in load.requests
    assert "console.error" in load.console_errors
    pixels = decode_png(load.screenshot)
    assert pixels[..., :3].astype(np.float64).mean(axis=2).std() < 5
