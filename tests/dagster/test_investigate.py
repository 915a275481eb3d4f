"""The investigation commands (`day2 run`, `logs`, `runs`, `steps`, `hung`, `compare`) against the
real Dagster fixture. Run: pytest tests/dagster/test_investigate.py --day2 PATH (the fixture must be
running: fixture.py start).

1. `day2 run` classifies every failed run of the fixture as expected.json says (category, rule id)
   and shows the retry chain of the retried run in one call.
2. `day2 logs` over a run with more events than one page returns every event exactly once.
3. The same commands give the same output live and replayed from a bundle `day2 record` captured
   (in process with --replay, and through `day2 replay serve`).
4. An unknown run id is "no run <id> in <deployment>", exit 1.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from day2_helpers import describe, free_port
from fixture import EXPECTED
from day2_helpers import run_day2 as run
from test_replay import Serve

MISSING = "00000000-0000-4000-8000-000000000000"
NOW = "2030-01-01T00:00:00Z"  # a fixed clock, so live and replayed commands ask the same


def by_purpose(expected: dict, purpose: str) -> dict:
    return next(r for r in expected["runs"] if r["purpose"] == purpose)


def day2_json(day2_bin: str, args: list[str]) -> dict:
    proc = run([day2_bin, *args, "--json"])
    assert proc.returncode == 0, describe(proc)
    return json.loads(proc.stdout)


def test_run_classifies_every_failed_run(day2_bin, expected):
    url = expected["url"]
    failed = [r for r in expected["runs"] if r["status"] == "FAILURE"]
    assert {r["purpose"] for r in failed} == set(EXPECTED)  # every kind of failure the fixture defines
    for r in failed:
        doc = day2_json(day2_bin, ["run", r["runId"], "--url", url])
        assert doc["run"]["status"] == "FAILURE"
        assert doc["run"]["jobName"] == r["job"]
        assert doc["failure"]["category"] == r["expected_category"], r["purpose"]
        if r["expected_rule_id"]:
            assert doc["failure"]["ruleId"] == r["expected_rule_id"], r["purpose"]
        else:
            assert doc["failure"]["ruleId"], r["purpose"]


def test_run_shows_the_retry_chain(day2_bin, expected):
    first = by_purpose(expected, "retried_first_attempt")["runId"]
    retry = by_purpose(expected, "retry_success")["runId"]
    for rid in (first, retry):
        doc = day2_json(day2_bin, ["run", rid, "--url", expected["url"]])
        assert [(c["runId"], c["status"]) for c in doc["retryChain"]] == [(first, "FAILURE"), (retry, "SUCCESS")]


def test_logs_pages_every_event_exactly_once(day2_bin, expected):
    rid = by_purpose(expected, "code_error")["runId"]
    whole = day2_json(day2_bin, ["logs", rid, "--url", expected["url"]])["events"]
    paged = day2_json(day2_bin, ["logs", rid, "--url", expected["url"], "--page-size", "3"])["events"]
    assert len(whole) > 3 * 3, "the run must span several pages of 3"
    assert paged == whole
    keys = [(e["timestamp"], e["typename"], e["message"]) for e in paged]
    assert len(set(keys)) == len(keys)


def test_logs_limit_and_cursor_continue(day2_bin, expected):
    rid = by_purpose(expected, "code_error")["runId"]
    url = expected["url"]
    whole = day2_json(day2_bin, ["logs", rid, "--url", url])["events"]
    first = day2_json(day2_bin, ["logs", rid, "--url", url, "--limit", "4", "--page-size", "3"])
    assert first["hasMore"] and len(first["events"]) == 4
    rest = day2_json(day2_bin, ["logs", rid, "--url", url, "--cursor", first["cursor"]])
    assert first["events"] + rest["events"] == whole


def test_unknown_run_names_the_deployment(day2_bin, expected):
    for command in ("run", "logs", "steps"):
        proc = run([day2_bin, command, MISSING, "--url", expected["url"]])
        assert proc.returncode == 1, describe(proc)
        assert f"day2 {command}: error: no run {MISSING} in {expected['url']}" in proc.stderr


def commands(expected: dict) -> list[list[str]]:
    code = by_purpose(expected, "code_error")["runId"]
    first = by_purpose(expected, "retried_first_attempt")["runId"]
    retry = by_purpose(expected, "retry_success")["runId"]
    slow = by_purpose(expected, "max_runtime")["runId"]
    return [
        ["run", code], ["run", first, "--json"], ["logs", code, "--page-size", "4"],
        ["logs", slow, "--type", "STEP_FAILURE,RunFailureEvent", "--json"], ["steps", slow, "--gap", "1s"],
        ["runs", "--job", "flaky_job"], ["runs", "--status", "FAILURE", "--json", "--limit", "50"],
        ["hung", "--json"], ["compare", first, retry], ["compare", code, slow, "--json"],
    ]


def test_same_output_live_and_replayed(day2_bin, expected, tmp_path):
    url = expected["url"]
    bundle = tmp_path / "bundle"
    upstream = url.rsplit("/graphql", 1)[0]
    proxy = subprocess.Popen([day2_bin, "record", "--upstream", upstream, "--out", str(bundle), "--listen",
                              "127.0.0.1:0", "--now", NOW], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    live = {}
    try:
        line = proxy.stdout.readline()
        assert "listening on" in line, line + proxy.stderr.read()
        proxied = line.split("listening on ")[1].split()[0].rstrip("/") + "/graphql"
        for args in commands(expected):
            through = run([day2_bin, *args, "--url", proxied, "--now", NOW])
            direct = run([day2_bin, *args, "--url", url, "--now", NOW])
            assert direct.returncode == through.returncode, describe(direct) + describe(through)
            live[tuple(args)] = direct
    finally:
        proxy.send_signal(signal.SIGINT)
        proxy.communicate(timeout=60)
    assert proxy.returncode == 0
    assert (bundle / "manifest.json").exists()
    with Serve(day2_bin, bundle) as served:
        for args, direct in live.items():
            replayed = run([day2_bin, *args, "--replay", str(bundle)])
            assert (replayed.returncode, replayed.stdout) == (direct.returncode, direct.stdout), \
                f"{args}\n{describe(direct)}\n{describe(replayed)}"
            assert "replay miss" not in replayed.stderr, replayed.stderr
            over_http = run([day2_bin, *args, "--url", f"http://127.0.0.1:{served.port}/graphql", "--now", NOW,
                             "--tz", "America/New_York"])
            assert over_http.returncode == direct.returncode, describe(over_http)
            # The endpoint asked is the replay server's; everything else is the same.
            assert over_http.stdout.replace(f"http://127.0.0.1:{served.port}/graphql", url) == direct.stdout


@pytest.mark.parametrize("args,message", [
    (["logs", MISSING, "--type", "STEP_FAILUR"], 'did you mean "STEP_FAILURE"'),
    (["runs", "--status", "FAILED"], '"FAILED" is not a run status'),
    (["hung", "--start-timeout", "-5"], "--start-timeout"),
    (["compare", MISSING], "RUN_A and RUN_B are required"),
])
def test_bad_options_exit_2(day2_bin, expected, args, message):
    proc = run([day2_bin, *args, "--url", expected["url"]])
    assert proc.returncode == 2, describe(proc)
    assert message in proc.stderr
