"""`day2 hung` and `day2 compare` against a real Dagster holding the runs they are about (issue 7).
Run: pytest tests/dagster/test_hung_compare.py --day2 PATH. Independent of the shared fixture: the
module starts its own small instance (mini_instance.py: no daemon, run monitoring off, a webserver
on 127.0.0.1), about 15 s.

1. `day2 hung` finds the run stuck in STARTING, the run stuck in CANCELING and the STARTED runs past
   their dagster/max_runtime (or dagster/max_runtime_seconds, which Dagster also reads), with how
   long each is stuck, and nothing else: not the recent STARTING
   and CANCELING runs, the STARTED run within its max runtime or without one, the QUEUED run, the
   finished run with a max runtime tag. Text and --json, at a fixed --now and at the real clock;
   --start-timeout / --cancel-timeout move the line.
2. `day2 compare FAILED SUCCEEDED` (two runs of nightly_load, the failed one with limit 0) names the
   differing config value `ops.load.config.limit` (0 vs 10) and `load` as the first differing step
   (`extract` succeeded in both). Text and --json, both orders. The failed run re-executed from
   failure ran only `load` and `publish` (Dagster's stepKeysToExecute): `extract`, which it never
   ran, is no difference, `load` is. `day2 steps FAILED` lists `publish` as SKIPPED (its upstream
   failed).
3. Recorded through `day2 record` and replayed with --replay, both commands print the same.
"""

import json
import signal
import subprocess
import time

import pytest
from day2_helpers import describe, free_port
from day2_helpers import run_day2 as run
from fixture import gql
from mini_instance import HUNG, LOCATION, STATE_RUNS, MiniDagster

IN_FLIGHT_STATUSES = {"STARTING", "STARTED", "CANCELING"}


@pytest.fixture(scope="module")
def mini():
    with MiniDagster(free_port()) as instance:
        yield instance


