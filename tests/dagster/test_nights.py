"""Metrics and recorded nights, end to end (docs/metrics.md, docs/scenarios.md).
Run: pytest tests/dagster/test_nights.py --day2 PATH (the fixture must be running for the last test).

1. `collect --metrics` and `report --metrics` write one textfile that the official Prometheus parser
   (prometheus_client) reads: gauges only, no timestamps, every label value in its closed set.
2. `--pushgateway URL` sends the Pushgateway's documented request (PUT
   /metrics/job/<job>/instance/<instance>, text format 0.0.4) to a stand-in; a 500 from it is
   reported, the exit code is 1 and the textfile is still written.
3. A night recorded from the real Dagster fixture (`collect --record-dir`) becomes a scenario with
   `day2 scenario add`, whose failed runs are the fixture's oracle's, and `day2 regress` passes on it.
"""

from __future__ import annotations

import datetime
import http.server
import json
import threading
import time
from pathlib import Path

import pytest
from day2_helpers import describe
from day2_helpers import run_day2 as run
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "scenarios" / "dagster-fixture"
CATEGORIES = {"Preemption/Interrupt", "Node OOM/eviction", "Scheduling failure", "K8s API failure", "Backoff limit",
              "Step preempt-hang", "Network/SSH", "Connection failure", "Code error", "Infra timeout",
              "Agent API timeout", "K8s API timeout", "Slow-query timeout (dbt)", "K8s pre-start kill", "Unclassified"}
STEPS = {f"step_{n:02d}_{name}" for n, name in enumerate(
    ["failed_runs", "retries", "sensor_ticks", "freshness", "load_failures", "schedule_ticks", "agents",
     "agent_pod_churn", "daemons", "gke_events", "alerts", "error_groups", "oom_metrics", "queued_runs", "backfills",
     "asset_checks", "degraded_assets"], start=1)}
CLOSED = {"category": CATEGORIES, "step": STEPS, "outcome": {"ok", "error", "skipped"},
          "status": {"success", "failure", "canceled", "queued"}, "kind": {"sensor", "schedule"},
          "action": {"escalate", "investigate", "monitor", "no_action", "none"}}


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(fams: dict, name: str, **labels) -> float | None:
    for sample in fams[name].samples:
        if sample.labels == labels:
            return sample.value
    return None


def test_collect_and_report_metrics_parse_with_the_prometheus_parser(day2_bin, tmp_path):
    textfile = tmp_path / "day2.prom"
    proc = run([day2_bin, "collect", "--replay", str(FIXTURE / "bundle"), "--out", str(tmp_path / "a.json"),
                "--metrics", str(textfile), "--quiet"])
    assert proc.returncode == 0, describe(proc)
    proc = run([day2_bin, "report", str(tmp_path / "a.json"), "--out-dir", str(tmp_path), "--metrics", str(textfile)])
    assert proc.returncode == 0, describe(proc)
    fams = families(textfile.read_text())
    for name in ["day2_runs", "day2_failed_runs", "day2_step_status", "day2_collect_duration_seconds",
                 "day2_last_success_timestamp_seconds", "day2_tick_failures", "day2_findings", "day2_actions"]:
        assert name in fams, f"{name} missing from {sorted(fams)}"
    for family in fams.values():
        assert family.type == "gauge", family
        for sample in family.samples:
            assert sample.timestamp is None, sample
            for label, val in sample.labels.items():
                if label in CLOSED:
                    assert val in CLOSED[label], (family.name, label, val)
    # The figures of the fixture's expected.json (written from its definitions): 6 failed runs.
    expected = json.loads((FIXTURE / "expected.json").read_text())
    assert value(fams, "day2_runs", status="failure") == len(expected["runs"])
    by_category: dict = {}
    for run_ in expected["runs"].values():
        key = (run_["category"], run_["rule"])
        by_category[key] = by_category.get(key, 0) + 1
    for (category, rule), count in by_category.items():
        assert value(fams, "day2_report_failed_runs", category=category, rule=rule) == count
    manifest = json.loads((FIXTURE / "bundle" / "manifest.json").read_text())
    assert value(fams, "day2_collect_success") == 1
    recorded_now = datetime.datetime.fromisoformat(manifest["now"].replace("Z", "+00:00")).timestamp()
    assert value(fams, "day2_last_success_timestamp_seconds") == pytest.approx(recorded_now)


class Gateway:
    """A Pushgateway stand-in on 127.0.0.1: records each request and answers `status`."""

    def __init__(self, status: int):
        self.requests: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append({"method": "PUT", "path": self.path, "headers": dict(self.headers),
                                       "body": body.decode()})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT  # noqa: N815 - recorded the same way, so a wrong method shows in the test

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Gateway":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_pushgateway_receives_the_documented_request(day2_bin, tmp_path):
    textfile = tmp_path / "day2.prom"
    config = tmp_path / "day2.config.json"
    config.write_text(json.dumps({"metrics": {"job": "day2-nightly", "instance": "acme/prod"}}))
    with Gateway(200) as gateway:
        proc = run([day2_bin, "collect", "--replay", str(FIXTURE / "bundle"), "--out", str(tmp_path / "a.json"),
                    "--config", str(config), "--metrics", str(textfile), "--pushgateway", gateway.url + "/", "--quiet"])
    assert proc.returncode == 0, describe(proc)
    assert len(gateway.requests) == 1, gateway.requests
    request = gateway.requests[0]
    assert request["method"] == "PUT"
    # "acme/prod" holds a "/": base64url with the @base64 suffix (Pushgateway README, "URL").
    assert request["path"] == "/metrics/job/day2-nightly/instance@base64/YWNtZS9wcm9k", request["path"]
    assert request["headers"]["Content-Type"].startswith("text/plain; version=0.0.4"), request["headers"]
    assert request["body"] == textfile.read_text()
    assert "day2_runs" in families(request["body"])


