#!/usr/bin/env python3
"""Real-Dagster fixture for day2's tests: start / stop / status.

  fixture.py start   start dagster-webserver + dagster-daemon on 127.0.0.1 with a fresh
                     DAGSTER_HOME, launch the failure scenario through GraphQL, wait until it
                     settles and write <state>/expected.json (the oracle for test_collect.py).
                     Idempotent: if a healthy fixture is already recorded, print its URL, exit 0.
  fixture.py stop    terminate both process groups (SIGTERM, bounded wait, SIGKILL); exit 0.
  fixture.py status  print the recorded fixture and whether it is healthy (exit 0 healthy, 1 not).

State dir: $DAY2_FIXTURE_DIR (default /tmp/day2-dagster-fixture). Only the standard library is
used here; dagster itself comes from the venv this script runs in (sys.executable's bin dir).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE_DIR = Path(os.environ.get("DAY2_FIXTURE_DIR", "/tmp/day2-dagster-fixture"))
BIN_DIR = Path(sys.executable).parent  # venv bin dir; do not resolve() (venv python is a symlink)

LOCATION = "day2_fixture"
BROKEN_LOCATION = "day2_broken"
SYNTAX_LOCATION = "day2_syntax"  # syntax_error_location.py: not valid Python
REPOSITORY = "__repository__"
HOLD_TAG = "day2/hold"

READY_TIMEOUT = 90  # webserver answering + workspace loaded
SETTLE_TIMEOUT = 240  # scenario settled
STOP_GRACE = 15

# Expected classification per failure purpose. The rule ids are being written elsewhere
# (analyzer/rules/default.rules.json); fill them in here once they exist. null = "any non-empty".
EXPECTED = {
    "code_error": {"category": "Code error", "rule_id": "user-code-error"},
    "connection_refused": {"category": "Connection failure", "rule_id": "connection-error-class"},
    "max_runtime": {"category": "Infra timeout", "rule_id": "max-runtime-exceeded"},
    "retried_first_attempt": {"category": "Code error", "rule_id": "user-code-error"},
    "crashing_check": {"category": "Code error", "rule_id": "user-code-error"},
    "backfill_partition": {"category": "Code error", "rule_id": "user-code-error"},
    "partial_multi_asset": {"category": "Code error", "rule_id": "user-code-error"},
    "socket_timeout": {"category": "Connection failure", "rule_id": "socket-timeout"},
    "resource_init_failure": {"category": "Code error", "rule_id": "resource-init-failure"},
}

# What the scenario launches: (purpose, job, extra tags). Backfill runs are added by the daemon.
LAUNCHES = [
    ("success", "ok_job", {}),
    ("success", "ok_job", {}),
    ("freshness_materialization", "freshness_job", {}),
    ("failing_checks", "checks_job", {}),
    ("code_error", "code_error_job", {}),
    ("connection_refused", "connection_job", {}),
    ("crashing_check", "crashing_check_job", {}),
    ("max_runtime", "slow_job", {}),
    ("retried_first_attempt", "flaky_job", {}),
    ("partial_multi_asset", "ledger_job", {}),
    ("socket_timeout", "socket_timeout_job", {}),
    ("resource_init_failure", "resource_init_job", {}),
    ("canceled", "cancel_job", {}),
    ("held_in_queue", "held_job", {}),
    ("held_in_queue", "held_job", {}),
]
BACKFILL_ASSET = ["day2", "partitioned_events"]
BACKFILL_PARTITIONS = ["p1", "p2", "p3"]
FAILING_PARTITION = "p2"

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
MARKER = ".day2-fixture"
LOCK_TIMEOUT = 600  # another start/stop holding the lock (e.g. the second build's ctest)

DAGSTER_YAML = """\
# Written by tests/dagster/fixture.py. Local instance, everything under this DAGSTER_HOME.
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
concurrency:
  runs:
    max_concurrent_runs: 8
    tag_concurrency_limits:
      - key: "day2/hold"
        limit: 0
run_monitoring:
  enabled: true
  poll_interval_seconds: 2
  start_timeout_seconds: 120
  cancel_timeout_seconds: 60
run_retries:
  enabled: true
  max_retries: 0
