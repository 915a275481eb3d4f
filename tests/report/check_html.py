"""Checks the HTML incident report in headless Chromium (docs/report.md "HTML").

For each --artifact: `day2 report A --format html` and `--format json` into a temporary directory;
the HTML page is opened in Chromium over the DevTools protocol and must load without an uncaught
exception, a console error or an error log entry, and without a network request. The timeline must
hold one bar per failed run with a time, one marker per timed timeline row of each kind and a
legend of exactly those categories and kinds, all counted from the JSON report of the same
artifact; every bar has a hover text (an SVG <title>) naming its run, is the element under its own
centre, and takes :hover when the mouse is moved there. The timeline is captured as a PNG
(--screenshot, one per --artifact, clipped to the SVG).

The first screen: the headline and the Actions table start within the first 1,000 px of a
1400x1000 viewport. Every bar is at least 4 px wide. Links: every <a href> of the page (the SVG's
too) matches one of the documented routes (LINK_PATTERNS: the Dagster UI's router of
dagster-webserver 1.13 and the Cloud console's pages, docs/report.md "Links"), and a report with
failed runs has links to them. --hours N first widens the artifact's window to the N hours before
its end (a 24-hour night from a 16-hour one); --config passes deployment settings (gcp.project for
the console links).

The checker proves it can fail: a page it writes with a script error must be reported as failing,
and a link outside the documented routes must be refused.

  check_html.py --day2 BIN --artifact A.json --screenshot A.png [--hours N] [--config C.json] [--artifact ...]
  check_html.py --page FILE.html     # only the console check of one page

Exit 0 when every check passes, 1 with one line per problem otherwise (2: usage).
"""

import argparse
import asyncio
import base64
import datetime
import json
import pathlib
import re
import subprocess
import sys
import tempfile
from collections import Counter

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from cdp import Browser, CdpError, Chromium  # noqa: E402