def test_a_failed_push_exits_1_and_keeps_the_textfile(day2_bin, tmp_path):
    textfile = tmp_path / "day2.prom"
    with Gateway(500) as gateway:
        proc = run([day2_bin, "collect", "--replay", str(FIXTURE / "bundle"), "--out", str(tmp_path / "a.json"),
                    "--metrics", str(textfile), "--pushgateway", gateway.url, "--quiet"])
    assert proc.returncode == 1, describe(proc)
    assert "--pushgateway: push to" in proc.stderr and "HTTP 500" in proc.stderr, proc.stderr
    assert "day2_runs" in families(textfile.read_text())
    assert (tmp_path / "a.json").exists()


def test_a_night_recorded_from_the_real_fixture_becomes_a_passing_scenario(day2_bin, expected, tmp_path):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    hours = f"{(time.time() - expected['started_at'] + 300) / 3600:.4f}"
    nights = tmp_path / "nights"
    proc = run([day2_bin, "collect", "--dagster-url", expected["url"], "--now", now, "--hours", hours,
                "--record-dir", str(nights), "--keep", "3", "--out", str(tmp_path / "live.json"), "--quiet"])
    assert proc.returncode == 0, describe(proc)
    dates = [p.name for p in (nights / "prod").iterdir()]
    assert len(dates) == 1 and not dates[0].startswith("."), dates
    night = nights / "prod" / dates[0]
    scenario = tmp_path / "scenarios" / "fixture-night"
    proc = run([day2_bin, "scenario", "add", str(night), str(scenario)])
    assert proc.returncode == 0, describe(proc)
    written = json.loads((scenario / "expected.json").read_text())
    assert "review" in written
    # The fixture's oracle (its definitions): every failed run with its category and rule.
    oracle = {r["runId"]: (r["expected_category"], r["expected_rule_id"]) for r in expected["runs"]
              if r["status"] == "FAILURE"}
    assert {run_id: (r["category"], r["rule"]) for run_id, r in written["runs"].items()} == oracle
    proc = run([day2_bin, "regress", str(tmp_path / "scenarios")])
    assert proc.returncode == 0, describe(proc)
    assert "1 passed" in proc.stdout and "needs review" in proc.stdout, proc.stdout


class Serve:
    """`day2 replay serve BUNDLE [ARGS]` on a free loopback port, killed on exit."""

    def __init__(self, day2: str, bundle: Path, *args: str):
        from day2_helpers import free_port
        import subprocess
        self.port = free_port()
        self.proc = subprocess.Popen([day2, "replay", "serve", str(bundle), "--port", str(self.port), *args],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self) -> "Serve":
        import socket
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        pytest.fail("day2 replay serve did not listen")

    def __exit__(self, *exc) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


def nights_of(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "prod").iterdir())


def test_keep_3_over_five_nights_keeps_the_newest_three(day2_bin, tmp_path):
    root = tmp_path / "nights"
    with Serve(day2_bin, FIXTURE / "bundle") as server:
        for day in ["03", "05", "02", "06", "04"]:
            # Only the 6th is the bundle's own night; the others' requests miss (their steps hold
            # errors, exit 1), but each night is recorded all the same.
            proc = run([day2_bin, "collect", "--dagster-url", f"http://127.0.0.1:{server.port}/graphql",
                        "--now", f"2026-12-{day}T17:22:30Z", "--hours", "2", "--record-dir", str(root), "--keep", "3",
                        "--out", str(tmp_path / "a.json"), "--quiet"])
            assert proc.returncode in (0, 1), describe(proc)
            assert (root / "prod" / f"2026-12-{day}" / "night.json").exists(), describe(proc)
    assert nights_of(root) == ["2026-12-04", "2026-12-05", "2026-12-06"]


def test_a_recording_killed_mid_night_leaves_the_older_nights_intact(day2_bin, tmp_path):
    import signal
    import subprocess
    root = tmp_path / "nights"
    with Serve(day2_bin, FIXTURE / "bundle") as server:
        url = f"http://127.0.0.1:{server.port}/graphql"
        for day in ["04", "05"]:
            proc = run([day2_bin, "collect", "--dagster-url", url, "--now", f"2026-12-{day}T17:22:30Z", "--hours", "2",
                        "--record-dir", str(root), "--out", str(tmp_path / "a.json"), "--quiet"])
            assert proc.returncode in (0, 1), describe(proc)
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    for delay in [0.3, 2.0, 4.0]:
        # A fresh server each time: a replay answers each recorded exchange once, and the killed
        # collection used some.
        with Serve(day2_bin, FIXTURE / "bundle", "--fault", "*=latency:3000") as slow:
            proc = subprocess.Popen([day2_bin, "collect", "--dagster-url", f"http://127.0.0.1:{slow.port}/graphql",
                                     "--now", "2026-12-06T17:22:30Z", "--hours", "2", "--record-dir", str(root),
                                     "--keep", "1", "--out", str(tmp_path / "b.json"), "--quiet"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL, "the collection ended before it was killed"
        after = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()
                 and not p.relative_to(root).parts[1].startswith(".")}
        assert after == before, "an older night changed"
        assert "2026-12-06" not in nights_of(root)
