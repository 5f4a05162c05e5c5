"""Headless Chromium driven over the DevTools protocol, with only the standard library.

Chromium is started with `--remote-debugging-port=0` (it writes the port it chose to
`<user-data-dir>/DevToolsActivePort`); one page target is driven over a minimal WebSocket client
(RFC 6455 text frames, masked from the client). Enough to set a cookie, open a page, evaluate
JavaScript and take a screenshot. Stopped by its own PID.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--window-size=1400,2400",
]


class WebSocket:
    """A blocking WebSocket client for one ws:// URL (text frames only)."""

    def __init__(self, url: str, timeout: float = 60.0):
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"WebSocket handshake failed: {head[:200]!r}")

    def send(self, text: str) -> None:
        data = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        elif len(data) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(data))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("WebSocket closed")
            out += chunk
        return out

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._exact(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._exact(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("WebSocket closed by Chromium")
            if opcode in (0x1, 0x2, 0x0):
                message += payload
                if first & 0x80:
                    return message.decode()

    def close(self) -> None:
        self.sock.close()


class Page:
    """One Chromium page target."""

    def __init__(self, ws: WebSocket):
        self.ws = ws
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


class Chromium:
    """A headless Chromium process with a temporary profile; use as a context manager."""

    def __init__(self, binary: str = CHROMIUM):
        self.binary = binary
        self.profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
        self.process: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> "Chromium":
        self.process = subprocess.Popen(
            [self.binary, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not marker.exists() or not marker.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.1)
        self.port = int(marker.read_text().split()[0])
        return self

    def page(self) -> Page:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        target = next(t for t in targets if t.get("type") == "page")
        return Page(WebSocket(target["webSocketDebuggerUrl"]))

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)


DASHBOARD_STATE = """(() => {
  const charts = Array.from(document.querySelectorAll('[data-test="chart-grid-component"]'));
  return {charts: charts.length,
          loading: document.querySelectorAll('[data-test="chart-grid-component"] [data-test="loading-indicator"], [data-test="chart-grid-component"] .loading').length,
          drawn: charts.filter(c => c.querySelector('canvas, table, .header-line, svg.datamap path.datamaps-subunit')).length,
          errors: Array.from(document.querySelectorAll('[role="alert"], .ant-alert-error, [data-test="error-tooltip"]')).map(e => e.innerText.slice(0, 200))};
})()"""
"""What a Superset dashboard page shows: its chart cells, how many still load, how many drew
something (an ECharts canvas, a table, a big number, a world map's countries: not any SVG, as the
chart menu's icon is one) and the text of every error alert."""


def render_dashboards(url: str, user: str, password: str, dashboards: dict[str, int], charts: dict[str, int], artifacts: Path, name: str) -> dict[str, dict]:
    """Open each dashboard (uuid -> id) of the Superset at `url` in headless Chromium, logged in.

    Waits (up to 90 s each) until the page shows `charts[uuid]` chart cells, none loading and all
    drawn, then until the canvases stop changing (`settle`); saves a screenshot as
    `artifacts/<name>-<id>.png`; returns per uuid `DASHBOARD_STATE` with `settled` and `charts_drawn`
    (`ECHARTS_STATE`) added.
    """
    import re

    import httpx

    with httpx.Client(base_url=url, follow_redirects=False) as web:
        found = re.search(r'id="csrf_token"[^>]*value="([^"]+)"', web.get("/login/").text)
        assert found, "no CSRF token on Superset's login page"
        answer = web.post("/login/", data={"username": user, "password": password, "csrf_token": found.group(1)})
        assert answer.status_code == 302, f"login to {url} failed: {answer.status_code}"
        session = web.cookies["session"]
    states: dict[str, dict] = {}
    artifacts.mkdir(parents=True, exist_ok=True)
    with Chromium() as browser:
        page = browser.page()
        page.call("Network.setCookie", name="session", value=session, url=url)
        page.call("Page.enable")
        for uuid, number in sorted(dashboards.items()):
            page.call("Page.navigate", url=f"{url}/superset/dashboard/{number}/")
            state: dict = {}
            for _ in range(90):
                time.sleep(1)
                state = page.evaluate(DASHBOARD_STATE) or {}
                if state.get("charts") == charts[uuid] and not state.get("loading") and state.get("drawn") == state.get("charts"):
                    break
            state["settled"] = settle(page)
            state["charts_drawn"] = page.evaluate(ECHARTS_STATE) or []
            page.screenshot(artifacts / f"{name}-{number}.png")
            states[uuid] = state
    return states


def settle(page: Page, timeout: float = 15.0) -> bool:
    """Wait until no canvas changes between two looks half a second apart (False: still changing at `timeout`).

    ECharts draws a line from left to right over about a second after the data arrives: a screenshot taken as
    soon as every chart has a canvas shows lines stopping part-way along their axis (mid-2016 of 2015-2025)."""
    before = page.evaluate(CANVAS_PIXELS)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = page.evaluate(CANVAS_PIXELS)
        if now == before:
            return True
        before = now
    return False


CANVAS_PIXELS = """(() => Array.from(document.querySelectorAll('[data-test="chart-grid-component"] canvas')).map(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let h = 0;
  for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) | 0;
  return h;
}))()"""
"""A checksum of each chart canvas's pixels."""

ECHARTS_STATE = """(() => Array.from(document.querySelectorAll('[data-test="chart-grid-component"]')).flatMap(cell => {
  const canvas = cell.querySelector('canvas'); if (!canvas) return [];
  let node = canvas, key;
  while (node && !(key = Object.keys(node).find(k => k.startsWith('__reactFiber$')))) node = node.parentElement;
  let fiber = node && node[key], chart = null, options = null;
  for (let f = fiber; f && !chart; f = f.return) { const r = f.ref && f.ref.current; if (r && r.getEchartInstance) chart = r.getEchartInstance(); }
  for (let f = fiber; f && !options; f = f.return) if (f.memoizedProps && f.memoizedProps.echartOptions) options = f.memoizedProps.echartOptions;
  if (!options) return [];
  const title = (cell.querySelector('[data-test="editable-title"], .header-title') || {}).innerText || '';
  const legend = [].concat(options.legend || [])[0] || {};
  const timeAxis = !!(options.xAxis && [].concat(options.xAxis)[0].type === 'time');
  const out = {title, timeAxis, legendType: legend.type || null, legend: legend.data || [], series: (options.series || []).map(s => s.name), lastPlotted: null};
  const grid = chart && chart.getModel().getComponent('grid');
  if (grid && grid.coordinateSystem && timeAxis) {
    // the rightmost coloured pixel inside the plot (grid and axis lines are grey), as a time on the x axis
    const rect = grid.coordinateSystem.getRect(), ratio = canvas.width / canvas.clientWidth;
    const img = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const top = Math.round(rect.y * ratio), bottom = Math.round((rect.y + rect.height) * ratio);
    const left = Math.round(rect.x * ratio), right = Math.min(canvas.width - 1, Math.round((rect.x + rect.width) * ratio) + 2);
    let found = -1;
    for (let x = right; x >= left && found < 0; x--) for (let y = top; y <= bottom; y++) {
      const i = (y * canvas.width + x) * 4;
      if (Math.max(img[i], img[i + 1], img[i + 2]) - Math.min(img[i], img[i + 1], img[i + 2]) > 60) { found = x; break; }
    }
    if (found >= 0) out.lastPlotted = new Date(chart.convertFromPixel({xAxisIndex: 0}, found / ratio)).toISOString();
    // left of the plot: the y axis title and the tick labels are separate runs of inked columns unless they overlap
    const runs = [];
    for (let x = 0; x < left - 2; x++) {
      let ink = false;
      for (let y = top; y <= bottom && !ink; y++) { const i = (y * canvas.width + x) * 4; ink = img[i + 3] > 0 && img[i] + img[i + 1] + img[i + 2] < 600; }
      if (ink && runs.length && runs[runs.length - 1][1] === x - 1) runs[runs.length - 1][1] = x;
      else if (ink) runs.push([x, x]);
    }
    out.yAxisInk = runs.map(([a, b]) => [a / ratio, b / ratio]);
  }
  return [out];
}))()"""
"""Per ECharts chart of the page: its title, whether its x axis is time (`timeAxis`), legend type ("scroll" when Superset pages it), legend names, series
names, `lastPlotted`, the time at the rightmost coloured pixel of a time-axis plot, and `yAxisInk`, the runs
of inked pixel columns left of the plot ([first, last] x): the y axis title's run is the first, apart from the
tick labels' unless they overlap (found through React's
fiber tree: Superset keeps the ECharts instance on its Echart component's ref)."""
