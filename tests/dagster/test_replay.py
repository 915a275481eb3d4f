"""Record and replay against the real Dagster fixture, and official clients reading from the replay
server. Run: pytest tests/dagster/test_replay.py --day2 PATH (the fixture must be running).

1. `day2 collect --record` against the live fixture, then the same collection replayed in process
   (`--replay`) and through `day2 replay serve`: all three artifacts are identical, except
   `meta.dagsterUrl` (the URL collected from), which is the one documented normalisation.
2. The official `google-cloud-logging` client (REST transport, anonymous credentials, endpoint
   override) lists entries across several pages, an empty page with a nextPageToken included,
   from a generated bundle served by `day2 replay serve`.
3. The official `dagster-graphql` client reads a run's status from `day2 replay serve`, serving a
   bundle that `day2 record` (the recording proxy) captured from the same client talking to the
   live fixture.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from day2_helpers import describe, free_port
from day2_helpers import run_day2 as run

def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited early with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


class Serve:
    """`day2 replay serve BUNDLE` on a free loopback port, stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, day2: str, bundle: Path):
        self.port = free_port()
        self.proc = subprocess.Popen([day2, "replay", "serve", str(bundle), "--port", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)

    def __enter__(self) -> "Serve":
        wait_port(self.port, self.proc, "day2 replay serve")
        return self

    def report(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__day2/report", timeout=10) as resp:
            return json.loads(resp.read())

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def without_meta_url(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc.get("meta", {}).pop("dagsterUrl", None)
    return doc


# --- 1. live record, replay in process and through the server ----------------------------------


def test_recorded_collection_replays_identically(day2_bin, expected, tmp_path):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    hours = f"{(time.time() - expected['started_at'] + 300) / 3600:.4f}"
    bundle = tmp_path / "bundle"
    live = tmp_path / "live.json"
    started = time.time()
    proc = run([day2_bin, "collect", "--dagster-url", expected["url"], "--now", now, "--hours", hours,
                "--record", str(bundle), "--out", str(live), "--quiet"])
    assert proc.returncode == 0, f"live collect --record: {describe(proc)}"
    manifest = json.loads((bundle / "manifest.json").read_text())
    # The recorded now is the real moment of the collection (what Google's Error Reporting periods end
    # at); --now placed only the window, which the manifest keeps as given.
    recorded = datetime.datetime.fromisoformat(manifest["now"].replace("Z", "+00:00")).timestamp()
    assert started - 1 <= recorded <= time.time() + 1, (manifest["now"], now)
    assert manifest["window"]["end"] == now and manifest["source"] == "live", manifest
    assert manifest["exchange_count"] >= 15, manifest

    in_process = tmp_path / "in_process.json"
    proc = run([day2_bin, "collect", "--replay", str(bundle), "--out", str(in_process), "--quiet"])
    assert proc.returncode == 0, f"collect --replay: {describe(proc)}"
    assert "miss" not in proc.stderr and "never used" not in proc.stderr, proc.stderr
    assert in_process.read_bytes() == live.read_bytes(), "in-process replay differs from the live artifact"

    served = tmp_path / "served.json"
    with Serve(day2_bin, bundle) as server:
        proc = run([day2_bin, "collect", "--dagster-url", f"http://127.0.0.1:{server.port}/graphql", "--now", now,
                    "--hours", hours, "--out", str(served), "--quiet"])
        assert proc.returncode == 0, f"collect against replay serve: {describe(proc)}"
        report = server.report()
    assert report["misses"] == [] and report["unused"] == [], report
    # Every exchange of the collection is served; the ones recorded for investigations after it are not asked for.
    assert report["served"] == manifest.get("investigations_from", manifest["exchange_count"] + 1) - 1, report
    live_doc, served_doc = json.loads(live.read_text()), json.loads(served.read_text())
    assert served_doc["meta"]["dagsterUrl"] == f"http://127.0.0.1:{server.port}/graphql"
    assert without_meta_url(served_doc) == without_meta_url(live_doc), "served replay differs beyond meta.dagsterUrl"


def test_a_recorded_night_answers_every_investigation_offline(day2_bin, expected, tmp_path):
    """`collect --record` also records each failed run's detail and run group, and reads event logs
    at the page size the investigations use: `day2 run|logs|steps|compare --replay night/` answer for
    every failed run of the night without a miss, and a replay of the collection reports none of
    those extra exchanges as unused."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    hours = f"{(time.time() - expected['started_at'] + 300) / 3600:.4f}"
    night = tmp_path / "night"
    proc = run([day2_bin, "collect", "--dagster-url", expected["url"], "--now", now, "--hours", hours,
                "--record", str(night), "--out", str(tmp_path / "live.json"), "--quiet"])
    assert proc.returncode == 0, f"live collect --record: {describe(proc)}"
    manifest = json.loads((night / "manifest.json").read_text())
    assert 1 <= manifest["investigations_from"] <= manifest["exchange_count"], manifest
    failed = sorted(r["runId"] for r in expected["runs"] if r["status"] == "FAILURE")
    assert len(failed) >= 5, failed
    for run_id in failed:
        for command in (["run", run_id, "--json"], ["logs", run_id, "--type", "STEP_FAILURE"], ["steps", run_id]):
            proc = run([day2_bin, *command, "--replay", str(night)])
            assert proc.returncode == 0 and "replay miss" not in proc.stderr, f"day2 {' '.join(command)}: {describe(proc)}"
        detail = json.loads(run([day2_bin, "run", run_id, "--json", "--replay", str(night)]).stdout)
        assert detail["run"]["runId"] == run_id and detail["run"]["status"] == "FAILURE", detail["run"]
    for first, second in zip(failed, failed[1:]):
        proc = run([day2_bin, "compare", first, second, "--replay", str(night)])
        assert proc.returncode == 0 and "replay miss" not in proc.stderr, f"day2 compare: {describe(proc)}"
    proc = run([day2_bin, "collect", "--replay", str(night), "--out", str(tmp_path / "again.json"), "--quiet"])
    assert proc.returncode == 0 and "never used" not in proc.stderr, describe(proc)
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "live.json").read_bytes()


# --- 2. google-cloud-logging through the replay server ------------------------------------------

PROJECT = "day2-demo"
LOG_FILTER = 'resource.type="k8s_pod" AND timestamp>="2026-11-23T22:00:00Z"'
PAGE_SIZE = 2


def logging_entry(i: int) -> dict:
    return {
        "insertId": f"evt-{i:03d}",
        "logName": f"projects/{PROJECT}/logs/events",
        "resource": {"type": "k8s_pod", "labels": {"project_id": PROJECT, "cluster_name": "prod",
                                                   "namespace_name": "dagster", "pod_name": f"dagster-run-{i}"}},
        "timestamp": f"2026-11-24T04:0{i}:00.123456789Z",
        "receiveTimestamp": f"2026-11-24T04:0{i}:01Z",
        "severity": "WARNING",
        "jsonPayload": {"reason": "Preempted", "message": f"Preempting pod dagster-run-{i}"},
    }


def write_logging_bundle(root: Path) -> list[str]:
    """A generated bundle: four pages of entries:list, the third empty but carrying a nextPageToken
    (Cloud Logging does that when a page's time slice holds nothing). Returns the insertIds in order."""
    pages = [[1, 2], [3, 4], [], [5]]
    (root / "exchanges").mkdir(parents=True)
    for n, ids in enumerate(pages, start=1):
        request_body = {"resourceNames": [f"projects/{PROJECT}"], "filter": LOG_FILTER, "pageSize": PAGE_SIZE}
        if n > 1:
            request_body["pageToken"] = f"page-{n}"
        response_body = {"entries": [logging_entry(i) for i in ids]} if ids else {}
        if n < len(pages):
            response_body["nextPageToken"] = f"page-{n + 1}"
        exchange = {
            "seq": n,
            "service": "logging",
            "request": {"method": "POST", "path": "/v2/entries:list", "query": {"prettyPrint": ["false"]},
                        "headers": {"content-type": "application/json"}, "body": request_body},
            "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": response_body},
        }
        (root / "exchanges" / f"{n:04d}.json").write_text(json.dumps(exchange, indent=2, sort_keys=True) + "\n")
    manifest = {
        "format_version": 1, "now": "2026-11-24T12:00:00Z", "timezone": "America/New_York", "source": "generated",
        "window": {"start": "2026-11-23T22:00:00Z", "end": "2026-11-24T12:00:00Z"},
        "endpoints": {"logging": {"service": "logging", "origin": "https://logging.googleapis.com"}},
        "day2_version": "test", "redactions": [], "exchange_count": len(pages),
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return [f"evt-{i:03d}" for ids in pages for i in ids]


def test_google_cloud_logging_client_lists_every_page(day2_bin, tmp_path):
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import logging as cloud_logging

    want = write_logging_bundle(tmp_path / "bundle")
    with Serve(day2_bin, tmp_path / "bundle") as server:
        client = cloud_logging.Client(project=PROJECT, credentials=AnonymousCredentials(), _use_grpc=False,
                                      client_options=ClientOptions(api_endpoint=f"http://127.0.0.1:{server.port}"))
        entries = list(client.list_entries(resource_names=[f"projects/{PROJECT}"], filter_=LOG_FILTER,
                                           page_size=PAGE_SIZE))
        report = server.report()
    assert [e.insert_id for e in entries] == want
    assert entries[0].payload["reason"] == "Preempted"
    assert entries[0].resource.labels["pod_name"] == "dagster-run-1"
    assert entries[0].timestamp.isoformat() == "2026-11-24T04:01:00.123456+00:00"  # nanoseconds, truncated
    assert report == {"missCount": 0, "misses": [], "served": 4, "unused": [], "warnings": []}


def test_google_cloud_logging_client_sees_a_miss_as_an_api_error(day2_bin, tmp_path):
    from google.api_core import exceptions
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import logging as cloud_logging

    write_logging_bundle(tmp_path / "bundle")
    with Serve(day2_bin, tmp_path / "bundle") as server:
        client = cloud_logging.Client(project=PROJECT, credentials=AnonymousCredentials(), _use_grpc=False,
                                      client_options=ClientOptions(api_endpoint=f"http://127.0.0.1:{server.port}"))
        with pytest.raises(exceptions.NotFound) as raised:
            list(client.list_entries(resource_names=[f"projects/{PROJECT}"], filter_=LOG_FILTER + " AND severity>=ERROR",
                                     page_size=PAGE_SIZE))
        report = server.report()
    assert "entries:list" in str(raised.value), str(raised.value)  # names the nearest recorded request
    assert len(report["misses"]) == 1, report


# --- 3. dagster-graphql: recorded through `day2 record`, replayed by `day2 replay serve` ----------


def test_dagster_graphql_client_reads_run_status_from_replay(day2_bin, expected, tmp_path):
    from dagster import DagsterRunStatus
    from dagster_graphql import DagsterGraphQLClient

    failed = next(r for r in expected["runs"] if r["status"] == "FAILURE")
    succeeded = next(r for r in expected["runs"] if r["status"] == "SUCCESS")
    upstream = expected["url"].rsplit("/graphql", 1)[0]
    bundle = tmp_path / "bundle"
    port = free_port()
    recorder = subprocess.Popen([day2_bin, "record", "--listen", f"127.0.0.1:{port}", "--upstream", upstream,
                                 "--out", str(bundle)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, recorder, "day2 record")
        live = DagsterGraphQLClient("127.0.0.1", port_number=port)
        live_statuses = [live.get_run_status(failed["runId"]), live.get_run_status(succeeded["runId"])]
    finally:
        recorder.send_signal(signal.SIGTERM)
        _, record_err = recorder.communicate(timeout=30)
    assert recorder.returncode == 0, record_err
    assert live_statuses == [DagsterRunStatus.FAILURE, DagsterRunStatus.SUCCESS]
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["exchange_count"] == 2, manifest

    with Serve(day2_bin, bundle) as server:
        replayed = DagsterGraphQLClient("127.0.0.1", port_number=server.port)
        replayed_statuses = [replayed.get_run_status(failed["runId"]), replayed.get_run_status(succeeded["runId"])]
        report = server.report()
    assert replayed_statuses == live_statuses
    assert report["misses"] == [] and report["unused"] == [] and report["served"] == 2, report