freshness:
  enabled: true
"""


def log(msg: str) -> None:
    print(f"[fixture {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- GraphQL -------------------------------------------------------------------------------------


class GraphQLError(Exception):
    pass


def gql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        doc = json.loads(resp.read())
    if doc.get("errors"):
        raise GraphQLError(json.dumps(doc["errors"])[:2000])
    return doc["data"]


Q_WORKSPACE = """
query { workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""

M_LAUNCH = """
mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId status } }
  ... on PythonError { message stack } ... on RunConfigValidationInvalid { errors { message } }
  ... on Error { message } } }"""

M_BACKFILL = """
mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message stack }
  ... on Error { message } } }"""

M_TERMINATE = """
mutation($id: String!) { terminateRun(runId: $id) { __typename
  ... on TerminateRunFailure { message } ... on PythonError { message } } }"""

Q_RUNS = """
query { runsOrError(limit: 500) { __typename ... on Runs { results { runId jobName status
  parentRunId rootRunId startTime endTime tags { key value } } } ... on PythonError { message } } }"""

Q_TICKS = """
query { workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError {
  __typename ... on RepositoryLocation { repositories { name
    sensors { name sensorState { ticks(statuses: [FAILURE], limit: 5) { tickId timestamp } } }
    schedules { name scheduleState { ticks(statuses: [FAILURE], limit: 5) { tickId timestamp } } }
  } } } } } } }"""

Q_BACKFILL = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename
  ... on PartitionBackfill { id status numCancelable } ... on PythonError { message } } }"""

Q_CHECKS = """
query($k: AssetKeyInput!, $c: String!) { assetCheckExecutions(assetKey: $k, checkName: $c, limit: 1) {
  id runId status evaluation { severity success } } }"""

CHECKS = [  # (asset path, check name, expected status, expected severity)
    (["warehouse", "orders"], "orders_not_empty", "FAILED", "ERROR"),
    (["warehouse", "orders"], "avro_schema_valid", "FAILED", "WARN"),
    (["warehouse", "customers"], "customers_check_crashes", "EXECUTION_FAILED", None),
]
# Degraded asset -> the purpose of the run that failed it (never materialized, latest run failed).
DEGRADED_ASSETS = {"day2/broken_asset": "code_error", "day2/ledger_totals": "partial_multi_asset"}
# The multi-asset step of ledger_job: what it materialized before raising, and what it did not.
PARTIAL_MULTI_ASSET = {"step": "ledger", "materialized": ["day2/ledger_balances"], "failed": ["day2/ledger_totals"]}


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as dead
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def is_ours(pid: int, state: dict) -> bool:
    """The recorded pid still runs our webserver/daemon (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return state.get("workspace", "\0") in cmdline and pid_alive(pid)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def spawn(cmd: list[str], log_path: Path, env: dict, cwd: Path) -> int:
    import subprocess

    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,  # own process group (pgid == pid)
        )
    return proc.pid