def rfc3339(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def day2(day2_bin: str, mini: MiniDagster, args: list[str], code: int = 0) -> str:
    proc = run([day2_bin, *args, "--url", mini.url])
    assert proc.returncode == code, describe(proc)
    return proc.stdout


# --- 1. hung ----------------------------------------------------------------------------------------


def test_hung_json_names_exactly_the_stuck_runs(day2_bin, mini):
    doc = json.loads(day2(day2_bin, mini, ["hung", "--now", rfc3339(mini.t0), "--json"], code=1))
    got = [(h["runId"], h["kind"], h["stuckSeconds"], h["limitSeconds"]) for h in doc["hung"]]
    # Longest stuck first: max runtime (1500 s, 1000 s), STARTING (900 s), CANCELING (400 s).
    assert got == [(mini.ids[p], kind, stuck, limit) for p, (kind, stuck, limit) in HUNG.items()]
    assert doc["inFlight"] == sum(1 for status, _, _ in STATE_RUNS.values() if status in IN_FLIGHT_STATUSES)
    assert doc["now"]["epoch"] == mini.t0
    assert doc["thresholds"] == {"cancelTimeoutSeconds": 180, "startTimeoutSeconds": 180}
    for h in doc["hung"]:
        assert h["since"]["epoch"] == mini.t0 - h["stuckSeconds"]
        assert h["since"]["utc"] == rfc3339(h["since"]["epoch"])
        assert (h["jobName"], h["location"]) == ("partner_sync", LOCATION)
        assert h["status"] == STATE_RUNS[h["tags"]["day2/purpose"]][0]


def test_hung_text_names_exactly_the_stuck_runs(day2_bin, mini):
    text = day2(day2_bin, mini, ["hung", "--now", rfc3339(mini.t0)], code=1)
    lines = text.splitlines()
    assert "8 run(s) STARTING, STARTED or CANCELING; 4 hung" in lines[0], text
    assert len(lines) == 5, text
    wording = {"starting": "STARTING past the start timeout", "canceling": "CANCELING past the cancel timeout",
               "max_runtime": "STARTED past dagster/max_runtime"}
    for line, (purpose, (kind, stuck, limit)) in zip(lines[1:], HUNG.items()):
        assert mini.ids[purpose] in line and wording[kind] in line, text
        assert f"for {stuck // 60}m" in line and "partner_sync" in line, text
    for purpose, run_id in mini.ids.items():
        if purpose not in HUNG:
            assert run_id not in text, f"{purpose} reported as hung:\n{text}"


def test_hung_at_the_real_clock(day2_bin, mini):
    before = time.time()
    doc = json.loads(day2(day2_bin, mini, ["hung", "--json"], code=1))
    assert [h["runId"] for h in doc["hung"]] == [mini.ids[p] for p in HUNG]
    for h in doc["hung"]:
        stuck = HUNG[h["tags"]["day2/purpose"]][1]
        assert stuck + (before - mini.t0) <= h["stuckSeconds"] <= stuck + (time.time() - mini.t0)


@pytest.mark.parametrize("args,purposes", [
    (["--start-timeout", "10m"], ["max_runtime_hung", "max_runtime_seconds_hung", "starting_hung", "canceling_hung"]),
    (["--start-timeout", "20m"], ["max_runtime_hung", "max_runtime_seconds_hung", "canceling_hung"]),
    (["--cancel-timeout", "5s"], ["max_runtime_hung", "max_runtime_seconds_hung", "starting_hung", "canceling_hung",
                                  "canceling_recent"]),
    (["--start-timeout", "1h", "--cancel-timeout", "1h"], ["max_runtime_hung", "max_runtime_seconds_hung"]),
])
def test_hung_thresholds_move_the_line(day2_bin, mini, args, purposes):
    doc = json.loads(day2(day2_bin, mini, ["hung", "--now", rfc3339(mini.t0), "--json", *args], code=1))
    assert [h["runId"] for h in doc["hung"]] == [mini.ids[p] for p in purposes]


def test_hung_nothing_stuck_exits_0(day2_bin, mini):
    # Before anything was launched, nothing is in a state long enough.
    doc = json.loads(day2(day2_bin, mini, ["hung", "--now", rfc3339(mini.t0 - 7200), "--json"]))
    assert doc["hung"] == []


# --- 2. compare -------------------------------------------------------------------------------------


def test_compare_json_names_the_config_value_and_the_first_differing_step(day2_bin, mini):
    failed, succeeded = mini.ids["compare_failed"], mini.ids["compare_succeeded"]
    doc = json.loads(day2(day2_bin, mini, ["compare", failed, succeeded, "--json"]))
    assert doc["config"] == [{"a": "0", "b": "10", "key": "ops.load.config.limit"}]
    assert doc["firstDifferingStep"] == "load"
    assert (doc["a"]["runId"], doc["a"]["status"], doc["a"]["jobName"]) == (failed, "FAILURE", "nightly_load")
    assert (doc["b"]["runId"], doc["b"]["status"], doc["b"]["jobName"]) == (succeeded, "SUCCESS", "nightly_load")
    assert doc["a"]["stepOutcomes"][:2] == ["extract:SUCCESS", "load:FAILURE"]
    assert doc["b"]["stepOutcomes"] == ["extract:SUCCESS", "load:SUCCESS", "publish:SUCCESS"]
    assert doc["tags"] == [{"a": "STEP_FAILURE", "b": None, "key": "dagster/failure_reason"}]
    i = doc["firstDifferingEvent"]
    assert doc["a"]["eventTypes"][:i] == doc["b"]["eventTypes"][:i]
    assert "STEP_START extract" in doc["a"]["eventTypes"][:i]
    assert doc["a"]["eventTypes"][i] != doc["b"]["eventTypes"][i]
    durations = {d["stepKey"]: d for d in doc["durations"]}
    assert durations["extract"]["a"] is not None and durations["extract"]["b"] is not None
    assert durations["publish"]["a"] is None and durations["publish"]["b"] is not None


def test_compare_text_names_the_config_value_and_the_first_differing_step(day2_bin, mini):
    failed, succeeded = mini.ids["compare_failed"], mini.ids["compare_succeeded"]
    text = day2(day2_bin, mini, ["compare", failed, succeeded])
    assert f"A {failed}  FAILURE  nightly_load" in text
    assert "run config differs:\n  ops.load.config.limit: A 0 | B 10\n" in text
    assert "ops.load.config.source" not in text
    assert "first differing step: load\n" in text
    reverse = day2(day2_bin, mini, ["compare", succeeded, failed])
    assert "  ops.load.config.limit: A 10 | B 0\n" in reverse
    assert "first differing step: load\n" in reverse


def test_compare_of_a_reexecution_from_failure_skips_the_steps_it_was_not_asked_to_run(day2_bin, mini):
    # Issue 25: the re-execution ran only its stepKeysToExecute (Dagster's own answer below), so
    # `extract`, which it never ran, is no difference; `load` (FAILURE, then SUCCESS) is the first.
    failed, again = mini.ids["compare_failed"], mini.ids["compare_reexecuted"]
    oracle = gql(mini.url, "query($id: ID!) { runOrError(runId: $id) { ... on Run { parentRunId stepKeysToExecute } } }",
                 {"id": again})["runOrError"]
    assert oracle["parentRunId"] == failed
    assert sorted(oracle["stepKeysToExecute"]) == ["load", "publish"]
    for a, b in ((failed, again), (again, failed)):
        doc = json.loads(day2(day2_bin, mini, ["compare", a, b, "--json"]))
        assert doc["firstDifferingStep"] == "load", doc
    doc = json.loads(day2(day2_bin, mini, ["compare", failed, again, "--json"]))
    assert "extract:SUCCESS" in doc["a"]["stepOutcomes"]
    assert not any(o.startswith("extract:") for o in doc["b"]["stepOutcomes"])
    # Against the full run that succeeded: every step the re-execution ran agrees, and `extract`, which
    # only the full run ran, is outside the re-execution's selection: no step differs.
    doc = json.loads(day2(day2_bin, mini, ["compare", again, mini.ids["compare_succeeded"], "--json"]))
    assert doc["firstDifferingStep"] is None, doc


def test_steps_lists_the_step_skipped_because_its_upstream_failed(day2_bin, mini):
    failed = mini.ids["compare_failed"]
    doc = json.loads(day2(day2_bin, mini, ["steps", failed, "--json"]))
    outcomes = {s["stepKey"]: s["outcome"] for s in doc["steps"]}
    assert outcomes == {"extract": "SUCCESS", "load": "FAILURE", "publish": "SKIPPED"}, doc["steps"]
    assert [s["stepKey"] for s in doc["steps"]] == ["extract", "load", "publish"]
    text = day2(day2_bin, mini, ["steps", failed])
    assert any(line.split()[:2] == ["publish", "SKIPPED"] for line in text.splitlines()), text


# --- 3. recorded and replayed -----------------------------------------------------------------------


def test_same_output_recorded_and_replayed(day2_bin, mini, tmp_path):
    bundle = tmp_path / "bundle"
    now = rfc3339(mini.t0)
    failed, succeeded = mini.ids["compare_failed"], mini.ids["compare_succeeded"]
    again = mini.ids["compare_reexecuted"]
    commands = [["hung"], ["hung", "--json"], ["compare", failed, succeeded], ["compare", succeeded, failed, "--json"],
                ["compare", failed, again, "--json"], ["steps", failed]]
    proxy = subprocess.Popen([day2_bin, "record", "--upstream", mini.url.rsplit("/graphql", 1)[0], "--out",
                              str(bundle), "--listen", "127.0.0.1:0", "--now", now],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    live = {}
    try:
        line = proxy.stdout.readline()
        assert "listening on" in line, line + proxy.stderr.read()
        proxied = line.split("listening on ")[1].split()[0].rstrip("/") + "/graphql"
        for args in commands:
            live[tuple(args)] = run([day2_bin, *args, "--url", proxied, "--now", now])
    finally:
        proxy.send_signal(signal.SIGINT)
        try:
            proxy.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.communicate(timeout=10)
    assert proxy.returncode == 0
    for args, through in live.items():
        direct = run([day2_bin, *args, "--url", mini.url, "--now", now])
        assert (through.returncode, through.stdout.replace(proxied, mini.url)) == (direct.returncode, direct.stdout)
        replayed = run([day2_bin, *args, "--replay", str(bundle)])
        assert "replay miss" not in replayed.stderr, replayed.stderr
        assert (replayed.returncode, replayed.stdout) == (through.returncode, through.stdout), \
            f"{args}\n{describe(through)}\n{describe(replayed)}"
