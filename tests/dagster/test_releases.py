"""day2 against a real Dagster of each supported release line (1.8 to 1.13), with a night that broke
day2 before: a step retried with a fractional, jittered delay, which Dagster <= 1.11 cannot serialise
when a query selects ExecutionStepUpForRetryEvent.secondsToWait (HTTP 500 "Int cannot represent
non-integer value"), and a run whose event log is longer than Dagster's 1000-event page.

Run: pytest tests/dagster/test_releases.py --day2 PATH --dagster-venv VENV, where VENV is a virtual
environment holding that release's pinned dagster and dagster-webserver (tools/setup creates
.venv-dagster-<line> from tests/dagster/requirements-<line>.txt; the pinned release is .venv itself).
The module writes the runs with the release's own Python (release_instance.py) into a temporary
DAGSTER_HOME and serves it with the release's dagster-webserver on 127.0.0.1, about 20 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from day2_helpers import describe, free_port, stop_process_group
from day2_helpers import run_day2 as run
from fixture import gql

HERE = Path(__file__).resolve().parent
READY_TIMEOUT = 90


@pytest.fixture(scope="module")
def release(request):
    venv = request.config.getoption("--dagster-venv")
    if not venv:
        pytest.fail("--dagster-venv VENV (a virtual environment with dagster and dagster-webserver) is required")
    python = Path(venv) / "bin" / "python"
    webserver = Path(venv) / "bin" / "dagster-webserver"
    for path in (python, webserver):
        if not os.access(path, os.X_OK):
            pytest.fail(f"--dagster-venv {venv}: {path} is not executable (run tools/setup)")
    with tempfile.TemporaryDirectory(prefix="day2-release-") as tmp:
        home = Path(tmp) / "home"
        populated = subprocess.run([str(python), str(HERE / "release_instance.py"), "populate", str(home)],
                                   capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert populated.returncode == 0, describe(populated)
        info = json.loads(populated.stdout.strip().splitlines()[-1])
        port = free_port()
        log = Path(tmp) / "webserver.log"
        env = dict(os.environ, DAGSTER_HOME=str(home), PYTHONUNBUFFERED="1")
        with open(log, "ab") as out:
            proc = subprocess.Popen([str(webserver), "-h", "127.0.0.1", "-p", str(port), "--empty-workspace"],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    cwd=tmp, start_new_session=True)
        try:
            info["url"] = f"http://127.0.0.1:{port}/graphql"
            info["served"] = wait_ready(info["url"], proc, log)
            yield info
        finally:
            stop_process_group(proc)


def wait_ready(url: str, proc: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            version = gql(url, "{ version }", timeout=5).get("version")
            if version:
                return version
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"dagster-webserver not answering at {url} after {READY_TIMEOUT}s")


def day2(day2_bin: str, args: list[str], code: int = 0) -> subprocess.CompletedProcess:
    proc = run([day2_bin, *args])
    assert proc.returncode == code, describe(proc)
    return proc


def test_the_server_is_the_release_with_a_fractional_retry_delay(release):
    assert release["served"] == release["version"]
    assert not float(release["secondsToWait"]).is_integer()


def test_collect_reads_the_whole_night_with_no_step_error(day2_bin, release, tmp_path):
    out = tmp_path / "day2.json"
    proc = day2(day2_bin, ["collect", "--dagster-url", release["url"], "--hours", "2", "--out", str(out), "--quiet"])
    artifact = json.loads(out.read_text())
    errors = {k: v["error"] for k, v in artifact.items() if k.startswith("step_") and "error" in v}
    assert errors == {}, proc.stderr
    runs = artifact["step_01_failed_runs"]
    assert "itemErrors" not in runs
    assert (runs["failureCount"], runs["successCount"]) == (1, 2)
    failure = runs["failures"][0]
    assert failure["runId"] == release["failed"]
    assert "eventsError" not in failure
    assert (failure["category"], failure["ruleId"]) == ("Code error", "user-code-error")
    kinds = [(e["stepKey"], e["eventType"]) for e in failure["stepErrors"]]
    assert ("load", "ExecutionStepUpForRetryEvent") in kinds and ("load", "ExecutionStepFailureEvent") in kinds
    summary = day2(day2_bin, ["summarize", str(out)])
    assert "Error gate: PASS" in summary.stdout


def test_run_logs_steps_and_compare_work_on_the_retried_run(day2_bin, release):
    url, failed, succeeded = release["url"], release["failed"], release["succeeded"]
    doc = json.loads(day2(day2_bin, ["run", failed, "--url", url, "--json"]).stdout)
    assert (doc["run"]["status"], doc["failure"]["category"]) == ("FAILURE", "Code error")
    events = json.loads(day2(day2_bin, ["logs", failed, "--url", url, "--json"]).stdout)["events"]
    assert len(events) == release["events"][failed]
    assert "STEP_UP_FOR_RETRY" in [e["eventType"] for e in events]
    steps = day2(day2_bin, ["steps", failed, "--url", url]).stdout
    assert "load" in steps and "extract" in steps
    compared = json.loads(day2(day2_bin, ["compare", failed, succeeded, "--url", url, "--json"]).stdout)
    assert compared["firstDifferingStep"] == "load"
    assert compared["config"] == [{"a": "true", "b": "false", "key": "ops.load.config.fail"}]


def test_logs_with_a_page_size_above_dagsters_maximum_reads_every_event(day2_bin, release):
    chatty = release["chatty"]
    assert release["events"][chatty] > 1000
    for size in ("5000", "1000", "300"):
        events = json.loads(day2(day2_bin, ["logs", chatty, "--url", release["url"], "--page-size", size,
                                            "--json"]).stdout)["events"]
        assert len(events) == release["events"][chatty], size
        assert sum(1 for e in events if e["message"].startswith("line ")) >= 1100