TIMEOUT = 60  # seconds, for the whole check
PAGE_TIMEOUT = 15
BROKEN_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>broken</title></head>
<body><p>A page with a script error.</p>
<script>console.error("deliberate console error"); undefined_function_of_the_broken_page();</script>
</body></html>
"""
PROBE = r"""(() => {
  const svg = document.querySelector("svg#timeline");
  if (!svg) return {error: "no svg#timeline in the page"};
  const box = svg.getBoundingClientRect();
  // Each bar is scrolled into view before it is measured: below the Actions table, the timeline
  // may start past the first screen.
  const bars = [...svg.querySelectorAll("rect.run-bar")].map(bar => {
    bar.scrollIntoView({block: "center"});
    const r = bar.getBoundingClientRect();
    const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
    const title = bar.querySelector("title");
    return {title: title ? title.textContent : "", width: r.width, height: r.height, cx, cy,
            category: bar.getAttribute("data-category"), onTop: document.elementFromPoint(cx, cy) === bar};
  });
  const markers = [...svg.querySelectorAll(".marker")].map(m => {
    const title = m.querySelector("title");
    return {kind: m.getAttribute("data-kind"), title: title ? title.textContent : ""};
  });
  const firstBar = svg.querySelector("rect.run-bar");
  if (firstBar) {  // the hover check moves the mouse to the first bar: it must be on screen
    firstBar.scrollIntoView({block: "center"});
    const r = firstBar.getBoundingClientRect();
    if (bars.length) { bars[0].cx = r.left + r.width / 2; bars[0].cy = r.top + r.height / 2; }
  }
  const texts = sel => [...svg.querySelectorAll(sel)].map(t => t.textContent);
  const outside = [...svg.querySelectorAll("g.legend > g")].filter(g => {
    const r = g.getBoundingClientRect();
    return r.right > box.right + 0.5 || r.left < box.left - 0.5;
  }).map(g => g.textContent);
  return {bars, markers, categories: texts("g.legend-category text"), kinds: texts("g.legend-kind text"),
          legendOutside: outside, clip: (() => { const now = svg.getBoundingClientRect();
            return {x: now.left + scrollX, y: now.top + scrollY, width: now.width, height: now.height, scale: 1}; })()};
})()"""


# The documented routes (docs/report.md "Links"). Dagster UI: dagster-webserver 1.13's router
# ("/runs/:runId", "/runs/b/:backfillId", "/locations/:repoPath/jobs/...", ".../sensors/:sensorName",
# ".../schedules/:scheduleName/:runTab?", "/deployment/locations", assetDetailsPathForKey "/assets/<key>");
# Cloud console: Logs Explorer, Error Reporting's group page, a Monitoring incident.
SEGMENT = r"[A-Za-z0-9\-_.!~*'()%@]+"
LINK_PATTERNS = {
    "dagster run": rf"^https?://[^/]+(/{SEGMENT})*/runs/[0-9a-f][0-9a-f\-]*$",
    "dagster backfill": rf"^https?://[^/]+(/{SEGMENT})*/runs/b/{SEGMENT}$",
    "dagster job/sensor/schedule": rf"^https?://[^/]+(/{SEGMENT})*/locations/{SEGMENT}/(jobs|sensors|schedules)/{SEGMENT}$",
    "dagster code locations": rf"^https?://[^/]+(/{SEGMENT})*/deployment/locations$",
    "dagster asset": rf"^https?://[^/]+(/{SEGMENT})*/assets(/{SEGMENT})+$",
    "logs explorer": r"^https://console\.cloud\.google\.com/logs/query;query=[^;?/]+;timeRange=\d{4}-\d\d-\d\dT[\d:.]+Z%2F\d{4}-\d\d-\d\dT[\d:.]+Z\?project=[a-z][a-z0-9\-]+$",
    "error reporting": r"^https://console\.cloud\.google\.com/errors/detail/[A-Za-z0-9_\-]+\?project=[a-z][a-z0-9\-]+$",
    "monitoring incident": r"^https://console\.cloud\.google\.com/monitoring/alerting/incidents/[A-Za-z0-9._\-]+\?project=[a-z][a-z0-9\-]+$",
}
LINKS_PROBE = r"""(() => {
  const links = [...document.querySelectorAll("a")].map(a => a.getAttribute("href"));
  const top = sel => { const e = document.querySelector(sel); return e ? e.getBoundingClientRect().top + scrollY : null; };
  const headline = document.querySelector("#headline");
  return {links, headlineBottom: headline ? headline.getBoundingClientRect().bottom + scrollY : null,
          actionsTop: top("table.actions"), firstActionBottom: (() => {
            const row = document.querySelector("table.actions tr:nth-child(2)");
            return row ? row.getBoundingClientRect().bottom + scrollY : null; })()};
})()"""


def route_of(href):
    """The name of the documented route `href` matches, or None."""
    for name, pattern in LINK_PATTERNS.items():
        if re.match(pattern, href or ""):
            return name
    return None


def widen(artifact, hours, work):
    """A copy of `artifact` whose window starts `hours` before its end."""
    doc = json.loads(artifact.read_text())
    end = datetime.datetime.fromisoformat(doc["window"]["utc_end"].replace("Z", "+00:00"))
    doc["window"]["utc_start"] = (end - datetime.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = work / f"{artifact.stem}-{hours:g}h.json"
    out.write_text(json.dumps(doc))
    return out


class Page:
    """One tab: opened, navigated to a file, its console problems and requests collected."""

    def __init__(self, browser, session, target):
        self.browser, self.session, self.target = browser, session, target

    @classmethod
    async def open(cls, browser):
        target = (await browser.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
        session = (await browser.send("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
        page = cls(browser, session, target)
        for domain in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
            await page.send(domain)
        await page.send("Emulation.setDeviceMetricsOverride",
                        {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
        return page

    async def send(self, method, params=None):
        return await self.browser.send(method, params, self.session)

    async def evaluate(self, expression):
        result = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise CdpError(f"evaluating the probe: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    async def load(self, path):
        url = path.resolve().as_uri()
        await self.send("Page.navigate", {"url": url})
        while True:  # bounded by the caller's timeout
            state = await self.evaluate("[document.readyState, location.href]")
            if state == ["complete", url]:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # console events of the load are still on their way

    def problems(self):
        """Uncaught exceptions, console errors, error log entries and non-file requests, as lines."""
        out = []
        for event in self.browser.session_events(self.session, {
                "Runtime.exceptionThrown", "Runtime.consoleAPICalled", "Log.entryAdded", "Network.requestWillBeSent"}):
            method, params = event["method"], event["params"]
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text")
                out.append(f"uncaught exception: {text.splitlines()[0] if text else details}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                out.append(f"console.{params['type']}: {args}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                out.append(f"log error ({params['entry']['source']}): {params['entry']['text']}")
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not url.startswith(("file:", "data:", "about:")):
                    out.append(f"network request to {url} (the page must be self-contained)")
        return out

    async def close(self):
        await self.browser.send("Target.closeTarget", {"targetId": self.target})


def day2_report(day2, artifact, out_dir, fmt, config=None):
    extra = ["--config", str(config)] if config else []
    result = subprocess.run([day2, "report", str(artifact), "--out-dir", str(out_dir), "--format", fmt, *extra],
                            capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"day2 report {artifact} --format {fmt} exited {result.returncode}: {result.stderr.strip()}")
    return pathlib.Path(result.stdout.strip())


def expected_of(report):
    """What the timeline must draw, from the JSON report: bars, marker kinds, legend, run ids."""
    # Each run's own category (a platform cause's runs keep theirs); bars are coloured by it.
    barred = [(run.get("category", cause["category"]), run) for cause in report["rootCauses"] for run in cause["runs"]
              if run["ended"] != "-"]
    markers = Counter(row["kind"] or row["source"] for row in report["timeline"]
                      if row["time"] != "-" and row["kind"] != "run")
    return {"bars": len(barred), "run_ids": sorted(run["runId"] for _, run in barred),
            "categories": sorted({category for category, _ in barred}), "markers": markers,
            "run_links": sum(1 for _, run in barred if run.get("url"))}


def compare(name, probe, expected):
    problems = []
    if "error" in probe:
        return [f"{name}: {probe['error']}"]
    bars = probe["bars"]
    if len(bars) != expected["bars"]:
        problems.append(f"{name}: {len(bars)} run bar(s) drawn, the JSON report has {expected['bars']} timed failed run(s)")
    drawn_ids = sorted(bar["title"].split("\n")[0].split(" run ")[-1] for bar in bars)
    if drawn_ids != expected["run_ids"]:
        problems.append(f"{name}: bars for runs {drawn_ids}, expected {expected['run_ids']}")
    for bar in bars:
        first = bar["title"].split("\n")[0] or "(no title)"
        if "pointer: /step_01_failed_runs/failures/" not in bar["title"] and "pointer: -" not in bar["title"]:
            problems.append(f"{name}: bar '{first}' has no hover text with its pointer")
        if bar["width"] < 4 or bar["height"] < 1:
            problems.append(f"{name}: bar '{first}' is narrower than 4 px or flat ({bar['width']:.1f}x{bar['height']:.1f} px)")
        if not bar["onTop"]:
            problems.append(f"{name}: bar '{first}' is covered at its centre: hovering it would not show its title")
    drawn = Counter(marker["kind"] for marker in probe["markers"])
    if drawn != expected["markers"]:
        problems.append(f"{name}: markers by kind {dict(sorted(drawn.items()))}, "
                        f"expected {dict(sorted(expected['markers'].items()))}")
    problems += [f"{name}: a {m['kind']} marker has no hover text" for m in probe["markers"] if not m["title"]]
    if probe["categories"] != expected["categories"]:
        problems.append(f"{name}: legend categories {probe['categories']}, expected {expected['categories']}")
    if probe["kinds"] != sorted(expected["markers"]):
        problems.append(f"{name}: legend kinds {probe['kinds']}, expected {sorted(expected['markers'])}")
    problems += [f"{name}: legend item '{text}' lies outside the timeline" for text in probe["legendOutside"]]
    return problems


async def hovers(page, bar):
    """Moves the mouse to the bar's centre; true when the bar then matches :hover."""
    await page.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": bar["cx"], "y": bar["cy"]})
    return await page.evaluate("document.querySelector('svg#timeline rect.run-bar:hover') !== null")