def kill_group(pgid: int, name: str) -> None:
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    except PermissionError:
        log(f"cannot signal {name} (pgid {pgid}): permission denied")
        return
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            break
        try:  # reap if it is our child (not the case across invocations)
            os.waitpid(-pgid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not pid_alive(pgid):
            # leader gone; give the rest of the group a moment, then stop waiting on it
            time.sleep(0.5)
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
        time.sleep(0.3)
    else:
        log(f"{name} (pgid {pgid}) did not stop in {STOP_GRACE}s: SIGKILL")
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def read_state() -> dict | None:
    try:
        return json.loads((STATE_DIR / "fixture.json").read_text())
    except (OSError, ValueError):
        return None


def write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


def healthy(state: dict | None) -> bool:
    if not state:
        return False
    if not all(state.get(k) and is_ours(state[k], state) for k in ("webserver_pid", "daemon_pid")):
        return False
    if not (STATE_DIR / "expected.json").exists():
        return False
    try:
        return bool(gql(state["url"], "{ version }", timeout=10).get("version"))
    except Exception:
        return False


def fixture_env(home: Path) -> dict:
    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(home)
    env["FRESHNESS_DAEMON_INTERVAL_SECONDS"] = "5"
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    return env


def write_workspace(path: Path) -> None:
    path.write_text(
        "# Written by tests/dagster/fixture.py\n"
        "load_from:\n"
        f"  - python_file:\n"
        f"      relative_path: {HERE / 'definitions.py'}\n"
        f"      working_directory: {HERE}\n"
        f"      location_name: {LOCATION}\n"
        f"  - python_file:\n"
        f"      relative_path: {HERE / 'broken_location.py'}\n"
        f"      working_directory: {HERE}\n"
        f"      location_name: {BROKEN_LOCATION}\n"
        f"  - python_file:\n"
        f"      relative_path: {HERE / 'syntax_error_location.py'}\n"
        f"      working_directory: {HERE}\n"
        f"      location_name: {SYNTAX_LOCATION}\n"
    )


def start_webserver(home: Path, workspace: Path, port: int, log_path: Path) -> int:
    return spawn(
        [str(BIN_DIR / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", str(workspace)],
        log_path,
        fixture_env(home),
        home.parent,
    )


def wait_ready(url: str, pids: dict[str, int], logs: dict[str, Path], timeout: float) -> None:
    """Webserver answers and the workspace has loaded (fixture LOADED, broken location failed)."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        for name, pid in pids.items():
            if not pid_alive(pid):
                raise RuntimeError(f"{name} exited during startup\n--- {logs[name]} ---\n{tail(logs[name])}")
        try:
            data = gql(url, Q_WORKSPACE, timeout=10)
            entries = {e["name"]: e for e in data["workspaceOrError"].get("locationEntries", [])}
            ok = entries.get(LOCATION, {}).get("locationOrLoadError") or {}
            bad = [entries.get(name, {}).get("locationOrLoadError") or {} for name in (BROKEN_LOCATION, SYNTAX_LOCATION)]
            if ok.get("__typename") == "RepositoryLocation" and all(b.get("__typename") == "PythonError" for b in bad):
                return
            if ok.get("__typename") == "PythonError":
                raise RuntimeError(f"code location {LOCATION} failed to load: {ok.get('message')}")
            last = f"workspace not loaded yet: {json.dumps(entries)[:300]}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, GraphQLError, OSError) as e:
            last = f"{type(e).__name__}: {e}"
        time.sleep(1)
    msg = [f"fixture not ready after {timeout:.0f}s ({last})"]
    for name, path in logs.items():
        msg.append(f"--- tail of {path} ---\n{tail(path)}")
    raise RuntimeError("\n".join(msg))


def wait_daemon(url: str, timeout: float) -> None:
    q = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            st = gql(url, q)["instance"]["daemonHealth"]["allDaemonStatuses"]
            if st and all(d["healthy"] for d in st):
                return
        except Exception:
            pass
        time.sleep(1)
    raise RuntimeError(f"daemons not healthy after {timeout:.0f}s")


# --- scenario ------------------------------------------------------------------------------------


def launch(url: str, job: str, tags: dict) -> str:
    params = {
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": job},
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }
    res = gql(url, M_LAUNCH, {"p": params})["launchRun"]
    if res["__typename"] != "LaunchRunSuccess":
        raise RuntimeError(f"launching {job} failed: {json.dumps(res)[:1500]}")
    return res["run"]["runId"]


def launch_backfill(url: str) -> str:
    params = {
        "assetSelection": [{"path": BACKFILL_ASSET}],
        "partitionNames": BACKFILL_PARTITIONS,
        "fromFailure": False,
        "title": "day2 fixture backfill",
    }
    res = gql(url, M_BACKFILL, {"p": params})["launchPartitionBackfill"]
    if res["__typename"] != "LaunchBackfillSuccess":
        raise RuntimeError(f"launching the backfill failed: {json.dumps(res)[:1500]}")
    return res["backfillId"]


def all_runs(url: str) -> list[dict]:
    res = gql(url, Q_RUNS)["runsOrError"]
    if res["__typename"] != "Runs":
        raise RuntimeError(f"runsOrError: {res}")
    for r in res["results"]:
        r["tagmap"] = {t["key"]: t["value"] for t in r["tags"]}
    return res["results"]


def failed_instigators(url: str) -> tuple[list[str], list[str]]:
    sensors, schedules = [], []
    for e in gql(url, Q_TICKS)["workspaceOrError"]["locationEntries"]:
        loc = e["locationOrLoadError"] or {}
        if loc.get("__typename") != "RepositoryLocation":
            continue
        for repo in loc["repositories"]:
            for s in repo["sensors"]:
                if s["sensorState"]["ticks"]:
                    sensors.append(f"{e['name']}/{s['name']}")
            for s in repo["schedules"]:
                if s["scheduleState"]["ticks"]:
                    schedules.append(f"{e['name']}/{s['name']}")
    return sensors, schedules


def settle(url: str, launched: dict[str, str], backfill_id: str, started_at: float) -> dict:
    """Poll until the scenario is complete; terminate the cancel run once it is started."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    cancel_id = next(r for r, p in launched.items() if p == "canceled")
    canceled_sent = False
    last_report = 0.0
    pending: list[str] = ["(not polled yet)"]
    while time.monotonic() < deadline:
        runs = all_runs(url)
        by_id = {r["runId"]: r for r in runs}
        pending = []

        cr = by_id.get(cancel_id)
        if cr and not canceled_sent and cr["status"] == "STARTED":
            res = gql(url, M_TERMINATE, {"id": cancel_id})["terminateRun"]
            log(f"terminate {cancel_id[:8]} (cancel_job): {res['__typename']}")
            canceled_sent = res["__typename"] == "TerminateRunSuccess"
        if not canceled_sent:
            pending.append("cancel_job not started yet")

        for r in runs:
            if r["tagmap"].get(HOLD_TAG) == "true":
                if r["status"] != "QUEUED":
                    raise RuntimeError(f"held run {r['runId']} left the queue: {r['status']}")
                continue
            if r["status"] not in TERMINAL:
                pending.append(f"{r['jobName']} {r['runId'][:8]} {r['status']}")

        flaky = [r for r in runs if r["jobName"] == "flaky_job"]
        first = [r for r in flaky if not r["parentRunId"]]
        retry = [r for r in flaky if r["parentRunId"]]
        if not (first and first[0]["status"] == "FAILURE" and retry and retry[0]["status"] == "SUCCESS"):
            pending.append("flaky_job retry not done")

        bf = gql(url, Q_BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        if bf.get("status") in (None, "REQUESTED", "CANCELING", "FAILING"):
            pending.append(f"backfill {bf.get('status')}")
        elif not any(r["tagmap"].get("dagster/backfill") == backfill_id for r in runs):
            pending.append("backfill has no runs yet")

        sensors, schedules = failed_instigators(url)
        if not sensors:
            pending.append("no failed sensor tick yet")
        if not schedules:
            pending.append("no failed schedule tick yet (cron: every minute)")

        for path, name, status, _sev in CHECKS:
            ex = gql(url, Q_CHECKS, {"k": {"path": path}, "c": name})["assetCheckExecutions"]
            if not ex or ex[0]["status"] != status:
                pending.append(f"check {name} {ex[0]['status'] if ex else 'not run'}")

        if not pending:
            return {"runs": runs, "backfill": bf, "sensors": sensors, "schedules": schedules}
        if time.monotonic() - last_report > 10:
            log(f"waiting ({time.time() - started_at:.0f}s): " + "; ".join(pending))
            last_report = time.monotonic()
        time.sleep(2)
    raise RuntimeError(f"scenario did not settle within {SETTLE_TIMEOUT}s; still pending: {pending}")


def purpose_of(run: dict, launched: dict[str, str], backfill_id: str) -> str:
    if run["runId"] in launched:
        return launched[run["runId"]]
    if run["tagmap"].get("dagster/backfill") == backfill_id:
        part = run["tagmap"].get("dagster/partition")
        return "backfill_partition" if part == FAILING_PARTITION else "backfill_success"
    if run["jobName"] == "flaky_job" and run["parentRunId"]:
        return "retry_success"
    return "other"


def build_expected(url: str, started_at: float, launched: dict[str, str], backfill_id: str, settled: dict) -> dict:
    runs_out = []
    counts = {"success": 0, "failure": 0, "canceled": 0}
    queued = []
    for r in sorted(settled["runs"], key=lambda r: r["startTime"] or 0):
        purpose = purpose_of(r, launched, backfill_id)
        status = r["status"]
        if status == "QUEUED":
            queued.append(r["runId"])
        elif status in TERMINAL:
            counts[status.lower()] += 1
        exp = EXPECTED.get(purpose) if status == "FAILURE" else None
        if status == "FAILURE" and exp is None:
            raise RuntimeError(f"unexpected failed run {r['runId']} ({r['jobName']}, purpose {purpose})")
        runs_out.append({
            "runId": r["runId"],
            "job": r["jobName"],
            "status": status,
            "expected_category": exp["category"] if exp else None,
            "expected_rule_id": exp["rule_id"] if exp else None,
            "purpose": purpose,
            "parentRunId": r["parentRunId"],
            "tags": r["tagmap"],
        })
    flaky_first = next(r for r in settled["runs"] if r["jobName"] == "flaky_job" and not r["parentRunId"])
    flaky_retry = next(r for r in settled["runs"] if r["jobName"] == "flaky_job" and r["parentRunId"])
    return {
        "url": url,
        "started_at": started_at,
        "settled_at": time.time(),
        "dagster_home": str(STATE_DIR / "home"),
        "workspace": str(STATE_DIR / "workspace.yaml"),
        "locations": {"ok": LOCATION, "broken": BROKEN_LOCATION},
        "runs": runs_out,
        "counts": counts,
        "queued_run_ids": queued,
        "retries": [{"parentRunId": flaky_first["runId"], "retryRunId": flaky_retry["runId"], "retryStatus": flaky_retry["status"]}],
        "failed_sensors": settled["sensors"],
        "failed_schedules": settled["schedules"],
        "failed_locations": [BROKEN_LOCATION, SYNTAX_LOCATION],
        "syntax_error": syntax_error(),
        "partial_multi_asset": PARTIAL_MULTI_ASSET,
        "failed_backfill_ids": [backfill_id],
        "backfill_status": settled["backfill"]["status"],
        "asset_checks": {
            "inWindow_error": [
                {"asset": "/".join(p), "check": c, "status": st}
                for p, c, st, sev in CHECKS if sev in ("ERROR", None)
            ],
            "inWindow_warn": [
                {"asset": "/".join(p), "check": c, "status": st, "metadata": {"extras": "a,b"}}
                for p, c, st, sev in CHECKS if sev == "WARN"
            ],
        },
        "degraded_assets": DEGRADED_ASSETS,
        "freshness": {"new_policy": ["day2/fresh_report"], "legacy_policy": ["day2/legacy_report"]},
    }


def syntax_error() -> dict:
    """What Python itself says of syntax_error_location.py: the location, the exception line and
    where it is (file name and line), the oracle for the load failure day2 shows."""
    path = HERE / "syntax_error_location.py"
    try:
        compile(path.read_text(), str(path), "exec")
    except SyntaxError as e:
        return {"location": SYNTAX_LOCATION, "exception": f"SyntaxError: {e.msg}", "file": path.name, "line": e.lineno}
    raise RuntimeError(f"{path} compiles: it must not")


# --- commands ------------------------------------------------------------------------------------


def cmd_start() -> int:
    t0 = time.time()
    state = read_state()
    if healthy(state):
        log(f"already running and healthy: {state['url']}")
        print(state["url"])
        return 0
    if state:
        log("recorded fixture is not healthy: stopping it and starting fresh")
        cmd_stop()
    if STATE_DIR.exists() and any(STATE_DIR.iterdir()) and not (STATE_DIR / MARKER).exists():
        log(f"{STATE_DIR} is not empty and was not created by this script: refusing to wipe it")
        return 1
    if STATE_DIR.exists():
        shutil.rmtree(STATE_DIR)
    home = STATE_DIR / "home"
    home.mkdir(parents=True)
    (STATE_DIR / MARKER).write_text("state dir of tests/dagster/fixture.py; wiped on restart\n")
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    workspace = STATE_DIR / "workspace.yaml"
    write_workspace(workspace)

    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    logs = {"webserver": STATE_DIR / "webserver.log", "daemon": STATE_DIR / "daemon.log"}
    started_at = time.time()
    # The webserver first, alone: on a fresh DAGSTER_HOME the first process creates the SQLite
    # storages, and two processes doing it at once race ("table alembic_version already exists").
    web_pid = start_webserver(home, workspace, port, logs["webserver"])
    state = {
        "url": url, "port": port, "webserver_pid": web_pid, "daemon_pid": None,
        "dagster_home": str(home), "workspace": str(workspace), "started_at": started_at,
    }
    write_json(STATE_DIR / "fixture.json", state)
    log(f"webserver pid {web_pid} on {url}; logs in {STATE_DIR}")
    try:
        wait_ready(url, {"webserver": web_pid}, logs, READY_TIMEOUT)
        log(f"webserver ready ({time.time() - t0:.0f}s)")
        daemon_pid = spawn(
            [str(BIN_DIR / "dagster-daemon"), "run", "-w", str(workspace)], logs["daemon"], fixture_env(home), STATE_DIR
        )
        state["daemon_pid"] = daemon_pid
        write_json(STATE_DIR / "fixture.json", state)
        log(f"daemon pid {daemon_pid}")
        wait_daemon(url, READY_TIMEOUT)
        log(f"daemons healthy ({time.time() - t0:.0f}s)")

        launched: dict[str, str] = {}
        for purpose, job, tags in LAUNCHES:
            rid = launch(url, job, tags)
            launched[rid] = purpose
            log(f"launched {job} {rid[:8]} ({purpose})")
        backfill_id = launch_backfill(url)
        log(f"launched backfill {backfill_id} over {BACKFILL_PARTITIONS}")

        settled = settle(url, launched, backfill_id, t0)
        expected = build_expected(url, started_at, launched, backfill_id, settled)
        write_json(STATE_DIR / "expected.json", expected)
    except Exception as e:  # noqa: BLE001 - report, clean up, fail
        log(f"FAILED after {time.time() - t0:.0f}s: {e}")
        for name, path in logs.items():
            print(f"--- tail of {path} ---\n{tail(path)}", file=sys.stderr)
        kill_group(web_pid, "webserver")  # spawned by this process: ours even if already dead
        if state.get("daemon_pid"):
            kill_group(state["daemon_pid"], "daemon")
        (STATE_DIR / "fixture.json").unlink(missing_ok=True)
        log(f"stopped; logs kept in {STATE_DIR}")
        return 1
    c = expected["counts"]
    log(
        f"settled in {time.time() - t0:.0f}s: {c['success']} success, {c['failure']} failure, "
        f"{c['canceled']} canceled, {len(expected['queued_run_ids'])} queued"
    )
    print(url)
    return 0


def cmd_stop() -> int:
    state = read_state()
    if not state:
        log("no fixture recorded")
        return 0
    for name in ("webserver", "daemon"):
        pid = state.get(f"{name}_pid")
        if pid and is_ours(pid, state):
            kill_group(pid, name)
    # the oracle describes a fixture that no longer runs
    for stale in ("expected.json", "fixture.json"):
        (STATE_DIR / stale).unlink(missing_ok=True)
    log("stopped")
    return 0


def cmd_status() -> int:
    state = read_state()
    if not state:
        print("no fixture recorded in", STATE_DIR)
        return 1
    ok = healthy(state)
    print(json.dumps({**state, "healthy": ok}, indent=2))
    return 0 if ok else 1


def locked(fn):
    """Serialize start/stop across processes (two builds' ctest may start the fixture at once)."""
    import fcntl

    lock_path = STATE_DIR.parent / f".{STATE_DIR.name}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lockf:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(lockf, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    log(f"another fixture.py holds {lock_path} for more than {LOCK_TIMEOUT}s: giving up")
                    return 1
                time.sleep(1)
        return fn()


def main(argv: list[str]) -> int:
    cmds = {"start": cmd_start, "stop": cmd_stop, "status": cmd_status}
    if len(argv) != 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "status":
        return cmd_status()
    return locked(cmds[argv[1]])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
