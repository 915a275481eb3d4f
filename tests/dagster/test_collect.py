"""`day2 collect` against a real Dagster (the fixture started by fixture.py), checked against the
fixture's oracle <state>/expected.json. Run: pytest tests/dagster/test_collect.py --day2 PATH.

1. Against the healthy fixture: every step present, no step errors, every failed run found and
   classified as expected, counts, retries, ticks, load failures, queue, backfills, checks, degraded.
2. The webserver dies mid-collection (a second webserver behind a proxy that SIGKILLs it after a
   few requests): the artifact is still written, with per-step errors, and summarize exits 1.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from day2_helpers import describe, free_port, run_day2, stop_process_group

STEP_KEYS = [
    "step_01_failed_runs",
    "step_02_retries",
    "step_03_sensor_ticks",
    "step_04_freshness",
    "step_05_load_failures",
    "step_06_schedule_ticks",
    "step_07_agents",
    "step_08_agent_pod_churn",
    "step_09_daemons",
    "step_10_gke_events",
    "step_11_alerts",
    "step_12_error_groups",
    "step_13_oom_metrics",
    "step_14_queued_runs",
    "step_15_backfills",
    "step_16_asset_checks",
    "step_17_degraded_assets",
]
# Steps that need sources day2 does not query in these tests (GCP/GKE): always skipped here.
ALWAYS_SKIPPED = {"step_08_agent_pod_churn", "step_10_gke_events", "step_11_alerts",
                  "step_12_error_groups", "step_13_oom_metrics"}
# The normal payload keys of each step (the seed's artifact spec). step_03 is a map location -> ...
SHAPES = {
    "step_01_failed_runs": ["failureCount", "failures", "successCount", "canceledCount", "successRunIds"],
    "step_02_retries": ["retries"],
    "step_03_sensor_ticks": [],
    "step_04_freshness": ["flaggedAssets", "policyCount"],
    "step_05_load_failures": ["loadFailures"],
    "step_06_schedule_ticks": ["scheduleTickFailures"],
    "step_07_agents": ["agents", "agentCount"],
    "step_09_daemons": ["daemons", "allHealthy"],
    "step_14_queued_runs": ["runs", "stuckCount"],
    "step_15_backfills": ["requested", "failed"],
    "step_16_asset_checks": ["totalChecks", "failedCount", "inWindow_error", "inWindow_warn",
                             "stale_error", "stale_warn"],
    "step_17_degraded_assets": ["totalAssets", "degradedCount", "degraded", "byRun"],
}
FAILURE_FIELDS = ["runId", "jobName", "location", "status", "startTime", "endTime", "tags",
                  "runFailureMessage", "stepErrors", "engineEvents", "logsCapturedSteps",
                  "plannedMaterializations", "materializations", "category", "ruleId"]

WINDOW_MARGIN = 300  # seconds before the fixture's start covered by --hours
PROXY_KILL_AFTER = int(os.environ.get("DAY2_PROXY_KILL_AFTER", "3"))


# --- helpers -------------------------------------------------------------------------------------


def window_hours(expected: dict) -> str:
    return f"{(time.time() - expected['started_at'] + WINDOW_MARGIN) / 3600:.4f}"


def is_skipped(value) -> bool:
    return isinstance(value, dict) and value.get("skipped") is True and bool(value.get("reason"))


def check_normal_shape(key: str, value) -> None:
    assert isinstance(value, dict), f"{key} is not an object: {value!r:.300}"
    assert "error" not in value, f"{key} holds an error: {value['error']!r:.500}"
    if key in ALWAYS_SKIPPED:
        assert is_skipped(value), f"{key} should be {{skipped: true, reason}}: {value!r:.300}"
        return
    if key == "step_07_agents" and is_skipped(value):  # OSS has no agents
        return
    missing = [k for k in SHAPES[key] if k not in value]
    assert not missing, f"{key} lacks {missing}: {json.dumps(value)[:500]}"
    if key == "step_03_sensor_ticks":
        for loc, sensors in value.items():
            assert isinstance(sensors, dict), f"step_03[{loc}] is not an object"


def by_run_id(failures: list[dict]) -> dict[str, dict]:
    return {f.get("runId"): f for f in failures}


# --- test 1: healthy fixture ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def artifact(day2_bin, expected, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("collect") / "day2.json"
    proc = run_day2([day2_bin, "collect", "--dagster-url", expected["url"], "--hours", window_hours(expected),
                     "--out", str(out), "--quiet"])
    assert proc.returncode == 0, f"day2 collect failed: {describe(proc)}"
    assert out.exists(), f"day2 collect exited 0 but wrote no {out}"
    return json.loads(out.read_text()), out


def test_collect_all_steps_present_without_errors(artifact):
    doc, _ = artifact
    assert set(["window"] + STEP_KEYS) <= set(doc), f"missing keys: {set(['window'] + STEP_KEYS) - set(doc)}"
    for k in ("epoch", "utc_start", "utc_end"):
        assert k in doc["window"], f"window lacks {k}"
    for key in STEP_KEYS:
        check_normal_shape(key, doc[key])
    assert is_skipped(doc["step_07_agents"]), "step_07_agents must be skipped with a reason on OSS"


def test_failed_runs_classified(artifact, expected):
    step = artifact[0]["step_01_failed_runs"]
    failures = by_run_id(step["failures"])
    for run in expected["runs"]:
        if run["status"] != "FAILURE":
            assert run["runId"] not in failures, f"{run['job']} {run['runId']} ({run['status']}) listed as failed"
            continue
        got = failures.get(run["runId"])
        assert got is not None, f"failed run {run['runId']} ({run['job']}, {run['purpose']}) missing from step_01"
        missing = [k for k in FAILURE_FIELDS if k not in got]
        assert not missing, f"failure {run['runId']} lacks {missing}"
        assert got["category"] == run["expected_category"], (
            f"{run['job']} ({run['purpose']}): category {got['category']!r}, expected "
            f"{run['expected_category']!r}; ruleId {got.get('ruleId')!r}; "
            f"runFailureMessage {str(got.get('runFailureMessage'))[:300]!r}")
        if run["expected_rule_id"] is not None:
            assert got["ruleId"] == run["expected_rule_id"], f"{run['job']}: ruleId {got['ruleId']!r}"
        else:
            assert isinstance(got["ruleId"], str) and got["ruleId"], f"{run['job']}: empty ruleId"
        assert got["jobName"] == run["job"]
        assert got["location"] == expected["locations"]["ok"]


def graphql(expected: dict, query: str, variables: dict) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    req = urllib.request.Request(expected["url"], data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        answer = json.loads(resp.read())
    assert not answer.get("errors"), answer.get("errors")
    return answer["data"]


def test_captured_log_is_the_end_of_the_failing_steps_stderr(artifact, expected):
    """Each failed run's capturedLog holds the last lines (collect.captured_log_lines, 30) of what
    Dagster captured from its first failed step, asked here through another route: the top-level
    capturedLogs(logKey) query the UI's log viewer uses, with the file the step's last
    LogsCapturedEvent names."""
    failures = by_run_id(artifact[0]["step_01_failed_runs"]["failures"])
    checked = 0
    for run in expected["runs"]:
        if run["status"] != "FAILURE":
            continue
        events = graphql(expected, """query($id: ID!) { logsForRun(runId: $id, limit: 1000) {
            ... on EventConnection { events { __typename
              ... on ExecutionStepFailureEvent { stepKey }
              ... on LogsCapturedEvent { fileKey stepKeys } } } } }""", {"id": run["runId"]})["logsForRun"]["events"]
        failed = [e["stepKey"] for e in events if e["__typename"] == "ExecutionStepFailureEvent"]
        got = failures[run["runId"]].get("capturedLog")
        if not failed:
            assert got is None, f"{run['job']}: no failed step, yet {got!r:.300}"
            continue
        files = [e["fileKey"] for e in events
                 if e["__typename"] == "LogsCapturedEvent" and failed[0] in (e.get("stepKeys") or [])]
        if not files:  # a step that failed before its compute began (its resources failed): nothing captured
            assert got is None, f"{run['job']}: Dagster captured nothing for {failed[0]}, yet {got!r:.300}"
            continue
        logs = graphql(expected, "query($key: [String!]!) { capturedLogs(logKey: $key) { stdout stderr } }",
                       {"key": [run["runId"], "compute_logs", files[-1]]})["capturedLogs"]
        lines = (logs["stderr"] or "").split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        assert got is not None, f"{run['job']}: no capturedLog"
        assert got["stepKey"] == failed[0] and got["fileKey"] == files[-1], got
        assert got["stream"] == "stderr" and got["totalLines"] == len(lines), (got["totalLines"], len(lines))
        assert len(got["lines"]) == min(30, len(lines))
        for mine, theirs in zip(got["lines"], lines[-30:]):
            assert mine == theirs or (len(theirs.encode()) > 400 and mine.endswith("\u2026")
                                      and theirs.startswith(mine[:-1])), (mine, theirs)
        checked += 1
    assert checked >= 5, checked


def test_run_counts(artifact, expected):
    step = artifact[0]["step_01_failed_runs"]
    counts = expected["counts"]
    assert step["failureCount"] == counts["failure"], f"failureCount {step['failureCount']}, expected {counts}"
    assert step["successCount"] == counts["success"], f"successCount {step['successCount']}, expected {counts}"
    assert step["canceledCount"] == counts["canceled"], f"canceledCount {step['canceledCount']}, expected {counts}"
    assert len(step["failures"]) == counts["failure"]
    success_ids = {r["runId"] for r in expected["runs"] if r["status"] == "SUCCESS"}
    assert set(step["successRunIds"]) == success_ids


def test_retries(artifact, expected):
    retries = artifact[0]["step_02_retries"]["retries"]
    for want in expected["retries"]:
        match = [r for r in retries if r.get("parentRunId") == want["parentRunId"]
                 and r.get("retryRunId") == want["retryRunId"]]
        assert match, f"retry pair {want} not in step_02: {retries}"
        assert match[0].get("retryStatus") == "SUCCESS"


def test_sensor_ticks(artifact, expected):
    step = artifact[0]["step_03_sensor_ticks"]
    for full in expected["failed_sensors"]:
        loc, name = full.split("/", 1)
        assert loc in step, f"location {loc} missing from step_03: {list(step)}"
        entry = step[loc].get(name)
        assert entry, f"sensor {name} missing from step_03[{loc}]: {list(step[loc])}"
        assert entry["failureCount"] >= 1 and entry["ticks"], entry
        tick = entry["ticks"][0]
        assert isinstance(tick["tickId"], str) and tick["tickId"]
        assert isinstance(tick["timestamp"], (int, float))
        assert tick["error"], f"tick without error text: {tick}"
        assert "errorChainTop" in tick


def test_load_failures(artifact, expected):
    failures = artifact[0]["step_05_load_failures"]["loadFailures"]
    locations = {f.get("location") for f in failures}
    for loc in expected["failed_locations"]:
        assert loc in locations, f"{loc} not in step_05 loadFailures: {failures}"
    assert expected["locations"]["ok"] not in locations


def test_schedule_ticks(artifact, expected):
    step = artifact[0]["step_06_schedule_ticks"]["scheduleTickFailures"]
    for full in expected["failed_schedules"]:
        assert step.get(full), f"{full} not in step_06 scheduleTickFailures: {list(step)}"


def test_queued_runs(artifact, expected):
    runs = artifact[0]["step_14_queued_runs"]["runs"]
    ids = {r.get("runId") for r in runs}
    for rid in expected["queued_run_ids"]:
        assert rid in ids, f"held run {rid} not in step_14: {sorted(ids)}"


def test_backfills(artifact, expected):
    failed = artifact[0]["step_15_backfills"]["failed"]
    ids = {b.get("id") for b in failed}
    for bid in expected["failed_backfill_ids"]:
        assert bid in ids, f"failed backfill {bid} ({expected.get('backfill_status')}) not in step_15: {failed}"


def test_asset_checks(artifact, expected):
    step = artifact[0]["step_16_asset_checks"]

    def find(bucket: str, asset: str, check: str) -> dict:
        hits = [e for e in step[bucket] if e.get("asset") == asset and e.get("check") == check]
        assert hits, f"{asset}:{check} not in step_16.{bucket}: {json.dumps(step[bucket])[:800]}"
        return hits[0]

    for want in expected["asset_checks"]["inWindow_error"]:
        got = find("inWindow_error", want["asset"], want["check"])
        assert got["status"] == want["status"], got
        if want["status"] == "FAILED":
            assert got["severity"] == "ERROR", got
    for want in expected["asset_checks"]["inWindow_warn"]:
        got = find("inWindow_warn", want["asset"], want["check"])
        assert got["status"] == want["status"] and got["severity"] == "WARN", got
        meta = got.get("metadata")
        if isinstance(meta, dict):
            assert meta.get("extras") == want["metadata"]["extras"], f"metadata {meta}"
        else:
            assert want["metadata"]["extras"] in json.dumps(meta), f"metadata {meta!r} lacks the extras"
    assert step["failedCount"] >= len(expected["asset_checks"]["inWindow_error"]) + len(
        expected["asset_checks"]["inWindow_warn"])


def run_of(expected: dict, purpose: str) -> str:
    return next(r["runId"] for r in expected["runs"] if r["purpose"] == purpose)


def test_degraded_assets(artifact, expected):
    step = artifact[0]["step_17_degraded_assets"]
    assets = {d.get("asset"): d for d in step["degraded"]}
    for asset, purpose in expected["degraded_assets"].items():
        assert asset in assets, f"{asset} not degraded in step_17: {sorted(assets)}"
        assert assets[asset].get("latestRunId") == run_of(expected, purpose), (asset, assets[asset])
        assert "latestRunEndTime" in assets[asset]
        assert any(run_of(expected, purpose) == b.get("runId") for b in step["byRun"]), step["byRun"]
    assert step["degradedCount"] == len(step["degraded"])


# --- the precision cases (a multi-asset that fails half-way, a resource that cannot initialize, a
# socket timeout, a location with a SyntaxError), each checked against Dagster's own answers ---


@pytest.fixture(scope="module")
def report(day2_bin, artifact, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report")
    proc = run_day2([day2_bin, "report", str(artifact[1]), "--out-dir", str(out)], timeout=120)
    assert proc.returncode == 0, f"day2 report: {describe(proc)}"
    (md,) = list(out.glob("*.md"))
    return md.read_text()


def run_events(expected: dict, run_id: str) -> list[dict]:
    return graphql(expected, """query($id: ID!) { logsForRun(runId: $id, limit: 1000) {
        ... on EventConnection { events { __typename
          ... on MessageEvent { message stepKey }
          ... on MaterializationEvent { assetKey { path } }
          ... on AssetMaterializationPlannedEvent { assetKey { path } }
          ... on ExecutionStepFailureEvent { errorSource error { className message
            errorChain { error { className message } } } }
          ... on ResourceInitFailureEvent { error { className message } } } } } }""",
                   {"id": run_id})["logsForRun"]["events"]


def asset_keys(events: list[dict], typename: str) -> list[str]:
    return sorted("/".join(e["assetKey"]["path"]) for e in events if e["__typename"] == typename)


def test_a_multi_asset_that_failed_half_way_fails_only_its_missing_asset(artifact, expected, report):
    want = expected["partial_multi_asset"]
    run_id = run_of(expected, "partial_multi_asset")
    events = run_events(expected, run_id)
    # Dagster's own account: one asset materialized, both planned, the step failed.
    assert asset_keys(events, "MaterializationEvent") == want["materialized"]
    assert asset_keys(events, "AssetMaterializationPlannedEvent") == sorted(want["materialized"] + want["failed"])
    assert [e["stepKey"] for e in events if e["__typename"] == "ExecutionStepFailureEvent"] == [want["step"]]
    failure = by_run_id(artifact[0]["step_01_failed_runs"]["failures"])[run_id]
    assert sorted(failure["materializations"]) == want["materialized"], failure["materializations"]
    assert sorted(failure["plannedMaterializations"]) == sorted(want["materialized"] + want["failed"])
    by_run = {b["runId"]: b for b in artifact[0]["step_17_degraded_assets"]["byRun"]}
    assert sorted(by_run[run_id]["assets"]) == want["failed"], by_run[run_id]
    # The report blames the run for the asset it did not materialize, never for the one it did.
    lines = [line for line in report.splitlines() if f"run `{run_id[:8]}`" in line and "asset(s)" in line]
    assert lines, f"no degraded-asset line for run {run_id[:8]} in the report"
    for line in lines:
        assert all(a in line for a in want["failed"]) and not any(a in line for a in want["materialized"]), line


def test_a_resource_that_fails_to_initialize_is_named_once(artifact, expected, report):
    run_id = run_of(expected, "resource_init_failure")
    events = run_events(expected, run_id)
    inits = [e for e in events if e["__typename"] == "ResourceInitFailureEvent"]
    assert inits and inits[0]["error"]["className"] == "PermissionError", inits
    steps = [e for e in events if e["__typename"] == "ExecutionStepFailureEvent"]
    assert steps and steps[0]["errorSource"] == "FRAMEWORK_ERROR", steps
    failure = by_run_id(artifact[0]["step_01_failed_runs"]["failures"])[run_id]
    assert any(e["eventType"] == "ResourceInitFailureEvent" for e in failure["stepErrors"]), failure["stepErrors"]
    section = report[report.index(f"run [`{run_id}`]"):]
    section = section[:section.index("\n- [") if "\n- [" in section else len(section)]
    assert "PermissionError: day2 fixture: cannot read" in section, section[:800]
    assert "PermissionError: PermissionError" not in report


def test_a_socket_timeout_is_what_dagster_says_it_is(expected):
    run_id = run_of(expected, "socket_timeout")
    steps = [e for e in run_events(expected, run_id) if e["__typename"] == "ExecutionStepFailureEvent"]
    chain = [link["error"] for link in steps[0]["error"]["errorChain"]]
    assert [(c["className"], c["message"].strip()) for c in chain] == [("TimeoutError", "TimeoutError: timed out")], chain


def test_a_syntax_error_location_shows_the_exception_line_and_where(artifact, expected, report):
    want = expected["syntax_error"]
    shown = f"{want['exception']} ({want['file']}, line {want['line']})"
    entries = graphql(expected, """{ workspaceOrError { ... on Workspace { locationEntries { name
        locationOrLoadError { ... on PythonError { message errorChain { error { message } } } } } } } }""",
                      {})["workspaceOrError"]["locationEntries"]
    error = next(e for e in entries if e["name"] == want["location"])["locationOrLoadError"]
    texts = [error["message"]] + [link["error"]["message"] for link in error["errorChain"]]
    # Dagster's own chain ends in Python's SyntaxError text: the location line first, then the exception.
    assert any(t.lstrip().startswith(f'File "') and f"line {want['line']}" in t and want["exception"] in t
               for t in texts), texts
    failures = {f["location"]: f for f in artifact[0]["step_05_load_failures"]["loadFailures"]}
    assert failures[want["location"]]["errorChainTop"] == shown, failures[want["location"]]
    load_lines = [line for line in report.splitlines() if f"`{want['location']}` failed to load" in line]
    assert load_lines, f"no load failure of {want['location']} in the report"
    for line in load_lines:
        assert shown in line and 'File "' not in line, line


def test_summarize_ok(artifact, day2_bin):
    _, path = artifact
    proc = run_day2([day2_bin, "summarize", str(path)], timeout=60)
    assert proc.returncode == 0, f"day2 summarize on a clean artifact: {describe(proc)}"


# --- test 2: webserver killed mid-collection -----------------------------------------------------


class KillingProxy:
    """HTTP/1.1 proxy on 127.0.0.1 that forwards the first `kill_after` requests to the upstream
    webserver, then SIGKILLs the upstream's process group and stops accepting: later requests see
    connection refused (new connections) or a closed connection (kept-alive ones)."""

    def __init__(self, upstream_port: int, upstream_pgid: int, kill_after: int):
        self.upstream_port = upstream_port
        self.upstream_pgid = upstream_pgid
        self.kill_after = kill_after
        self.count = 0
        self.lock = threading.Lock()
        self.killed = threading.Event()
        self.stopped = threading.Event()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True)

    def __enter__(self):
        self.acceptor.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.acceptor.join(timeout=5)
        for t in self.threads:
            t.join(timeout=5)

    def kill_upstream(self) -> None:
        if self.killed.is_set():
            return
        self.killed.set()
        try:
            os.killpg(self.upstream_pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _accept_loop(self) -> None:
        try:
            while not self.stopped.is_set() and not self.killed.is_set():
                try:
                    conn, _ = self.listener.accept()
                except socket.timeout:
                    continue
                except OSError:
                    break
                t = threading.Thread(target=self._handle, args=(conn,), daemon=True)
                self.threads.append(t)
                t.start()
        finally:
            self.listener.close()  # stop accepting: new connections are refused

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        reader = conn.makefile("rb")
        try:
            while not self.stopped.is_set():
                line = reader.readline(65537)
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    continue
                method, target, _version = line.decode("latin-1").split(None, 2)
                headers: list[tuple[str, str]] = []
                while True:
                    h = reader.readline(65537)
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, v = h.decode("latin-1").split(":", 1)
                    headers.append((k.strip(), v.strip()))
                hmap = {k.lower(): v for k, v in headers}
                body = reader.read(int(hmap.get("content-length", "0") or 0))
                with self.lock:
                    self.count += 1
                    n = self.count
                if n > self.kill_after or self.killed.is_set():
                    return  # drop the connection without an answer
                up = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
                try:
                    fwd = {k: v for k, v in headers
                           if k.lower() not in ("connection", "keep-alive", "proxy-connection", "content-length")}
                    up.request(method, target, body=body, headers=fwd)
                    resp = up.getresponse()
                    data = resp.read()
                    status, reason, rheaders = resp.status, resp.reason, resp.getheaders()
                finally:
                    up.close()
                head = [f"HTTP/1.1 {status} {reason}"]
                head += [f"{k}: {v}" for k, v in rheaders
                         if k.lower() not in ("transfer-encoding", "content-length", "connection", "keep-alive")]
                head += [f"Content-Length: {len(data)}", "Connection: keep-alive", "", ""]
                conn.sendall("\r\n".join(head).encode("latin-1") + data)
                if n >= self.kill_after:
                    self.kill_upstream()
                    return
                if hmap.get("connection", "").lower() == "close":
                    return
        except (OSError, ValueError, http.client.HTTPException):
            return
        finally:
            try:
                reader.close()
                conn.close()
            except OSError:
                pass


def start_second_webserver(expected: dict, log_path: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = dict(os.environ, DAGSTER_HOME=expected["dagster_home"], PYTHONUNBUFFERED="1")
    exe = Path(sys.executable).parent / "dagster-webserver"
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(
            [str(exe), "-h", "127.0.0.1", "-p", str(port), "-w", expected["workspace"]],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, env=env,
            cwd=str(Path(expected["workspace"]).parent), start_new_session=True)
    return proc, port


def wait_webserver(port: int, proc: subprocess.Popen, log_path: Path, timeout: float = 90) -> None:
    query = ('{ workspaceOrError { ... on Workspace { locationEntries { name '
             'locationOrLoadError { __typename } } } } }')
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"second webserver exited:\n{log_path.read_text()[-3000:]}")
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                         data=json.dumps({"query": query}).encode(),
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                entries = json.loads(resp.read())["data"]["workspaceOrError"]["locationEntries"]
            if entries and all(e["locationOrLoadError"] for e in entries):
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    pytest.fail(f"second webserver not ready after {timeout}s:\n{log_path.read_text()[-3000:]}")


def test_webserver_killed_mid_collection(day2_bin, expected, tmp_path):
    log_path = tmp_path / "webserver2.log"
    webserver, port = start_second_webserver(expected, log_path)
    try:
        wait_webserver(port, webserver, log_path)
        out = tmp_path / "day2.json"
        with KillingProxy(port, webserver.pid, PROXY_KILL_AFTER) as proxy:
            proc = run_day2([day2_bin, "collect", "--dagster-url", f"http://127.0.0.1:{proxy.port}/graphql",
                             "--hours", window_hours(expected), "--retries", "1", "--timeout", "5",
                             "--out", str(out), "--quiet"])
            assert proxy.killed.is_set(), f"day2 sent only {proxy.count} requests; the proxy never killed"
    finally:
        stop_process_group(webserver)

    assert out.exists(), f"no artifact after the webserver died: {describe(proc)}"
    doc = json.loads(out.read_text())
    assert proc.returncode == 1, f"collect with step errors should exit 1: {describe(proc)}"
    missing = [k for k in ["window"] + STEP_KEYS if k not in doc]
    assert not missing, f"missing keys {missing}"
    errored = []
    for key in STEP_KEYS:
        value = doc[key]
        if isinstance(value, dict) and "error" in value:
            assert isinstance(value["error"], str) and value["error"].strip(), f"{key}: empty error"
            errored.append(key)
        else:
            check_normal_shape(key, value)
    assert errored, "the webserver died during collection but no step holds an error"

    summ = run_day2([day2_bin, "summarize", str(out)], timeout=60)
    assert summ.returncode == 1, f"summarize must flag step errors ({errored}): {describe(summ)}"