async def check_report(browser, html, expected, screenshot):
    name = html.name
    page = await Page.open(browser)
    try:
        await page.load(html)
        problems = [f"{name}: {p}" for p in page.problems()]
        probe = await page.evaluate(PROBE)
        problems += compare(name, probe, expected)
        first = await page.evaluate(LINKS_PROBE)
        if first["headlineBottom"] is None or first["headlineBottom"] > 1000:
            problems.append(f"{name}: the headline is not within the first 1000 px ({first['headlineBottom']})")
        if first["firstActionBottom"] is None or first["firstActionBottom"] > 1000:
            problems.append(f"{name}: the Actions table's first row is not within the first 1000 px ({first['firstActionBottom']})")
        unmatched = [href for href in first["links"] if route_of(href) is None]
        problems += [f"{name}: link {href!r} matches no documented route" for href in unmatched]
        routes = Counter(route_of(href) for href in first["links"])
        if expected["run_links"] and routes["dagster run"] < expected["run_links"]:
            problems.append(f"{name}: {routes['dagster run']} link(s) to runs, the JSON report has {expected['run_links']} run URL(s)")
        print(f"{name}: headline bottom {first['headlineBottom']:.0f} px, first action row {first['firstActionBottom']:.0f} px; "
              f"links by route {dict(sorted((k, v) for k, v in routes.items() if k))}; "
              f"narrowest bar {min((b['width'] for b in probe.get('bars', [])), default=0):.1f} px")
        if probe.get("bars") and not await hovers(page, probe["bars"][0]):
            problems.append(f"{name}: moving the mouse onto the first bar does not hover it")
        if "clip" in probe:
            shot = await page.send("Page.captureScreenshot",
                                   {"format": "png", "clip": probe["clip"], "captureBeyondViewport": True})
            data = base64.b64decode(shot["data"])
            if not data.startswith(b"\x89PNG\r\n\x1a\n"):
                problems.append(f"{name}: the screenshot is not a PNG")
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(data)
            print(f"{name}: {len(probe['bars'])} bar(s), {len(probe['markers'])} marker(s); "
                  f"timeline {probe['clip']['width']:.0f}x{probe['clip']['height']:.0f} px -> {screenshot}")
        return problems
    finally:
        await page.close()


async def console_problems(browser, path):
    page = await Page.open(browser)
    try:
        await page.load(path)
        return page.problems()
    finally:
        await page.close()


async def run(args, work):
    chromium = Chromium(args.chromium)
    browser = None
    try:
        browser = await Browser.open(await chromium.start(timeout=20))
        if args.page:
            return [f"{args.page}: {p}" for p in await asyncio.wait_for(console_problems(browser, args.page), PAGE_TIMEOUT)]
        problems = []
        broken = work / "broken.html"
        broken.write_text(BROKEN_PAGE)
        found = await asyncio.wait_for(console_problems(browser, broken), PAGE_TIMEOUT)
        if not any("uncaught exception" in p for p in found) or not any("console.error" in p for p in found):
            problems.append(f"the checker missed the broken page's errors (it saw {found}): it cannot be trusted")
        else:
            print(f"broken page reported as failing, as it must be: {'; '.join(found)}")
        for bad in ["https://console.cloud.google.com/logs/query?project=p", "http://dagster/runs/../etc",
                    "javascript:alert(1)", "https://evil.example/runs/b/x?y"]:
            if route_of(bad) is not None:
                problems.append(f"the link check accepts {bad!r}: it cannot be trusted")
        hours = args.hours + [None] * (len(args.artifact) - len(args.hours))
        for artifact, screenshot, wide in zip(args.artifact, args.screenshot, hours):
            out = work / artifact.stem
            if wide:
                artifact = widen(artifact, wide, work)
            html = day2_report(args.day2, artifact, out, "html", args.config)
            expected = expected_of(json.loads(day2_report(args.day2, artifact, out, "json", args.config).read_text()))
            problems += await asyncio.wait_for(check_report(browser, html, expected, screenshot), PAGE_TIMEOUT)
        return problems
    finally:
        if browser is not None:
            await browser.close()
        await chromium.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day2", help="the day2 executable")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--artifact", type=pathlib.Path, action="append", default=[])
    parser.add_argument("--screenshot", type=pathlib.Path, action="append", default=[],
                        help="the PNG of the timeline, one per --artifact")
    parser.add_argument("--page", type=pathlib.Path, help="only check this page for console errors")
    parser.add_argument("--hours", type=float, action="append", default=[],
                        help="widen the window of the --artifact of the same position to N hours (0: keep it)")
    parser.add_argument("--config", type=pathlib.Path, help="deployment settings for every report (gcp.project: console links)")
    args = parser.parse_args()
    if not args.page and (not args.day2 or not args.artifact or len(args.artifact) != len(args.screenshot)):
        parser.error("give --day2 and one --screenshot per --artifact (or --page FILE)")
    with tempfile.TemporaryDirectory(prefix="day2-check-html-") as work:
        try:
            problems = asyncio.run(asyncio.wait_for(run(args, pathlib.Path(work)), TIMEOUT))
        except asyncio.TimeoutError:
            problems = [f"timed out after {TIMEOUT} s (Chromium or a page did not answer)"]
        except (CdpError, RuntimeError, OSError, subprocess.SubprocessError) as error:
            problems = [str(error)]
    for problem in problems:
        print(f"check_html: FAIL: {problem}", file=sys.stderr)
    if not problems:
        print("check_html: every check passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
